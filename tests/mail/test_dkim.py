"""DKIM: a receiving server holding the published key verifies the newsletter; changes in transit are caught."""

import base64
import datetime as dt
import email
import email.policy
import subprocess
from pathlib import Path

import dkim
import pytest

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.content.posts import parse_post
from publisher.errors import ConfigError
from publisher.mail.dkim import DkimSigner, load_signer
from publisher.mail.newsletter import Addressee, compile_newsletter, personalise
from publisher.mail.tokens import LinkTokens

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text

SECRET = "a-test-secret-that-is-long-enough"
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)
DKIM_TOML = '\n[dkim]\nselector = "mail"\ndomain = "massageinyork.co.uk"\nkey_file = "dkim.pem"\n'


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory) -> tuple[bytes, bytes]:
    """A fresh RSA key (PEM) and the DNS TXT record that publishes its public half."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    return private.read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def site(tmp_path: Path, key: bytes | None, extra: str = DKIM_TOML):
    (tmp_path / "publisher.toml").write_text(BASIC_TOML + BOOKING_TOML + extra, encoding="utf-8")
    if key is not None:
        (tmp_path / "dkim.pem").write_bytes(key)
    return load_config(tmp_path / "publisher.toml", env={"PUBLISHER_SECRET_KEY": SECRET})


def message(config):
    post = parse_post(Path("posts/a.md"), post_text("Sciatica and you", body="Massage helps. Zoë says so."),
                      config.site.url, config.tz).post
    newsletter = compile_newsletter(post, config, make_env())
    return personalise(newsletter, Addressee("ann@example.com", "Ann"), tokens=LinkTokens(SECRET), now=NOW)


def verifies(raw: bytes, txt: bytes) -> bool:
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: txt if name == b"mail._domainkey.massageinyork.co.uk."
                       else None)


def test_without_a_dkim_section_nothing_is_signed(tmp_path):
    assert load_signer(site(tmp_path, None, extra="")) is None


def test_a_signed_newsletter_verifies_against_the_published_key(tmp_path, key_pair):
    key, txt = key_pair
    config = site(tmp_path, key)
    signed = load_signer(config).sign(message(config))
    raw = signed.as_bytes(policy=email.policy.SMTP)
    assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;")
    assert verifies(raw, txt)
    assert verifies(signed.as_bytes(), txt), "also when written with bare LF, as a Maildir stores it"


def test_the_signature_covers_the_unsubscribe_headers(tmp_path, key_pair):
    config = site(tmp_path, key_pair[0])
    signed = load_signer(config).sign(message(config))
    parsed = email.message_from_bytes(signed.as_bytes(policy=email.policy.SMTP), policy=email.policy.default)
    tags = dict(t.strip().split("=", 1) for t in str(parsed["DKIM-Signature"]).split(";") if "=" in t)
    covered = {h.strip() for h in tags["h"].split(":")}
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= covered


def test_a_changed_subject_or_body_fails_verification(tmp_path, key_pair):
    key, txt = key_pair
    config = site(tmp_path, key)
    raw = load_signer(config).sign(message(config)).as_bytes(policy=email.policy.SMTP)
    assert not verifies(raw.replace(b"Subject: Sciatica", b"Subject: Cheap pills"), txt)
    assert not verifies(raw.replace(b"Massage helps.", b"Massage hurts."), txt)


def test_the_signer_never_shows_its_key(key_pair):
    assert b"PRIVATE" not in repr(DkimSigner("mail", "example.com", key_pair[0])).encode()


def test_a_missing_key_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"dkim\.key_file: cannot read .*dkim\.pem"):
        load_signer(site(tmp_path, None))


def test_a_file_that_is_not_a_key_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="is not a usable private key"):
        load_signer(site(tmp_path, b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"))


def test_signing_for_another_domain_than_the_sender_is_a_config_error(tmp_path, key_pair):
    extra = DKIM_TOML.replace("massageinyork.co.uk", "elsewhere.example")
    with pytest.raises(ConfigError, match="dkim.domain is 'elsewhere.example' but newsletters come from "
                                          "@massageinyork.co.uk"):
        load_signer(site(tmp_path, key_pair[0], extra))
