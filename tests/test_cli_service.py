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
from urllib.parse import urlencode

from .fixtures_smtp import free_port

SECRET = "a-test-secret-that-is-long-enough"


def test_serve_refuses_to_start_without_the_secret_key(site_dir):
    result = site_dir.run("serve", env={"PUBLISHER_SECRET_KEY": ""})
    assert result.exit_code == 1
    assert "Error: PUBLISHER_SECRET_KEY is not set; it signs the unsubscribe and confirm links" in result.output
    assert "Traceback" not in result.output


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


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, {"Content-Type": "application/x-www-form-urlencoded"} if body else {})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_serve_runs_the_service_until_it_is_told_to_stop(site_dir):
    port = free_port()
    env = {**os.environ, "PUBLISHER_SECRET_KEY": SECRET}
    process = subprocess.Popen([sys.executable, "-m", "publisher", "--config", str(site_dir.root), "serve",
                                "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        wait_for_health(port, process)
        status, page = request(port, "POST", "/subscribe", urlencode({"email": "ann@example.com"}).encode())
        assert status == 200 and "Check your inbox" in page
        assert request(port, "POST", "/subscribe", b"email=" + b"a" * 70_000)[0] == 413
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0
    assert f"on http://127.0.0.1:{port}/" in output and "Stopped." in output
    [confirmation] = mailbox.Maildir(site_dir.root / "outbox", create=False)
    assert confirmation["To"] == "ann@example.com"
