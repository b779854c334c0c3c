"""Amazon SNS messages, as SNS posts them to an HTTPS endpoint, checked to come from SNS and from the one topic
this site subscribed ([webhooks] ses_topic_arn): anyone can make an SNS topic, so a good signature alone
proves only that the message came through SNS.

The signature (SignatureVersion 1: RSA with SHA1; 2: RSA with SHA256) is over the message's fields in a
fixed order, checked with the public key of the certificate at SigningCertURL, which must be an https URL
on an SNS host (sns.<region>.amazonaws.com). Certificates are fetched by an injected `fetch(url)`, which
only ever sees such URLs, and kept (the same few serve every message). A message older than MAX_AGE is
refused as a possible replay.

A SubscriptionConfirmation for our topic is confirmed by fetching its SubscribeURL, after the same checks
and only on an SNS host: the message is signed by SNS and names the author's own topic, so confirming is
what the author asked for when they subscribed the endpoint, and it saves them a step.

https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html
https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import ssl
import threading
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ...errors import WebhookInvalid, WebhookRefused
from . import field, iso_time, read_json

NAME = "amazon-sns"
MAX_AGE = dt.timedelta(hours=1)
MAX_FETCH_BYTES = 65_536
NOTIFICATION, CONFIRMATION = "Notification", "SubscriptionConfirmation"
SIGNED_FIELDS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    CONFIRMATION: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}
SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
Fetch = Callable[[str], bytes]


def check_sns_url(url: str, what: str) -> str:
    """`url` if it is https on an SNS host, with no user, port or fragment; WebhookRefused otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not SNS_HOST.fullmatch(parts.hostname or "") or parts.port or \
            parts.username or parts.fragment or parts.netloc != parts.hostname:
        raise WebhookRefused(f"{NAME}: the {what} {url!r} is not on an Amazon SNS host (https://sns.<region>"
                             ".amazonaws.com/)")
    return url


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: what is fetched is exactly the URL that was checked."""

    def redirect_request(self, *args, **kwargs) -> None:
        return None


def fetch_https(url: str, context: ssl.SSLContext | None = None, timeout: float = 10.0) -> bytes:
    """GET an https URL (certificate verified, no redirects), at most MAX_FETCH_BYTES; WebhookRefused when it
    fails."""
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context or ssl.create_default_context()),
                                         _NoRedirects)
    try:
        with opener.open(url, timeout=timeout) as reply:
            return reply.read(MAX_FETCH_BYTES)
    except (OSError, ValueError) as exc:
        raise WebhookRefused(f"{NAME}: could not fetch {url} ({exc})") from None


class Certificates:
    """The public keys of SNS signing certificates, fetched once per URL with `fetch` (only SNS URLs)."""

    def __init__(self, fetch: Fetch = fetch_https, keep: int = 16):
        self._fetch, self._keep = fetch, keep
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def public_key(self, url: str, now: dt.datetime) -> rsa.RSAPublicKey:
        """The RSA key of the certificate at `url`; WebhookRefused for another host, an expired certificate
        or anything but an RSA key."""
        with self._lock:
            if url in self._keys:
                return self._keys[url]
        key = _rsa_key(self._fetch(check_sns_url(url, "certificate URL")), now)
        with self._lock:
            if len(self._keys) >= self._keep:
                self._keys.clear()
            self._keys[url] = key
        return key


def _rsa_key(pem: bytes, now: dt.datetime) -> rsa.RSAPublicKey:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise WebhookRefused(f"{NAME}: the signing certificate is not a PEM certificate") from None
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise WebhookRefused(f"{NAME}: the signing certificate is not valid now")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRefused(f"{NAME}: the signing certificate's key is not RSA")
    return key


def read_message(body: bytes, topic_arn: str, certificates: Certificates, now: dt.datetime) -> dict:
    """The SNS message, once it is shown to be genuine, recent, and from `topic_arn`."""
    message = read_json(body, NAME)
    kind = message.get("Type")
    if kind not in SIGNED_FIELDS:
        raise WebhookInvalid(f"{NAME}: unknown message Type {kind!r}")
    if message.get("TopicArn") != topic_arn:
        raise WebhookRefused(f"{NAME}: the message is from topic {message.get('TopicArn')!r}, not "
                             "[webhooks] ses_topic_arn")
    verify_signature(message, certificates, now)
    sent = iso_time(field(message, "Timestamp", str, NAME), NAME)
    if now - sent > MAX_AGE:
        raise WebhookRefused(f"{NAME}: the message was sent at {sent:%Y-%m-%d %H:%M} UTC, too long ago")
    return message


def verify_signature(message: dict, certificates: Certificates, now: dt.datetime) -> None:
    """WebhookRefused unless the message's Signature is SNS's over its fields."""
    algorithm = HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise WebhookRefused(f"{NAME}: unknown SignatureVersion {message.get('SignatureVersion')!r}")
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused(f"{NAME}: the Signature is not base64") from None
    key = certificates.public_key(str(message.get("SigningCertURL") or ""), now)
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm())
    except InvalidSignature:
        raise WebhookRefused(f"{NAME}: the signature does not match the message") from None


def string_to_sign(message: dict) -> bytes:
    """Each signed field present, as 'Name\\nvalue\\n', in the documented order."""
    names = SIGNED_FIELDS[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in names if message.get(name) is not None).encode()


def confirm_subscription(message: dict, fetch: Fetch) -> str:
    """Confirm a verified SubscriptionConfirmation by fetching its SubscribeURL (only on an SNS host);
    returns the URL."""
    url = check_sns_url(field(message, "SubscribeURL", str, NAME), "SubscribeURL")
    fetch(url)
    return url
