"""Unsubscribe and confirm tokens: genuine ones read back, forged, altered and expired ones are refused."""

import base64
import datetime as dt

import pytest

from publisher.errors import ConfigError, TokenError, TokenExpired
from publisher.mail.tokens import CONFIRM, UNSUBSCRIBE, make_token, read_token

SECRET = "a-test-secret-that-is-long-enough"
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


def test_an_unsubscribe_token_reads_back_as_the_subscriber_and_list():
    token = make_token(SECRET, UNSUBSCRIBE, "ann@example.com", "newsletter.example.com")
    data = read_token(SECRET, UNSUBSCRIBE, token)
    assert (data.email, data.list_id, data.issued) == ("ann@example.com", "newsletter.example.com", None)


def test_an_unsubscribe_token_is_the_same_every_time_and_safe_in_a_url():
    token = make_token(SECRET, UNSUBSCRIBE, "zoë+news@exämple.com", "list")
    assert token == make_token(SECRET, UNSUBSCRIBE, "zoë+news@exämple.com", "list")
    assert token.isascii() and all(c.isalnum() or c in "-_." for c in token)
    assert read_token(SECRET, UNSUBSCRIBE, token).email == "zoë+news@exämple.com"


def test_different_subscribers_get_different_tokens():
    assert make_token(SECRET, UNSUBSCRIBE, "a@example.com", "l") != make_token(SECRET, UNSUBSCRIBE, "b@example.com", "l")


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),   # altered signature
    lambda t: t[:-5],                                      # cut short when copied
    lambda t: t.split(".")[0],                             # signature missing
    lambda t: "",
    lambda t: "not a token at all",
])
def test_an_altered_token_is_refused(tamper):
    token = make_token(SECRET, UNSUBSCRIBE, "ann@example.com", "list")
    with pytest.raises(TokenError, match="not valid"):
        read_token(SECRET, UNSUBSCRIBE, tamper(token))


def test_a_token_for_another_address_cannot_be_made_by_editing_the_payload():
    token = make_token(SECRET, UNSUBSCRIBE, "ann@example.com", "list")
    forged_payload = base64.urlsafe_b64encode(b'["bob@example.com","list",0]').rstrip(b"=").decode()
    with pytest.raises(TokenError):
        read_token(SECRET, UNSUBSCRIBE, forged_payload + "." + token.split(".")[1])


def test_a_token_signed_with_another_key_is_refused():
    token = make_token("another-secret-of-enough-length", UNSUBSCRIBE, "ann@example.com", "list")
    with pytest.raises(TokenError):
        read_token(SECRET, UNSUBSCRIBE, token)


def test_a_confirm_token_does_not_work_as_an_unsubscribe_token():
    token = make_token(SECRET, CONFIRM, "ann@example.com", "list", now=NOW)
    with pytest.raises(TokenError):
        read_token(SECRET, UNSUBSCRIBE, token)


def test_a_confirm_token_is_good_until_it_expires():
    token = make_token(SECRET, CONFIRM, "ann@example.com", "list", now=NOW)
    two_days = dt.timedelta(hours=48)
    data = read_token(SECRET, CONFIRM, token, max_age=two_days, now=NOW + dt.timedelta(hours=47))
    assert data.email == "ann@example.com" and data.issued == NOW
    with pytest.raises(TokenExpired, match="expired"):
        read_token(SECRET, CONFIRM, token, max_age=two_days, now=NOW + dt.timedelta(hours=49))


def test_a_confirm_token_dated_in_the_future_is_refused():
    token = make_token(SECRET, CONFIRM, "ann@example.com", "list", now=NOW + dt.timedelta(minutes=5))
    with pytest.raises(TokenError, match="dated in the future") as refused:
        read_token(SECRET, CONFIRM, token, max_age=dt.timedelta(hours=48), now=NOW)
    assert not isinstance(refused.value, TokenExpired)


def test_a_token_without_a_date_is_refused_where_an_expiry_applies():
    token = make_token(SECRET, CONFIRM, "ann@example.com", "list")
    with pytest.raises(TokenError, match="no date"):
        read_token(SECRET, CONFIRM, token, max_age=dt.timedelta(hours=1), now=NOW)


@pytest.mark.parametrize("secret", ["", "short"])
def test_a_missing_or_short_secret_is_a_config_error_naming_the_variable(secret):
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET_KEY") as info:
        make_token(secret, UNSUBSCRIBE, "ann@example.com", "list")
    assert "secrets.token_urlsafe" in str(info.value)


def test_errors_never_show_the_secret():
    token = make_token(SECRET, UNSUBSCRIBE, "ann@example.com", "list")
    with pytest.raises(TokenError) as info:
        read_token(SECRET, UNSUBSCRIBE, token + "x")
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
