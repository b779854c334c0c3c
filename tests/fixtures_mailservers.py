"""Real mail servers for the bounce tests, each started by the test from a throwaway config on a loopback port.

Postfix: accepts mail on 127.0.0.1, delivers mail for the bounce address (bounces+anything@example.com) into a
Maildir, and answers mail to readers.example.com, whose users do not exist, with a real DSN (5.1.1) to the
envelope sender, and mail to unreachable.example.com with a real temporary failure (4.4.1): the whole path a
bounce takes. Dovecot: serves a Maildir over IMAPS (a certificate made for the test)
to one user from a passwd-file. Tests marked `postfix` or `dovecot` are skipped only when the server is not
installed or cannot start here (see `tests/mailserver_check.py`), and then loudly.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.mailserver_check import missing_reason

from .fixtures_smtp import free_port

NOBODY = 65534
BOUNCES = "bounces@example.com"
READER = "reader@example.com"  # a reader whose mail is delivered (into mail/reader)
READERS = "readers.example.com"  # Postfix's local domain, with no users: every address there bounces
# Mail for this domain goes to a loopback port where nothing listens: a temporary failure (4.4.1), which Postfix,
# told to try each message only once, returns at once in a DSN.
UNREACHABLE = "unreachable.example.com"
IMAP_USER, IMAP_PASSWORD = "author", "imap-password-for-tests"


def pytest_report_header(config) -> list[str]:
    return [f"!!! {name} tests SKIPPED: {reason} !!!" if reason else f"{name} tests: {name} started per test"
            for name, reason in ((n, missing_reason(n)) for n in ("postfix", "dovecot"))]


def pytest_collection_modifyitems(config, items) -> None:
    """Skip tests marked `postfix` or `dovecot` when, and only when, that server cannot run here."""
    for name in ("postfix", "dovecot"):
        reason = missing_reason(name)
        if reason:
            for item in items:
                if item.get_closest_marker(name):
                    item.add_marker(pytest.mark.skip(reason=reason))


@contextmanager
def server_folder(prefix: str) -> Iterator[Path]:
    """A folder the servers' own users can reach (pytest's tmp_path sits in a folder only root may enter),
    removed with everything in it afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def wait_for_port(port: int, log: Path, seconds: float = 20.0) -> None:
    """Block until something listens on 127.0.0.1:`port`; fail with the server's log if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"the server did not listen on 127.0.0.1:{port}:\n{log.read_text() if log.exists() else ''}")


def wait_for_file(folder: Path, count: int = 1, seconds: float = 30.0) -> list[Path]:
    """The files in `folder` once there are `count` (Postfix delivers in the background); fewer after `seconds`."""
    deadline = time.monotonic() + seconds
    found: list[Path] = []
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*")) if folder.is_dir() else []
        if len(found) >= count:
            return found
        time.sleep(0.05)
    return found


POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = no
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.com
mydomain = example.com
myorigin = example.com
mydestination = {readers}
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
virtual_mailbox_domains = example.com
virtual_mailbox_base = {root}/mail
virtual_mailbox_maps = texthash:{root}/conf/mailboxes
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{uid}
recipient_delimiter = +
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
smtputf8_enable = no
biff = no
transport_maps = texthash:{root}/conf/transport
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
"""
POSTFIX_SERVICES = ["pickup unix n - n 60 1 pickup", "cleanup unix n - n - 0 cleanup",
                    "qmgr unix n - n 300 1 qmgr", "rewrite unix - - n - - trivial-rewrite",
                    "bounce unix - - n - 0 bounce", "defer unix - - n - 0 bounce", "trace unix - - n - 0 bounce",
                    "verify unix - - n - 1 verify", "flush unix n - n 1000? 0 flush",
                    "proxymap unix - - n - - proxymap", "smtp unix - - n - - smtp", "showq unix n - n - - showq",
                    "error unix - - n - - error", "retry unix - - n - - error", "discard unix - - n - - discard",
                    "local unix - n n - - local", "virtual unix - n n - - virtual", "anvil unix - - n - 1 anvil",
                    "scache unix - - n - 1 scache", "postlog unix-dgram n - n - 1 postlogd"]


@dataclass
class PostfixServer:
    """A running Postfix: mail in at `port`; mail for the bounce address lands in `bounce_maildir`."""

    root: Path
    port: int

    @property
    def smtp_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def bounce_maildir(self) -> Path:
        return self.root / "mail" / "bounces"

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.root / "conf"), "stop"], capture_output=True, timeout=60)


@pytest.fixture
def postfix() -> Iterator[PostfixServer]:
    """Postfix from a throwaway config in a folder of its own (short path: Postfix's sockets live there)."""
    with server_folder("publisher-pf-") as root:
        yield from _run_postfix(root)


def _run_postfix(root: Path) -> Iterator[PostfixServer]:
    for folder in ("conf", "queue", "data", "mail"):
        (root / folder).mkdir()
    shutil.chown(root / "data", "postfix")
    shutil.chown(root / "mail", NOBODY, NOBODY)
    port = free_port()
    (root / "conf" / "main.cf").write_text(POSTFIX_MAIN.format(root=root, readers=READERS, uid=NOBODY))
    (root / "conf" / "master.cf").write_text("\n".join([f"127.0.0.1:{port} inet n - n - - smtpd",
                                                        *POSTFIX_SERVICES]) + "\n")
    (root / "conf" / "mailboxes").write_text(f"{BOUNCES} bounces/\n{READER} reader/\n")
    (root / "conf" / "transport").write_text(f"{UNREACHABLE} smtp:[127.0.0.1]:{free_port()}\n")
    server = PostfixServer(root, port)
    started = subprocess.run(["postfix", "-c", str(root / "conf"), "start"], capture_output=True, text=True,
                             timeout=60)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        wait_for_port(port, root / "maillog")
        yield server
    finally:
        server.stop()


DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
default_internal_user = dovecot
default_login_user = dovenull
auth_mechanisms = plain
mail_location = maildir:{root}/mail
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={root}/home
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@dataclass
class DovecotServer:
    """A running Dovecot: IMAPS at `port` for IMAP_USER, whose INBOX is the Maildir `maildir`; `cafile` is the
    certificate to trust."""

    root: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def maildir(self) -> Path:
        return self.root / "mail"

    @property
    def cafile(self) -> Path:
        return self.root / "cert.pem"

    @property
    def imap_url(self) -> str:
        return f"imaps://{IMAP_USER}@localhost:{self.port}/INBOX"

    def start(self) -> None:
        for path in (self.maildir, *self.maildir.rglob("*")):
            shutil.chown(path, NOBODY, NOBODY)
        self.process = subprocess.Popen(["dovecot", "-F", "-c", str(self.root / "dovecot.conf")],
                                        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.root / "dovecot.log")

    def kill(self) -> None:
        """Stop the server and every process it started, at once."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """Dovecot from a throwaway config; the test fills `maildir` (cur/new/tmp exist) and then calls `start()`."""
    with server_folder("publisher-dc-") as root:
        yield from _run_dovecot(root)


def _run_dovecot(root: Path) -> Iterator[DovecotServer]:
    for folder in ("run", "state", "home", "mail/cur", "mail/new", "mail/tmp"):
        (root / folder).mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(root / "key.pem"),
                    "-out", str(root / "cert.pem")], check=True, capture_output=True, timeout=60)
    (root / "users").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    server = DovecotServer(root, free_port())
    (root / "dovecot.conf").write_text(DOVECOT_CONF.format(root=root, uid=NOBODY, port=server.port))
    shutil.chown(root / "home", NOBODY, NOBODY)
    try:
        yield server
    finally:
        server.kill()


class CuttingProxy:
    """A TCP relay on 127.0.0.1 to `port` that hangs up on both sides once the server has sent `limit` bytes: an
    IMAP server dropping the connection halfway, at the same point every run."""

    def __init__(self, port: int, limit: int):
        self.target, self.limit = port, limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
        self._pump(server, client, self.limit)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while limit is None or sent < limit:
                data = source.recv(4096)
                if not data:
                    break
                sink.sendall(data if limit is None else data[:limit - sent])
                sent += len(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def close(self) -> None:
        self.listener.close()
