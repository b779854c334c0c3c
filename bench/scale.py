"""The benchmark's scaling part: when a list outgrows SQLite, and what several senders on PostgreSQL give.

On a throwaway PostgreSQL cluster (tests/postgres_cluster.py, default durability settings) and an SMTP sink on
127.0.0.1: `publisher subscribers import` of the same 100,000-row CSV into each backend; then one campaign to
those 100,000 subscribers sent by `publisher send` with SQLite and one process, and with PostgreSQL and 1, 2 and 4
processes started together on a fresh copy of the imported database. Messages per second are the recipients
over the wall time from the first process's start to the last one's end; peak memory is per sender process.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from measure import checked

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_cluster import PASSWORD, Cluster, missing_reason  # noqa: E402

SENDERS = (1, 2, 4)


def scale_site(work: Path, port: int) -> Path:
    """A one-post site mailing through the sink on `port`, its SQLite store in the folder."""
    site = work / "scale-site"
    (site / "posts").mkdir(parents=True)
    (site / "publisher.toml").write_text(
        '[site]\ntitle = "Scale"\nurl = "https://bench.example.com"\nauthor = "Bench Author"\n'
        f'[newsletter]\nfrom_address = "news@bench.example.com"\n[delivery]\nsmtp_url = "smtp://127.0.0.1:{port}"\n',
        encoding="utf-8")
    body = "\n\n".join(f"Paragraph {n} of the newsletter, with a [link](https://bench.example.com/{n}/)." for n in
                       range(30))
    (site / "posts" / "news.md").write_text(f"---\ntitle: News\ndate: 2025-01-01\n---\n\n{body}\n", encoding="utf-8")
    return site


def subscribers_csv(work: Path, recipients: int) -> Path:
    path = work / "subscribers.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        out.writelines(f"reader{n:06d}@bench.example.com,Reader {n}\n" for n in range(recipients))
    return path


def measure_scale(work: Path, recipients: int, publisher: list[str], sink_factory, secret: str) -> dict:
    """Import and send figures for both backends; {'skipped': why} where PostgreSQL cannot be started."""
    if missing_reason():
        return {"skipped": missing_reason()}
    cluster, sink = Cluster(), sink_factory(work)
    try:
        site, csv = scale_site(work, sink.port), subscribers_csv(work, recipients)
        base = {**os.environ, "PUBLISHER_SECRET_KEY": secret, "PGPASSWORD": PASSWORD}
        importing = ["subscribers", "import", str(csv), "--status", "active"]  # a list of people who all asked
        sqlite_import = checked([*publisher, "--config", str(site), *importing], env=base)
        sqlite_send = _send_together(publisher, site, base, 1)
        cluster.admin("CREATE DATABASE imported")
        pg = {**base, "PUBLISHER_DATABASE_URL": cluster.url("imported")}
        checked([*publisher, "--config", str(site), "migrate"], env=pg)
        pg_import = checked([*publisher, "--config", str(site), *importing], env=pg)
        runs = {}
        for count in SENDERS:
            cluster.admin(f"CREATE DATABASE run_{count} TEMPLATE imported")
            runs[count] = _send_together(publisher, site, {**pg, "PUBLISHER_DATABASE_URL": cluster.url(f"run_{count}")},
                                         count)
    finally:
        sink.stop()
        cluster.stop()
    return {"recipients": recipients, "sink": sink.name,
            "import_s": {"sqlite": sqlite_import.seconds, "postgres": pg_import.seconds},
            "import_peak_mb": {"sqlite": sqlite_import.peak_mb, "postgres": pg_import.peak_mb},
            "sqlite_1": _rates(sqlite_send, recipients),
            "postgres": {str(count): _rates(result, recipients) for count, result in runs.items()}}


def _send_together(publisher: list[str], site: Path, env: dict, count: int) -> tuple[float, list]:
    """Start `count` `publisher send news` processes at once; the wall time until the last ends, and each run."""
    results: list = [None] * count

    def one(n: int) -> None:
        results[n] = checked([*publisher, "--config", str(site), "send", "news"], env=env)
    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if any(result is None for result in results):
        raise RuntimeError("a sender failed; see its error above")
    return time.perf_counter() - started, results


def _rates(measured: tuple[float, list], recipients: int) -> dict:
    seconds, results = measured
    return {"processes": len(results), "wall_s": seconds, "messages_per_s": recipients / seconds,
            "peak_mb_each": [round(r.peak_mb, 1) for r in results]}


def rows(scale: dict) -> list[tuple[str, str, str]]:
    """The benchmark table's lines for this part."""
    if "skipped" in scale:
        return [("PostgreSQL scaling", f"skipped: {scale['skipped']}", "")]
    n = scale["recipients"]
    lines = [(f"import {n:,} subscribers", f"SQLite {scale['import_s']['sqlite']:.1f} s, PostgreSQL "
              f"{scale['import_s']['postgres']:.1f} s", "")]
    single = scale["sqlite_1"]
    lines.append((f"campaign {n:,}, SQLite, 1 sender", f"{single['messages_per_s']:,.0f} msg/s, peak "
                  f"{single['peak_mb_each'][0]:.0f} MB", ""))
    one = scale["postgres"]["1"]["messages_per_s"]
    for count, run in scale["postgres"].items():
        lines.append((f"campaign {n:,}, PostgreSQL, {count} sender{'s' if count != '1' else ''}",
                      f"{run['messages_per_s']:,.0f} msg/s (x{run['messages_per_s'] / one:.2f}), peak "
                      f"{max(run['peak_mb_each']):.0f} MB each", "scales with senders"))
    return lines
