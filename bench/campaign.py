"""The campaign benchmarks: `publisher send` of one newsletter to many subscribers through an SMTP sink on
127.0.0.1, beside Postfix's own client, `smtp-source`, sending the same message the same number of times in one
session to the same sink (the reference the send is measured against), and a campaign killed midway and resumed,
checked for lost messages.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from corpus import make_corpus, paragraph
from measure import checked, publisher, run, summary

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SECRET = "bench-secret-key-0123456789abcdefghijklmnop"
SENDER = "news@bench.example.com"
POSTFIX = os.environ.get("PATH", "") + ":/usr/sbin"


class Sink:
    """An SMTP sink on 127.0.0.1: Postfix's smtp-sink if installed (unless `own`), else bench/smtp_sink.py."""

    def __init__(self, work: Path, own: bool = False, record: Path | None = None):
        self.port = free_port()
        smtp_sink = shutil.which("smtp-sink", path=POSTFIX)
        if smtp_sink and not own and record is None:
            user = ["-u", "nobody"] if os.geteuid() == 0 else []
            self.name = "postfix smtp-sink"
            self.proc = subprocess.Popen([smtp_sink, *user, f"127.0.0.1:{self.port}", "256"])
        else:
            self.name = "bench/smtp_sink.py (asyncio)"
            extra = ["--record", str(record)] if record else []
            self.proc = subprocess.Popen([sys.executable, str(BENCH / "smtp_sink.py"), "--port", str(self.port),
                                          *extra])
        wait_for_port(self.port)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the SMTP sink did not start on 127.0.0.1:{port}")


def campaign_site(work: Path, name: str, port: int, recipients: int) -> tuple[Path, str]:
    """A 20-post site whose store holds `recipients` active subscribers; returns it and the newest post's slug."""
    site = make_corpus(work / name, 20)
    newest = site / "posts" / "post-00019.md"  # a longer article, for a newsletter of about 40 KB
    rng = random.Random(19)
    newest.write_text(newest.read_text(encoding="utf-8") + "\n" + "\n\n".join(paragraph(rng, 19) for _ in range(4))
                      + "\n", encoding="utf-8")
    config = (site / "publisher.toml").read_text(encoding="utf-8")
    config += (f'\n[newsletter]\nfrom_name = "Bench Author"\nfrom_address = "{SENDER}"\n'
               f'\n[delivery]\nsmtp_url = "smtp://127.0.0.1:{port}"\n')
    (site / "publisher.toml").write_text(config, encoding="utf-8")
    sys.path.insert(0, str(ROOT / "src"))
    from publisher.store import NewSubscriber, open_sqlite
    now = dt.datetime.now(dt.UTC)
    with open_sqlite(site / "publisher.db") as store:
        store.add_subscribers((NewSubscriber(f"reader{n:05d}@bench.example.com", f"Reader {n}")
                               for n in range(recipients)), "bench", now=now)
    return site, "post-00019"


def send_env() -> dict:
    return {**os.environ, "PUBLISHER_SECRET_KEY": SECRET}


def measure_campaign(work: Path, recipients: int, runs: int) -> dict:
    """`publisher send` of a campaign to the sink, each run with a fresh store, and after each run Postfix's
    `smtp-source` sending the same message as often, in one session, to the same sink."""
    sink = Sink(work)
    try:
        results, reference = [], []
        for n in range(runs):
            site, slug = campaign_site(work, f"campaign-{n}", sink.port, recipients)
            os.sync()
            result = checked([*publisher(), "--config", str(site), "send", slug], env=send_env())
            results.append((result, sent_seconds(result.stdout), delivery_counts(site)))
            if n == 0:
                message = one_message(site, slug)
            if shutil.which("smtp-source", path=POSTFIX):
                reference.append(smtp_source(message, recipients, sink.port))
    finally:
        sink.stop()
    rate = summary([recipients / seconds for _, seconds, _ in results])
    found = {
        "sink": sink.name, "recipients": recipients, "message_bytes": message.stat().st_size,
        "messages_per_s": rate,
        "wall_s": summary([r.seconds for r, _, _ in results]),
        "peak_mb": summary([r.peak_mb for r, _, _ in results]),
        "all_recorded_sent": all(c == {"sent": recipients} for _, _, c in results),
    }
    if reference:
        source = summary([recipients / seconds for seconds in reference])
        found["smtp_source"] = {"sessions": 1, "messages_per_s": source,
                                "wall_s": summary(reference)}
        found["ratio_to_smtp_source"] = rate["median"] / source["median"]
    return found


def smtp_source(message: Path, count: int, port: int) -> float:
    """The wall time of Postfix's smtp-source sending `message` `count` times over one connection (-s 1 -d)."""
    lf = message.with_suffix(".lf")  # smtp-source ends each line with CRLF itself
    lf.write_bytes(message.read_bytes().replace(b"\r\n", b"\n"))
    argv = [shutil.which("smtp-source", path=POSTFIX), "-s", "1", "-d", "-m", str(count), "-f", SENDER,
            "-t", "reader00001@bench.example.com", "-F", str(lf), f"127.0.0.1:{port}"]
    return checked(argv, sample=False).seconds


def sent_seconds(output: str) -> float:
    """The sending time `publisher send` reports ('... in 9.53 s (1,049 messages/s)')."""
    line = [ln for ln in output.splitlines() if "messages/s" in ln][-1]
    return float(line.rsplit(" in ", 1)[1].split(" s", 1)[0])


def delivery_counts(site: Path) -> dict[str, int]:
    with sqlite3.connect(site / "publisher.db") as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())


def one_message(site: Path, slug: str) -> Path:
    """One subscriber's copy of the campaign's message, as `publisher email` writes it."""
    out = site / "one.eml"
    checked([*publisher(), "--config", str(site), "email", slug, "--to", "reader00001@bench.example.com",
             "--name", "Reader 1", "-o", str(out)], env=send_env())
    return out


def measure_kill_and_resume(work: Path, recipients: int) -> dict:
    """Kill `publisher send` (SIGKILL) a third of the way through, run it again, and count what arrived."""
    record = work / "received.json"
    sink = Sink(work, own=True, record=record)
    site, slug = campaign_site(work, "campaign-kill", sink.port, recipients)
    argv = [*publisher(), "--config", str(site), "send", slug]
    first = subprocess.Popen(argv, env=send_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while delivery_counts(site).get("sent", 0) < recipients // 3 and first.poll() is None:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    at_kill = delivery_counts(site)
    second = run(argv, env=send_env())
    sink.stop()
    received = json.loads(record.read_text())["recipients"]
    expected = {f"reader{n:05d}@bench.example.com" for n in range(recipients)}
    duplicates = sum(count - 1 for count in received.values())
    reported = int(second.stdout.split("possible duplicates ", 1)[1].split(",", 1)[0])
    return {
        "sink": sink.name, "killed_with": "SIGKILL", "store_at_kill": at_kill,
        "store_after_resume": delivery_counts(site),
        "recipients_missing": len(expected - received.keys()), "duplicates_received": duplicates,
        "possible_duplicates_reported": reported,
        "nothing_lost": expected <= received.keys() and duplicates <= reported,
    }
