"""A real SMTP server (aiosmtpd on 127.0.0.1, a free port) that records what it receives and injects faults.

    smtp_server.reply_at_rcpt("a@example.com", "451 4.3.0 Try later", times=2)   # then accept
    smtp_server.reply_at_rcpt("b@example.com", "550 5.1.1 No such user", times=None)  # every time
    smtp_server.drop_during_data("c@example.com")        # close the connection before answering DATA
    smtp_server.stall_at_rcpt("d@example.com", 1.0)      # say nothing for a second, then hang up
    smtp_server.answer_late("e@example.com", 2.0)        # take the message, but say so only two seconds later
    smtp_server.hold_after(10)                           # accept 10, then record but never answer
    smtp_server.refuse_connections("421 4.3.2 Busy")     # greet every connection with 421 and hang up
    smtp_server.heal()                                   # no faults from now on
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes


@dataclass
class Fault:
    stage: str
    address: str
    kind: str
    reply: str = ""
    seconds: float = 0.0
    times: int | None = 1


class FaultyHandler:
    """aiosmtpd handler: applies the first matching fault, otherwise accepts and records the message."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._received: list[Received] = []
        self._hold_after: int | None = None
        self._released = threading.Event()
        self.held = 0
        self.connections = 0

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, stage: str, addresses: list[str]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.stage == stage and fault.address in addresses and fault.times != 0:
                    fault.times = None if fault.times is None else fault.times - 1
                    return fault
        return None

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def hold_after(self, count: int | None) -> None:
        self._hold_after = count

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def release(self) -> None:
        self._hold_after = None
        self._released.set()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        fault = self.take("RCPT", [address])
        if fault is not None:
            return await self._apply(fault, server)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        fault = self.take("DATA", envelope.rcpt_tos)
        if fault is not None and fault.kind != "late":
            return await self._apply(fault, server)
        raw = envelope.original_content
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                            email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default), raw)
        with self._lock:
            self._received.append(received)
            hold = self._hold_after is not None and len(self._received) > self._hold_after
            self.held += hold
        if fault is not None:
            await asyncio.sleep(fault.seconds)
        while hold and not self._released.is_set():
            await asyncio.sleep(0.02)
        return "250 2.0.0 OK queued"

    async def _apply(self, fault: Fault, server) -> str:
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
        elif fault.kind == "reply" and not fault.reply.startswith("421"):
            return fault.reply
        elif fault.kind == "reply":
            await server.push(fault.reply)
        server.transport.close()
        await asyncio.Event().wait()
        return ""


class GreetingSMTP(SMTP):
    """aiosmtpd's SMTP session, which can greet a connection with a refusal (e.g. 421) and hang up at once."""

    async def _handle_client(self) -> None:
        fault = self.event_handler.take("CONNECT", ["*"])
        if fault is None:
            return await super()._handle_client()
        await self.push(fault.reply)
        self.transport.close()


class FaultyController(Controller):
    def factory(self) -> SMTP:
        return GreetingSMTP(self.handler, **self.SMTP_kwargs)


class FaultySmtpServer:
    """A started aiosmtpd controller with its handler; the methods add faults for chosen addresses."""

    def __init__(self, **smtp_options):
        self.handler = FaultyHandler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller = FaultyController(self.handler, hostname=self.host, port=self.port, ready_timeout=10,
                                           **smtp_options)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def recipients(self) -> Counter:
        """How many messages each address received."""
        return Counter(rcpt for r in self.received for rcpt in r.rcpt_tos)

    def reply_at_rcpt(self, address: str, reply: str, times: int | None = 1) -> None:
        """Answer RCPT TO for `address` with `reply` (a 421 also hangs up); None means every time."""
        self.handler.add(Fault("RCPT", address, "reply", reply=reply, times=times))

    def drop_during_data(self, address: str, times: int | None = 1) -> None:
        """Close the connection after the message data arrives, before answering it."""
        self.handler.add(Fault("DATA", address, "drop", times=times))

    def stall_at_rcpt(self, address: str, seconds: float, times: int | None = 1) -> None:
        """Say nothing for `seconds` after RCPT TO for `address`, then hang up."""
        self.handler.add(Fault("RCPT", address, "stall", seconds=seconds, times=times))

    def answer_late(self, address: str, seconds: float, times: int | None = 1) -> None:
        """Take the message for `address` (it is received), but answer only after `seconds`: a client that gave
        up waiting cannot know the message arrived."""
        self.handler.add(Fault("DATA", address, "late", seconds=seconds, times=times))

    def refuse_connections(self, reply: str, times: int | None = None) -> None:
        """Greet each new connection with `reply` (e.g. a 421) and hang up; None means until `heal`."""
        self.handler.add(Fault("CONNECT", "*", "reply", reply=reply, times=times))

    def heal(self) -> None:
        """Drop every fault added so far: from now on the server accepts everything."""
        self.handler.clear()

    def hold_after(self, count: int) -> None:
        """Accept `count` messages, then record every later one but never answer it (until `release`)."""
        self.handler.hold_after(count)

    def wait_for_held(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.handler.held < count:
            assert time.monotonic() < deadline, f"only {self.handler.held} of {count} messages held"
            time.sleep(0.02)

    def release(self) -> None:
        self.handler.release()

    def start(self) -> FaultySmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self.controller.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server():
    server = FaultySmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def make_smtp_server():
    """Start servers with aiosmtpd options, e.g. make_smtp_server(ssl_context=...) for implicit TLS."""
    servers: list[FaultySmtpServer] = []

    def make(**smtp_options) -> FaultySmtpServer:
        servers.append(FaultySmtpServer(**smtp_options).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture
def server_tls_context(tls_certificate) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_certificate)
    return context


@pytest.fixture
def client_tls_context(tls_certificate) -> ssl.SSLContext:
    """A client context that trusts the test certificate (and nothing else)."""
    return ssl.create_default_context(cafile=str(tls_certificate[0]))


def password_authenticator(login: str, password: str):
    """An aiosmtpd authenticator accepting exactly one login and password."""

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data == (login.encode(), password.encode())
        return AuthResult(success=ok, handled=False)

    return authenticate
