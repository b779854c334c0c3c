"""`publisher serve`: a real process on 127.0.0.1 serving the subscription service with waitress."""

from __future__ import annotations

import http.client
import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode

from ..fixtures_smtp import free_port
from ..fixtures_web import forwarding_proxy

SECRET = "a-test-secret-that-is-long-enough"


def test_serve_refuses_to_start_without_the_secret_key(site_dir):
    result = site_dir.run("serve", env={"PUBLISHER_SECRET_KEY": ""})
    assert result.exit_code == 1
    assert "Error: PUBLISHER_SECRET_KEY is not set; it signs the unsubscribe and confirm links" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_retired_key_too_short_to_be_one_naming_the_variable_not_the_key(site_dir):
    result = site_dir.run("serve", env={"PUBLISHER_SECRET_KEY": SECRET,
                                        "PUBLISHER_OLD_SECRET_KEYS": "an-old-key-long-enough-to-pass, oops"})
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: PUBLISHER_OLD_SECRET_KEYS: key 2 of 2 is shorter than 16 characters" in result.output
    assert "oops" not in result.output and "an-old-key" not in result.output


def test_serve_says_when_the_port_is_taken(site_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = site_dir.run("serve", "--port", str(port), env={"PUBLISHER_SECRET_KEY": SECRET})
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output and "choose another --port" in result.output


def wait_for_health(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, process.stdout.read()
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.1)


def request(port: int, method: str, path: str, body: bytes | None = None, source: str = "") -> tuple[int, str]:
    """One request to 127.0.0.1:`port`, sent from the loopback address `source` (any of 127.0.0.0/8) if given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body, {"Content-Type": "application/x-www-form-urlencoded"} if body else {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


@dataclass
class Served:
    """A `publisher serve` process: its port, and once stopped, what it printed and its exit code."""
    port: int
    output: str = ""
    returncode: int | None = None


@contextmanager
def serving(site_dir, *options: str) -> Iterator[Served]:
    """`publisher serve` with `options` in its own process on a free port, stopped with SIGTERM at the end."""
    served = Served(free_port())
    port = served.port
    env = {**os.environ, "PUBLISHER_SECRET_KEY": SECRET}
    process = subprocess.Popen([sys.executable, "-m", "publisher", "--config", str(site_dir.root), "serve",
                                "--port", str(port), *options], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_health(port, process)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        served.output = process.communicate(timeout=30)[0]
        served.returncode = process.returncode


def test_serve_runs_the_service_until_it_is_told_to_stop(site_dir):
    with serving(site_dir) as served:
        status, page = request(served.port, "POST", "/subscribe", urlencode({"email": "ann@example.com"}).encode())
        assert status == 200 and "Check your inbox" in page
        assert request(served.port, "POST", "/subscribe", b"email=" + b"a" * 70_000)[0] == 413
    assert served.returncode == 0
    assert f"on http://127.0.0.1:{served.port}/" in served.output and "Stopped." in served.output
    [confirmation] = mailbox.Maildir(site_dir.root / "outbox", create=False)
    assert confirmation["To"] == "ann@example.com"


def test_behind_a_reverse_proxy_each_visitor_has_their_own_rate_limit(site_dir):
    """Eight visitors sign up through a proxy that names them in X-Forwarded-For: none is refused, while one
    visitor going past the limit (5 an hour) still is."""
    def sign_up(proxy: int, visitor: str, email: str) -> int:
        return request(proxy, "POST", "/subscribe", urlencode({"email": email}).encode(), source=visitor)[0]

    visitors = [f"127.0.0.{n}" for n in range(2, 10)]
    with serving(site_dir, "--proxies", "1") as served, forwarding_proxy(served.port) as proxy:
        assert [sign_up(proxy, v, f"{n}@example.com") for n, v in enumerate(visitors)] == [200] * 8
        assert [sign_up(proxy, visitors[0], f"more{n}@example.com") for n in range(5)] == [200] * 4 + [429]
        assert sign_up(proxy, visitors[1], "late@example.com") == 200
    sent_to = sorted(m["To"] for m in mailbox.Maildir(site_dir.root / "outbox", create=False))
    assert sent_to == sorted([f"{n}@example.com" for n in range(8)] + [f"more{n}@example.com" for n in range(4)]
                             + ["late@example.com"])


def test_two_service_processes_sharing_one_postgresql_database_enforce_one_rate_limit(site_dir, postgres_url):
    """A client alternating between two `serve` processes (two workers, or two hosts behind a balancer) is
    allowed the limit (5 an hour) in all, not 5 by each."""
    (site_dir.root / "publisher.toml").write_text((site_dir.root / "publisher.toml").read_text()
                                                  + f'\n[database]\nurl = "{postgres_url}"\n')

    def sign_up(port: int, email: str, source: str = "127.0.0.2") -> int:
        return request(port, "POST", "/subscribe", urlencode({"email": email}).encode(), source=source)[0]

    with serving(site_dir) as one, serving(site_dir) as two:
        answers = [sign_up(port, f"r{n}@example.com") for n, port in enumerate([one.port, two.port] * 4)]
        assert answers == [200] * 5 + [429] * 3
        assert sign_up(two.port, "other@example.com", source="127.0.0.3") == 200
    assert (one.returncode, two.returncode) == (0, 0)
