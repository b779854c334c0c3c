"""The subscription service in a test: the app on a real HTTP server (werkzeug) on 127.0.0.1 in a thread, with
a real SQLite store, a site folder written inline, and a clock the test moves on; and a reverse proxy to put
in front of it."""

from __future__ import annotations

import datetime as dt
import functools
import html
import http.client
import http.server
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from publisher.cli import main
from publisher.config import load_config
from publisher.sending.transports import make_transport
from publisher.service.app import create_app
from publisher.store import Store
from publisher.store import open_sqlite as open_store
from publisher.store.sqlite import BUSY_TIMEOUT_SECONDS

from .fixtures_site import BASIC_TOML, BOOKING_TOML, post_text
from .fixtures_smtp import free_port

SECRET = "a-test-secret-that-is-long-enough"
START = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)


class Clock:
    """The service's clock, moved on by the test."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str


@dataclass
class Service:
    url: str
    store: Store
    clock: Clock
    smtp: object
    config: object

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict | bytes, headers: dict | None = None) -> Reply:
        body = form if isinstance(form, bytes) else urlencode(form).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, body, headers)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
        url = urlsplit(urljoin(self.url + "/", path))
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        try:
            conn.request(method, url.path + (f"?{url.query}" if url.query else ""), body, headers or {})
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read().decode("utf-8"))
        finally:
            conn.close()

    def mails(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.smtp.received if address in r.rcpt_tos]

    def status(self, address: str) -> str | None:
        subscriber = self.store.get_subscriber(address)
        return subscriber.status if subscriber else None


def confirm_link(msg: EmailMessage) -> str:
    return re.search(r"https?://\S+/confirm\?token=\S+", msg.get_body(("plain",)).get_content())[0]


def press_confirm(service: Service, link: str) -> Reply:
    """Open a confirm link, as a reader does from the email, and press the one button on its page."""
    page = service.get(link)
    assert page.status == 200 and "<script" not in page.text, page.text
    [action] = re.findall(r'<form method="post" action="([^"]+)">\s*<button', page.text)
    return service.post(urljoin(link, html.unescape(action)), {})


def site_config(root, url: str, extra: str = "", site_url: str = "https://example.com", env: dict | None = None):
    """The site's config with the service at `url`; `extra` is appended TOML (more sections), `env` more of the
    environment."""
    root.mkdir(parents=True, exist_ok=True)
    site = BASIC_TOML.replace('url = "https://example.com"', f'url = "{site_url}"')
    (root / "publisher.toml").write_text(
        f'{site}{BOOKING_TOML}\n[subscriptions]\nurl = "{url}"\nrate_limit = 5\n{extra}', encoding="utf-8")
    return load_config(root / "publisher.toml", env={"PUBLISHER_SECRET_KEY": SECRET, **(env or {})})


def write_posts(root, count: int) -> None:
    (root / "posts").mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        (root / "posts" / f"post-{n}.md").write_text(
            post_text(f"Article number {n}", f"2024-05-{n:02d}", summary=f'"Summary {n}."'), encoding="utf-8")


@contextmanager
def serving(app, port: int) -> Iterator[None]:
    """A WSGI app on a real HTTP server on 127.0.0.1:`port`, in a thread, until the block ends."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def running(config, smtp, clock: Clock, proxies: int = 0, busy_timeout: float = BUSY_TIMEOUT_SECONDS,
            fetch=None) -> Iterator[Service]:
    """The service for `config` on the port named in its [subscriptions] url, with its own store (which waits
    `busy_timeout` seconds for another process's lock) and `fetch` for Amazon SNS's certificates."""
    store = open_store(config.path(config.database.path), busy_timeout)
    app = create_app(config, store=store, connect=make_transport(config), clock=clock, proxies=proxies,
                     fetch=fetch)
    try:
        with serving(app, urlsplit(config.subscribe_base).port):
            yield Service(config.subscribe_base, store, clock, smtp, config)
    finally:
        store.close()


class _Forwarder(http.server.BaseHTTPRequestHandler):
    """Passes each request on to `target` and says who the client was, as nginx's `proxy_set_header
    X-Forwarded-For $remote_addr` does (a value the client sent itself is replaced)."""

    target: tuple[str, int]
    dropped = ("connection", "x-forwarded-for", "x-forwarded-proto")

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_GET

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in self.dropped}
        headers.update({"X-Forwarded-For": self.client_address[0], "X-Forwarded-Proto": "http"})
        conn = http.client.HTTPConnection(*self.target, timeout=30)
        try:
            conn.request(self.command, self.path, body, headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("connection", "server", "date"):
                self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        """Quiet: the test reads the answers, not a log."""


@contextmanager
def forwarding_proxy(target_port: int) -> Iterator[int]:
    """A reverse proxy on 127.0.0.1 in front of 127.0.0.1:`target_port`, until the block ends; yields its port."""
    handler = type("Forwarder", (_Forwarder,), {"target": ("127.0.0.1", target_port)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=functools.partial(server.serve_forever, poll_interval=0.05), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def site_service(tmp_path, smtp_server) -> Iterator[Service]:
    """The service for a site with one post, 'Hello readers' (hello.md), mailing through the test's SMTP server;
    commands run against the same site with `run_command`."""
    root = tmp_path / "site"
    (root / "posts").mkdir(parents=True)
    (root / "posts" / "hello.md").write_text(post_text("Hello readers", "2025-01-14"), encoding="utf-8")
    config = site_config(root, f"http://127.0.0.1:{free_port()}", f'\n[delivery]\nsmtp_url = "{smtp_server.url}"\n')
    with running(config, smtp_server, Clock(START)) as service:
        yield service


def run_command(service: Service, *args: str, env: dict | None = None):
    """A `publisher` command against the service's site, at the service's time, with its secret key."""
    env = {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_NOW": service.clock().isoformat(), **(env or {})}
    return CliRunner().invoke(main, ["--config", str(service.config.root), *args], env=env, catch_exceptions=False)
