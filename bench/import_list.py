"""The import benchmark: a Mailchimp-style subscribed export of many rows (every column Mailchimp writes, a
multi-line NOTES field now and then, a few bad rows and repeated addresses), imported with
`publisher subscribers import` into a fresh SQLite database, timed, with its peak memory."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from corpus import make_corpus
from measure import Run, run, summary

HEADER = ["Email Address", "First Name", "Last Name", "MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME",
          "CONFIRM_IP", "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF", "TIMEZONE", "CC", "REGION", "LAST_CHANGED",
          "LEID", "EUID", "NOTES"]
NAMES = ("Ann", "Bob", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jo", "Kim", "Lou", "Max", "Ned", "Zoë")


def mailchimp_file(path: Path, rows: int, seed: int = 7) -> Path:
    """Write a subscribed_members_export CSV of `rows` rows (1 in 1,000 bad, 1 in 500 a repeat)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(_row(rng, n))
    return path


def _row(rng: random.Random, n: int) -> list[str]:
    address = "not-an-address" if n % 1000 == 999 else f"reader{n // 2 if n % 500 == 1 else n:06d}@example.com"
    when = f"20{rng.randint(15, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:{rng.randint(0, 59):02d}:00"
    note = "Met at the fair\nasked for the monthly letter" if n % 200 == 0 else ""
    return [address, rng.choice(NAMES), rng.choice(NAMES) + "son", str(rng.randint(1, 5)), when, "203.0.113.5",
            when, "203.0.113.5", "51.5", "-0.12", "0", "1", "Europe/London", "GB", "ENG", when, str(n),
            f"{n:010x}", note]


def measure_import(work: Path, publisher: list[str], rows: int, runs: int) -> dict:
    """`publisher subscribers import` of the file into a fresh database, `runs` times, then once for memory."""
    site = make_corpus(work / "import-site", 1)
    export = mailchimp_file(work / "subscribed_members_export_bench.csv", rows)
    results = []
    for sample in [False] * runs + [True]:
        (site / "publisher.db").unlink(missing_ok=True)
        results.append(_import(publisher, site, export, sample))
    return {"rows": rows, "file_mb": round(export.stat().st_size / 1e6, 1),
            "seconds": summary([r.seconds for r in results[:-1]]), "peak_mb": results[-1].peak_mb,
            "last_output": results[-1].stdout.strip().splitlines()}


def _import(publisher: list[str], site: Path, export: Path, sample: bool) -> Run:
    """One import; exit code 1 is expected (the planted bad rows are reported), anything else is a failure."""
    result = run([*publisher, "--config", str(site), "subscribers", "import", str(export)], sample=sample)
    if result.returncode not in (0, 1) or "Imported " not in result.stdout:
        raise RuntimeError(f"the import failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result
