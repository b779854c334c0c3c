"""Unsubscribe and confirm tokens: genuine ones read back, forged, altered and expired ones are refused; they name
the subscriber by an opaque id, never the address; retired keys and the format used before still verify."""

import base64
import datetime as dt
import hashlib
import json
from urllib.parse import quote

import pytest

from publisher.errors import ConfigError, TokenError, TokenExpired
from publisher.mail.tokens import CONFIRM, UNSUBSCRIBE, LinkTokens

from ..fixtures_tokens import old_format_token, reveals

SECRET = "a-test-secret-that-is-long-enough"
OLD_SECRET = "the-key-this-site-used-last-year"
PUBLIC_ID = "3f2a9c0d5b7e41a8a6c1d2e3f4a5b6c7"
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
TOKENS = LinkTokens(SECRET)


# Made by the format used before with SECRET for ann@example.com on newsletter.example.com, and committed as it
# was, so the reading of links already in people's inboxes is pinned to real bytes, not to a copy of the code.
OLD_UNSUBSCRIBE_LINK_TOKEN = ("WyJhbm5AZXhhbXBsZS5jb20iLCJuZXdzbGV0dGVyLmV4YW1wbGUuY29tIiwwXQ."
                              "Ucbs8X6B553w-k4q-nljdk3qNcsJT0NTO3mR4WFhAhU")


def test_an_unsubscribe_token_reads_back_as_the_subscriber_and_list():
    data = TOKENS.read(UNSUBSCRIBE, TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "newsletter.example.com"))
    assert (data.public_id, data.email, data.list_id, data.issued) == (PUBLIC_ID, "", "newsletter.example.com", None)


def test_a_token_names_the_subscriber_by_their_opaque_id_and_nothing_else():
    token = TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "newsletter.example.com")
    decoded = base64.urlsafe_b64decode(token.split(".")[0] + "==")
    assert json.loads(decoded) == [PUBLIC_ID, "newsletter.example.com"]


def test_the_check_for_a_revealed_address_catches_the_format_used_before():
    link = "https://example.com/unsubscribe?token=" + old_format_token(SECRET, UNSUBSCRIBE, "Ann@example.com", "l")
    assert reveals(link, "ann@example.com")
    assert not reveals("https://example.com/unsubscribe?token=" + TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "l"),
                       "ann@example.com")


def test_an_unsubscribe_token_is_the_same_every_time_and_safe_in_a_url():
    token = TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "list")
    assert token == LinkTokens(SECRET).make(UNSUBSCRIBE, PUBLIC_ID, "list")
    assert token.isascii() and quote(token, safe="") == token


def test_different_subscribers_get_different_tokens():
    assert TOKENS.make(UNSUBSCRIBE, "a" * 32, "l") != TOKENS.make(UNSUBSCRIBE, "b" * 32, "l")


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),   # altered signature
    lambda t: t[:-5],                                      # cut short when copied
    lambda t: t.split(".")[0],                             # signature missing
    lambda t: "",
    lambda t: "not a token at all",
    lambda t: "é.ü",
])
def test_an_altered_token_is_refused(tamper):
    token = TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "list")
    with pytest.raises(TokenError, match="not valid"):
        TOKENS.read(UNSUBSCRIBE, tamper(token))


def test_a_token_for_another_subscriber_cannot_be_made_by_editing_the_payload():
    token = TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "list")
    forged_payload = base64.urlsafe_b64encode(json.dumps(["b" * 32, "list"]).encode()).rstrip(b"=").decode()
    with pytest.raises(TokenError):
        TOKENS.read(UNSUBSCRIBE, forged_payload + "." + token.split(".")[1])


def test_a_token_signed_with_another_key_is_refused():
    token = LinkTokens("another-secret-of-enough-length").make(UNSUBSCRIBE, PUBLIC_ID, "list")
    with pytest.raises(TokenError, match="not valid"):
        TOKENS.read(UNSUBSCRIBE, token)


def test_a_token_signed_with_a_retired_key_still_reads_while_new_ones_use_the_new_key():
    old_token = LinkTokens(OLD_SECRET).make(UNSUBSCRIBE, PUBLIC_ID, "list")
    rotated = LinkTokens(SECRET, (OLD_SECRET,))
    assert rotated.read(UNSUBSCRIBE, old_token).public_id == PUBLIC_ID
    assert rotated.make(UNSUBSCRIBE, PUBLIC_ID, "list") == TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "list")


def test_a_confirm_token_never_unsubscribes_and_an_unsubscribe_token_never_confirms():
    confirm = TOKENS.make(CONFIRM, PUBLIC_ID, "list", NOW)
    unsubscribe = TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "list")
    with pytest.raises(TokenError):
        TOKENS.read(UNSUBSCRIBE, confirm)
    with pytest.raises(TokenError):
        TOKENS.read(CONFIRM, unsubscribe, dt.timedelta(hours=48), NOW)


def test_a_confirm_token_is_good_until_it_expires():
    token = TOKENS.make(CONFIRM, PUBLIC_ID, "list", NOW)
    two_days = dt.timedelta(hours=48)
    data = TOKENS.read(CONFIRM, token, max_age=two_days, now=NOW + dt.timedelta(hours=47))
    assert data.public_id == PUBLIC_ID and data.issued == NOW
    with pytest.raises(TokenExpired, match="expired"):
        TOKENS.read(CONFIRM, token, max_age=two_days, now=NOW + dt.timedelta(hours=49))


def test_a_confirm_token_dated_in_the_future_is_refused():
    token = TOKENS.make(CONFIRM, PUBLIC_ID, "list", NOW + dt.timedelta(minutes=5))
    with pytest.raises(TokenError, match="dated in the future") as refused:
        TOKENS.read(CONFIRM, token, max_age=dt.timedelta(hours=48), now=NOW)
    assert not isinstance(refused.value, TokenExpired)


def test_a_token_without_a_date_is_refused_where_an_expiry_applies():
    token = TOKENS.make(CONFIRM, PUBLIC_ID, "list")
    with pytest.raises(TokenError, match="no date"):
        TOKENS.read(CONFIRM, token, max_age=dt.timedelta(hours=1), now=NOW)


def test_an_unsubscribe_link_of_the_format_used_before_still_reads_as_its_address():
    data = TOKENS.read(UNSUBSCRIBE, OLD_UNSUBSCRIBE_LINK_TOKEN)
    assert (data.public_id, data.email, data.list_id, data.issued) == ("", "ann@example.com",
                                                                       "newsletter.example.com", None)
    assert old_format_token(SECRET, UNSUBSCRIBE, "ann@example.com", "newsletter.example.com") == \
        OLD_UNSUBSCRIBE_LINK_TOKEN


def test_a_link_of_the_format_used_before_reads_with_a_retired_key_and_keeps_its_purpose_and_age():
    rotated = LinkTokens(SECRET, (OLD_SECRET,))
    unsubscribe = old_format_token(OLD_SECRET, UNSUBSCRIBE, "zoë+news@exämple.com", "list")
    assert rotated.read(UNSUBSCRIBE, unsubscribe).email == "zoë+news@exämple.com"
    confirm = old_format_token(OLD_SECRET, CONFIRM, "ann@example.com", "list", NOW)
    two_days = dt.timedelta(hours=48)
    assert rotated.read(CONFIRM, confirm, two_days, NOW + dt.timedelta(hours=47)).issued == NOW
    with pytest.raises(TokenExpired):
        rotated.read(CONFIRM, confirm, two_days, NOW + dt.timedelta(hours=49))
    with pytest.raises(TokenError):
        rotated.read(UNSUBSCRIBE, confirm)
    with pytest.raises(TokenError, match="not valid"):
        TOKENS.read(UNSUBSCRIBE, unsubscribe)


@pytest.mark.parametrize("secret", ["", "short"])
def test_a_missing_or_short_secret_is_a_config_error_naming_the_variable(secret):
    with pytest.raises(ConfigError, match="PUBLISHER_SECRET_KEY") as info:
        LinkTokens(secret)
    assert "secrets.token_urlsafe" in str(info.value)


def test_a_short_old_key_is_a_config_error_naming_the_variable_and_which_key_never_the_key():
    with pytest.raises(ConfigError, match=r"PUBLISHER_OLD_SECRET_KEYS: key 2 of 2 is shorter") as info:
        LinkTokens(SECRET, (OLD_SECRET, "tiny-key"))
    assert "tiny-key" not in str(info.value) and OLD_SECRET not in str(info.value)


def test_errors_never_show_the_secret():
    token = TOKENS.make(UNSUBSCRIBE, PUBLIC_ID, "list")
    with pytest.raises(TokenError) as info:
        LinkTokens(SECRET, (OLD_SECRET,)).read(UNSUBSCRIBE, token + "x")
    shown = str(info.value) + repr(info.value)
    assert SECRET not in shown and OLD_SECRET not in shown


def test_a_token_is_what_itsdangerous_itself_would_make_with_the_signing_key():
    from itsdangerous import URLSafeSerializer
    serializer = URLSafeSerializer([OLD_SECRET, SECRET], salt="publisher.link.confirm",
                                   signer_kwargs={"digest_method": hashlib.sha256})
    made = LinkTokens(SECRET, (OLD_SECRET,)).make(CONFIRM, PUBLIC_ID, "newsletter.example.com", NOW)
    assert made == serializer.dumps([PUBLIC_ID, "newsletter.example.com", int(NOW.timestamp())])
