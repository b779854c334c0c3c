"""`make bench`: publisher's speed at scale, measured on this machine, with figures anyone can rerun.

Builds a seeded corpus of realistic posts in a temporary site and measures, each over several runs (median,
min-max) with peak memory: a clean full build at 1,000 and 4,000 posts (and Hugo's, on the same corpus, when
`hugo` is installed), a rebuild with nothing changed, a rebuild after editing one post (checked byte for byte
against a clean build), `publisher --help`, and a 10,000-recipient campaign sent with `publisher send` to an
SMTP sink on 127.0.0.1 (Postfix's smtp-sink when installed, else bench/smtp_sink.py), plus a campaign killed
midway and resumed, checked for lost messages, and `publisher subscribers import` of a 100,000-row
Mailchimp-style export into a fresh database. The largest site is built again with photos (bench/images.py):
with a cold image cache, a warm one, and nothing changed; and its home page and a post with a photo are
weighed as a 375 px phone loads them. Then (bench/scale.py) a 100,000-subscriber import into SQLite and
PostgreSQL and one campaign sent with SQLite and one sender, and with PostgreSQL and 1, 2 and 4 senders. Writes
bench-results/bench-<time>.json and prints a table. Nothing here asserts a time; the figures are for people to
read.

    .venv/bin/python bench/run.py [--posts 1000 4000] [--runs 5] [--recipients 10000] [--import-rows 100000]
                                  [--quick] [--only-scale]
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from corpus import make_corpus, paragraph  # noqa: E402
from hugo_site import make_hugo_site  # noqa: E402
from import_list import measure_import  # noqa: E402
from images import add_photos, clear_image_cache, page_weights, resized_files  # noqa: E402
from measure import checked, drop_tree, run, summary  # noqa: E402
from scale import measure_scale, rows as scale_rows  # noqa: E402

ROOT = BENCH.parent
SECRET = "bench-secret-key-0123456789abcdefghijklmnop"
TARGETS = {
    "full_build_4000_ratio_to_hugo": "<= 1.0", "full_build_4000_peak_mb": "<= 400",
    "rebuild_unchanged_4000_s": "<= 0.5", "rebuild_one_edit_4000_s": "<= 1.0", "help_s": "<= 0.150",
    "campaign_messages_per_s": ">= 1000", "campaign_peak_mb": "<= 200", "import_100000_rows_s": "<= 10",
    "images_rebuild_unchanged_s": "<= 0.5", "page_weight_375px_kb": "<= 300",
}
SITE_URL = "https://bench.example.com"


def publisher() -> list[str]:
    script = Path(sys.executable).with_name("publisher")
    return [str(script)] if script.exists() else [sys.executable, "-m", "publisher"]


def build(site: Path, *args: str, sample: bool = False):
    return checked([*publisher(), "--config", str(site), "build", *args], sample=sample)


def measure_builds(work: Path, posts: int, runs: int) -> dict:
    """Clean full builds (from an empty output folder), then rebuilds with nothing changed and with one edit;
    each kind timed over `runs` runs, then run once more for its peak memory."""
    site = make_corpus(work / f"site-{posts}", posts)
    full = []
    for sample in [False] * runs + [True]:
        drop_tree(site / "_site")
        full.append(build(site, "--clean", sample=sample))
    unchanged = [build(site, sample=sample) for sample in [False] * runs + [True]]
    edited = []
    for n, sample in enumerate([False] * runs + [True]):
        post = site / "posts" / f"post-{(posts // 2 + n * 7) % posts:05d}.md"
        with post.open("a", encoding="utf-8") as f:
            f.write(f"\nAn edited paragraph, number {n}, to see what a one-post change costs.\n")
        edited.append(build(site, sample=sample))
    (full, full_memory), (unchanged, unchanged_memory), (edited, edited_memory) = (
        (group[:-1], group[-1].peak_mb) for group in (full, unchanged, edited))
    reference = work / f"clean-{posts}"
    build(site, "--clean", "--out", str(reference))
    result = {
        "posts": posts,
        "full_build_s": summary([r.seconds for r in full]), "full_build_peak_mb": full_memory,
        "rebuild_unchanged_s": summary([r.seconds for r in unchanged]), "rebuild_unchanged_peak_mb": unchanged_memory,
        "rebuild_one_edit_s": summary([r.seconds for r in edited]), "rebuild_one_edit_peak_mb": edited_memory,
        "one_edit_identical_to_clean_build": same_tree(site / "_site", reference),
        "files": sum(1 for p in (site / "_site").rglob("*") if p.is_file()),
        "last_output": full[-1].stdout.strip(),
    }
    if shutil.which("hugo"):
        result["hugo"] = measure_hugo(site, work / f"hugo-{posts}", runs)
        result["ratio_to_hugo"] = result["full_build_s"]["median"] / result["hugo"]["full_build_s"]["median"]
    return result


def measure_images(work: Path, posts: int, photos: int, runs: int) -> dict:
    """The corpus with `photos` photos: one full build with no image cache (timed once: it is long), full
    builds with the cache warm, rebuilds with nothing changed, and the page weights at 375 px."""
    site = make_corpus(work / f"site-images-{posts}", posts)
    shown = add_photos(site, photos)
    clear_image_cache(site)
    cold = build(site, "--clean")
    warm = []
    for _ in range(runs):
        drop_tree(site / "_site")
        warm.append(build(site, "--clean"))
    unchanged = [build(site) for _ in range(runs)]
    weights = page_weights(site / "_site", SITE_URL, ["", f"posts/{shown[0]}/"])
    return {"posts": posts, "photos": photos, "photo_size": "1600x1067 PNG",
            "full_build_cold_image_cache_s": cold.seconds, "image_files_made_cold": resized_files(cold.stdout),
            "full_build_warm_image_cache_s": summary([r.seconds for r in warm]),
            "image_files_made_warm": max(resized_files(r.stdout) for r in warm),
            "rebuild_unchanged_s": summary([r.seconds for r in unchanged]),
            "page_weight_375px": {path or "/": w for path, w in weights.items()}}


def measure_hugo(corpus: Path, dest: Path, runs: int) -> dict:
    make_hugo_site(corpus, dest)
    times = []
    for sample in [False] * runs + [True]:
        drop_tree(dest / "public")
        drop_tree(dest / "resources")
        times.append(checked(["hugo", "--quiet", "--source", str(dest)], sample=sample))
    version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
    return {"version": version, "full_build_s": summary([r.seconds for r in times[:-1]]),
            "full_build_peak_mb": times[-1].peak_mb,
            "files": sum(1 for p in (dest / "public").rglob("*") if p.is_file())}


def same_tree(left: Path, right: Path) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    files = {p.relative_to(left) for p in left.rglob("*") if p.is_file()}
    if files != {p.relative_to(right) for p in right.rglob("*") if p.is_file()}:
        return False
    return all(filecmp.cmp(left / f, right / f, shallow=False) for f in files)


def measure_help(runs: int) -> dict:
    times = [checked([*publisher(), "--help"], sample=False) for _ in range(runs)]
    return {"help_s": summary([r.seconds for r in times])}


class Sink:
    """An SMTP sink on 127.0.0.1: Postfix's smtp-sink if installed (unless `own`), else bench/smtp_sink.py."""

    def __init__(self, work: Path, own: bool = False, record: Path | None = None):
        self.port = free_port()
        smtp_sink = shutil.which("smtp-sink", path=os.environ.get("PATH", "") + ":/usr/sbin")
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
    config += (f'\n[newsletter]\nfrom_name = "Bench Author"\nfrom_address = "news@bench.example.com"\n'
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
    """`publisher send` of a 10,000-recipient campaign to the sink, each run with a fresh store."""
    sink = Sink(work)
    try:
        results = []
        for n in range(runs):
            site, slug = campaign_site(work, f"campaign-{n}", sink.port, recipients)
            os.sync()
            result = checked([*publisher(), "--config", str(site), "send", slug], env=send_env())
            results.append((result, sent_seconds(result.stdout), delivery_counts(site)))
    finally:
        sink.stop()
    size = message_size(site, slug)
    return {
        "sink": sink.name, "recipients": recipients, "message_bytes": size,
        "messages_per_s": summary([recipients / seconds for _, seconds, _ in results]),
        "wall_s": summary([r.seconds for r, _, _ in results]),
        "peak_mb": summary([r.peak_mb for r, _, _ in results]),
        "all_recorded_sent": all(c == {"sent": recipients} for _, _, c in results),
    }


def sent_seconds(output: str) -> float:
    """The sending time `publisher send` reports ('... in 9.53 s (1,049 messages/s)')."""
    line = [ln for ln in output.splitlines() if "messages/s" in ln][-1]
    return float(line.rsplit(" in ", 1)[1].split(" s", 1)[0])


def delivery_counts(site: Path) -> dict[str, int]:
    with sqlite3.connect(site / "publisher.db") as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status").fetchall())


def message_size(site: Path, slug: str) -> int:
    out = site / "one.eml"
    checked([*publisher(), "--config", str(site), "email", slug, "--to", "reader00001@bench.example.com",
             "--name", "Reader 1", "-o", str(out)], env=send_env())
    return out.stat().st_size


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


def table(results: dict) -> str:
    rows = [("measure (median, min-max)", "measured", "target")]
    big = results["builds"][-1] if results.get("builds") else None
    for b in results.get("builds", []):
        hugo = b.get("hugo")
        rows.append((f"full build, {b['posts']:,} posts",
                     f"{fmt(b['full_build_s'])}, peak {b['full_build_peak_mb']:.0f} MB",
                     "ratio <= 1.0, <= 400 MB" if b is big else ""))
        if hugo:
            rows.append(("  Hugo, same corpus",
                         f"{fmt(hugo['full_build_s'])}, peak {hugo['full_build_peak_mb']:.0f} MB; "
                         f"ratio {b['ratio_to_hugo']:.2f}", ""))
        rows.append((f"rebuild, nothing changed, {b['posts']:,}", fmt(b["rebuild_unchanged_s"]),
                     "<= 0.5 s" if b is big else ""))
        rows.append((f"rebuild, one post edited, {b['posts']:,}", f"{fmt(b['rebuild_one_edit_s'])}, identical: "
                     f"{b['one_edit_identical_to_clean_build']}", "<= 1.0 s" if b is big else ""))
    if "help" in results:
        rows.append(("publisher --help", fmt(results["help"]["help_s"], ms=True), "<= 150 ms"))
    if "campaign" in results:
        c = results["campaign"]
        rate = c["messages_per_s"]
        rows.append((f"campaign, {c['recipients']:,} x {c['message_bytes'] / 1000:.0f} KB ({c['sink']})",
                     f"{rate['median']:,.0f} msg/s ({rate['min']:,.0f}-{rate['max']:,.0f}), "
                     f"peak {c['peak_mb']['median']:.0f} MB",
                     ">= 1,000 msg/s, <= 200 MB"))
    if "kill" in results:
        k = results["kill"]
        rows.append(("campaign killed midway, resumed", f"missing {k['recipients_missing']}, duplicates "
                     f"{k['duplicates_received']} (reported {k['possible_duplicates_reported']})", "nothing lost"))
    if "import" in results:
        i = results["import"]
        rows.append((f"subscribers import, {i['rows']:,}-row Mailchimp export", f"{fmt(i['seconds'])}, peak "
                     f"{i['peak_mb']:.0f} MB", "<= 10 s"))
    if "images" in results:
        rows += image_rows(results["images"])
    if "scale" in results:
        rows += scale_rows(results["scale"])
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, width)).rstrip() for row in rows)


def image_rows(i: dict) -> list[tuple[str, str, str]]:
    rows = [(f"full build, {i['posts']:,} posts + {i['photos']} photos, cold image cache",
             f"{i['full_build_cold_image_cache_s']:.2f} s ({i['image_files_made_cold']:,} image files made)", ""),
            ("  the same, warm image cache", f"{fmt(i['full_build_warm_image_cache_s'])} "
             f"({i['image_files_made_warm']} made)", ""),
            (f"rebuild, nothing changed, {i['posts']:,} + photos", fmt(i["rebuild_unchanged_s"]), "<= 0.5 s")]
    for path, weight in i["page_weight_375px"].items():
        rows.append((f"page weight at 375 px, {path}", f"{weight['bytes'] / 1000:.0f} KB in "
                     f"{len(weight['files'])} files", "<= 300 KB"))
    return rows


def fmt(s: dict, ms: bool = False) -> str:
    if ms:
        return f"{s['median'] * 1000:.0f} ms ({s['min'] * 1000:.0f}-{s['max'] * 1000:.0f})"
    return f"{s['median']:.2f} s ({s['min']:.2f}-{s['max']:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--campaign-runs", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=400, help="photos in the image build (one per 10 posts)")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary sites go (default: system temp)")
    parser.add_argument("--scale-recipients", type=int, default=100_000,
                        help="subscribers for the SQLite/PostgreSQL import and 1-2-4 sender comparison")
    parser.add_argument("--only-scale", action="store_true", help="measure only the SQLite/PostgreSQL comparison")
    parser.add_argument("--quick", action="store_true", help="200 posts, 2 runs, 1,000 recipients: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.posts, args.runs, args.recipients, args.campaign_runs, args.import_rows, args.photos = (
            [200], 2, 1000, 1, 10_000, 20)
        args.scale_recipients = 2_000
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)  # as installed
    work = Path(tempfile.mkdtemp(prefix="publisher-bench-", dir=args.dir))
    started = dt.datetime.now(dt.UTC)
    try:
        results = {"started": started.isoformat(timespec="seconds"), "machine": machine(work), "targets": TARGETS}
        if not args.only_scale:
            results.update({
                "builds": [measure_builds(work, n, args.runs) for n in args.posts],
                "help": measure_help(max(args.runs, 10)),
                "campaign": measure_campaign(work, args.recipients, args.campaign_runs),
                "kill": measure_kill_and_resume(work, args.recipients),
                "import": measure_import(work, publisher(), args.import_rows, args.runs),
                "images": measure_images(work, args.posts[-1], args.photos, args.runs),
            })
        results["scale"] = measure_scale(work, args.scale_recipients, publisher(), Sink, SECRET)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = ROOT / "bench-results" / f"bench-{started:%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nFigures written to {out.relative_to(ROOT)}")


def machine(work: Path) -> dict:
    fs = subprocess.run(["df", "-T", str(work)], capture_output=True, text=True).stdout.splitlines()[-1].split()[1]
    return {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg(), "python": platform.python_version(),
            "platform": platform.platform(), "work_dir": str(work), "filesystem": fs,
            "peak_memory": "largest sum of PSS over the process tree, sampled every 10 ms "
                           "(for builds, in a run of its own)",
            "bytecode": "compiled before measuring (compileall), as an installed package is"}


if __name__ == "__main__":
    main()
