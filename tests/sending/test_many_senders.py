"""Several `publisher send` processes sharing one campaign in one PostgreSQL database: killed (SIGKILL) at random
moments and run again, they reach every subscriber, and nobody gets more duplicates than the killed processes
had connections. A lost database connection stops a sender cleanly, and a rerun finishes its work."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from publisher.store import NewSubscriber
from publisher.store.postgres import open_postgres

from ..fixtures_site import BASIC_TOML, SiteDir, post_text
from ..fixtures_smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
CONNECTIONS = 2
ENV = {"PUBLISHER_SECRET_KEY": "k" * 40}


class CountingSink:
    """bench/smtp_sink.py on 127.0.0.1: accepts every message and, when stopped, says who got how many."""

    def __init__(self, folder: Path):
        self.port, self.record = free_port(), folder / "received.json"
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "smtp_sink.py"), "--port", str(self.port),
                                      "--record", str(self.record)])
        deadline = time.monotonic() + 20
        while not _accepting(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def received(self) -> dict[str, int]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        return json.loads(self.record.read_text())["recipients"]


def _accepting(port: int) -> bool:
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def shared_site(tmp_path: Path, url: str, port: int, readers: int) -> tuple[SiteDir, list[str]]:
    """A site whose store is the PostgreSQL database at `url`, holding `readers` active subscribers."""
    site = SiteDir(tmp_path / "site")
    site.config(BASIC_TOML + f'[database]\nurl = "{url}"\n[delivery]\nsmtp_url = "smtp://127.0.0.1:{port}"\n'
                f"connections = {CONNECTIONS}\nretry_delay = 0.05\n")
    site.post("news.md", post_text("News", "2025-01-01"))
    emails = [f"reader{n:05d}@example.com" for n in range(readers)]
    with open_postgres(url) as store:
        store.add_subscribers([NewSubscriber(e) for e in emails], "test", now=NOW)
    return site, emails


def sender(site: SiteDir) -> subprocess.Popen:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "publisher", "--config", str(site.root), "send", "news"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def sent(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'").fetchone()[0]


def wait_for_sessions_to_end(url: str) -> None:
    """Until the server has ended the sessions of the killed senders (it notices within moments)."""
    deadline = time.monotonic() + 30
    with psycopg.connect(url, autocommit=True) as conn:
        while conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'publisher'"
                           ).fetchone()[0] and time.monotonic() < deadline:
            time.sleep(0.05)


def test_four_senders_killed_at_random_moments_and_rerun_reach_everyone_once_but_for_in_flight(tmp_path, postgres_url):
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    sink = CountingSink(tmp_path)
    site, emails = shared_site(tmp_path, postgres_url, sink.port, 10_000)
    senders = [sender(site) for _ in range(4)]
    kill_at = sorted(rng.randrange(300, 8_000) for _ in senders)  # messages sent in all when the next one dies
    killed = 0
    for proc, moment in zip(senders, kill_at):
        while sent(postgres_url) < moment and proc.poll() is None:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.kill()
            killed += 1
        proc.communicate(timeout=60)
    wait_for_sessions_to_end(postgres_url)
    rerun = sender(site)
    output = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, output
    received = sink.received()
    duplicates = sum(count - 1 for count in received.values())
    assert set(received) == set(emails), f"seed {seed}"
    assert duplicates <= killed * CONNECTIONS, f"seed {seed}: {duplicates} duplicates from {killed} killed senders"
    with open_postgres(postgres_url) as store:
        campaign = store.get_campaign("news")
        assert (store.delivery_counts(campaign.id).sent, campaign.status) == (10_000, "done")
    reported = int(re.search(r"possible duplicates (\d+)", output)[1])
    assert duplicates <= reported <= killed * CONNECTIONS, output  # the rerun names every reader who may have two


def test_senders_started_together_share_the_work_and_mail_each_reader_once(tmp_path, postgres_url):
    sink = CountingSink(tmp_path)
    site, emails = shared_site(tmp_path, postgres_url, sink.port, 2_000)
    senders = [sender(site) for _ in range(3)]
    outputs = [proc.communicate(timeout=300)[0] for proc in senders]
    assert [proc.returncode for proc in senders] == [0, 0, 0], outputs
    assert sink.received() == {email: 1 for email in emails}
    assert sum("sent 0" not in out for out in outputs) >= 2, outputs  # more than one of them did some of the work


def test_a_sender_that_loses_the_database_stops_with_one_line_and_a_rerun_finishes(tmp_path, postgres_url):
    sink = CountingSink(tmp_path)
    site, emails = shared_site(tmp_path, postgres_url, sink.port, 3_000)
    proc = sender(site)
    while sent(postgres_url) < 500 and proc.poll() is None:
        time.sleep(0.01)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                     " WHERE application_name = 'publisher'")
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 1 and "Traceback" not in output
    assert "lost the connection to" in output and "run the command again when the server is back" in output
    rerun = sender(site)
    assert rerun.wait(timeout=300) == 0
    received = sink.received()
    assert set(received) == set(emails)
    assert sum(count - 1 for count in received.values()) <= CONNECTIONS
