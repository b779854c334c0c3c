"""Amazon SNS in a test: a signing certificate made here (cryptography), served with everything else SNS
would serve (the SubscribeURL) from a real HTTPS server on 127.0.0.1 whose own certificate a test CA signs,
and a `fetch` that sends each https://sns.<region>.amazonaws.com/ URL there instead, through the service's
own fetcher. Messages are signed as SNS signs them (SignatureVersion 1 or 2)."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from publisher.feedback.providers.sns import fetch_https, string_to_sign

CERT_PATH = "/SimpleNotificationService-0000000000000000000000.pem"
CERT_URL = f"https://sns.eu-west-1.amazonaws.com{CERT_PATH}"
MOVED_PATH = "/moved.pem"  # answers with a redirect to the certificate
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(subject: str, key, issuer: str, issuer_key, *, ca: bool = False, ip: str = "") -> x509.Certificate:
    """Valid from 2020 (the services under test run at a pinned time in 2025) until a month from now."""
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)).not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes]
    requested: list[str]

    def do_GET(self) -> None:
        self.requested.append(self.path)
        if self.path == MOVED_PATH:
            self.send_response(302)
            self.send_header("Location", CERT_PATH)
            self.end_headers()
            return
        body = self.files.get(urlsplit(self.path).path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args) -> None:
        """Quiet: the test reads `requested`."""


@dataclass
class FakeSns:
    """The signing key, the HTTPS server standing in for SNS's hosts, and what was asked of it."""

    signing_key: rsa.RSAPrivateKey
    port: int
    context: ssl.SSLContext
    requested: list[str] = field(default_factory=list)

    def fetch(self, url: str) -> bytes:
        """The service's fetcher, with the SNS host swapped for this server (and only that host)."""
        parts = urlsplit(url)
        assert parts.hostname.endswith(".amazonaws.com"), url
        return fetch_https(parts._replace(netloc=f"127.0.0.1:{self.port}").geturl(), context=self.context)

    def sign(self, message: dict, version: str = "1", cert_url: str = CERT_URL) -> dict:
        """The message as SNS would post it, with SigningCertURL and a Signature of `version`."""
        message = {**message, "SignatureVersion": version, "SigningCertURL": cert_url}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.signing_key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
        return {**message, "Signature": base64.b64encode(signature).decode()}


@pytest.fixture(scope="session")
def _sns_certificates(tmp_path_factory) -> tuple:
    ca_key, server_key, signing_key = _key(), _key(), _key()
    ca = _certificate("Test CA", ca_key, "Test CA", ca_key, ca=True)
    server = _certificate("127.0.0.1", server_key, "Test CA", ca_key, ip="127.0.0.1")
    signing = _certificate("sns.amazonaws.com", signing_key, "Test CA", ca_key)
    folder = tmp_path_factory.mktemp("sns")
    (folder / "server.pem").write_bytes(_pem(server) + server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder / "server.pem", _pem(ca), _pem(signing), signing_key


@pytest.fixture
def fake_sns(_sns_certificates) -> Iterator[FakeSns]:
    server_pem, ca_pem, signing_pem, signing_key = _sns_certificates
    handler = type("Sns", (_Handler,), {"files": {CERT_PATH: signing_pem, "/": b"<ConfirmSubscriptionResponse/>"},
                                        "requested": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    serving_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving_context.load_cert_chain(Path(server_pem))
    httpd.socket = serving_context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=functools.partial(httpd.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield FakeSns(signing_key, httpd.server_address[1], ssl.create_default_context(cadata=ca_pem.decode()),
                      handler.requested)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
