"""Optional DKIM signatures (dkimpy), so receiving servers can tell the newsletter really comes from the domain.

Signing is on when [dkim] names a selector, a domain and a private key file (PEM, RSA). The signature covers
the headers a reader sees and the one-click unsubscribe headers (RFC 8058 asks for those to be signed), with
relaxed canonicalisation so the usual rewrapping on the way does not break it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP

import dkim

from ..config import CONFIG_NAME, Config
from ..errors import ConfigError
from .mime import FoldedHeader

SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-id",
                  b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version", b"content-type")
_PROBE = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: probe\r\n\r\nprobe\r\n"


@dataclass(frozen=True)
class DkimSigner:
    selector: str
    domain: str
    key: bytes = field(repr=False)

    def sign(self, msg: EmailMessage) -> EmailMessage:
        """Add a DKIM-Signature header at the top of `msg` (and return it) for the message as SMTP sends it."""
        signed = [h for h in SIGNED_HEADERS if h.decode() in {k.lower() for k in msg.keys()}]
        line = dkim.sign(msg.as_bytes(policy=SMTP), self.selector.encode(), self.domain.encode(), self.key,
                         canonicalize=(b"relaxed", b"relaxed"), include_headers=signed).decode("ascii")
        name, _, value = line.partition(":")
        items = msg.items()
        for header in {key for key, _ in items}:
            del msg[header]
        msg[name] = FoldedHeader(name, value.strip().replace("\r\n", ""), line)
        for header, value in items:
            msg[header] = value
        return msg


def load_signer(config: Config) -> DkimSigner | None:
    """The signer that [dkim] describes, or None when DKIM is off; a ConfigError names what is wrong."""
    d = config.dkim
    if not d.enabled:
        return None
    where = config.root / CONFIG_NAME
    path = config.path(d.key_file)
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"dkim.key_file: cannot read {path} ({exc.strerror}); point it at the PEM private key "
                          "whose public half is published in DNS", path=where) from None
    _check_alignment(config, where)
    try:
        dkim.sign(_PROBE, d.selector.encode(), d.domain.encode(), key)
    except (dkim.KeyFormatError, dkim.ParameterError, ValueError) as exc:
        raise ConfigError(f"dkim.key_file: {path} is not a usable private key ({exc}); expected an RSA key in "
                          "PEM form, e.g. from `openssl genrsa -out dkim.pem 2048`", path=where) from None
    return DkimSigner(d.selector, d.domain, key)


def _check_alignment(config: Config, where) -> None:
    """DMARC only credits a signature whose domain is the From address's domain (or a parent of it)."""
    sender = config.from_address.rpartition("@")[2].lower()
    domain = config.dkim.domain.lower().rstrip(".")
    if sender != domain and not sender.endswith("." + domain):
        raise ConfigError(f"dkim.domain is '{domain}' but newsletters come from @{sender}; sign with the From "
                          "address's domain, or change newsletter.from_address", path=where)
