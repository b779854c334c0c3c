"""`make bench`: publisher's speed at scale, measured on this machine, with figures anyone can rerun.

Builds a seeded corpus of realistic posts in a temporary site and measures, each over several runs (median,
min-max) with peak memory: a clean full build at 1,000 and 4,000 posts (and Hugo's, on the same corpus, when
`hugo` is installed), a rebuild with nothing changed, a rebuild after editing one post (checked byte for byte
against a clean build), `publisher --help`, and a 10,000-recipient campaign sent with `publisher send` to an
SMTP sink on 127.0.0.1 (Postfix's smtp-sink when installed, else bench/smtp_sink.py) beside Postfix's
`smtp-source` sending the same message as often in one session, plus a campaign killed midway and resumed,
checked for lost messages, and `publisher subscribers import` of a 100,000-row Mailchimp-style export into a
fresh database. `--large` adds clean full builds of 40,000 posts (publisher's and Hugo's). The 4,000-post site
is built again with photos (bench/images.py): with a cold image cache, a warm one, and nothing changed; and its
home page and a post with a photo are weighed as a 375 px phone loads them. Then (bench/scale.py) a
100,000-subscriber import into SQLite and PostgreSQL and one campaign sent with SQLite and one sender, and with
PostgreSQL and 1, 2 and 4 senders. Writes bench-results/bench-<time>.json and prints a table with every figure beside its target (bench/report.py).
Nothing here asserts a time; the figures are for people to read.

    .venv/bin/python bench/run.py [--posts 1000 4000] [--runs 5] [--recipients 10000] [--import-rows 100000]
                                  [--large] [--only PART...] [--only-scale] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from campaign import SECRET, Sink, measure_campaign, measure_kill_and_resume  # noqa: E402
from corpus import make_corpus  # noqa: E402
from hugo_site import make_hugo_site  # noqa: E402
from images import add_photos, clear_image_cache, page_weights, resized_files  # noqa: E402
from import_list import measure_import  # noqa: E402
from measure import checked, drop_tree, publisher, summary  # noqa: E402
from report import TARGETS, table  # noqa: E402
from scale import measure_scale  # noqa: E402

ROOT = BENCH.parent
LARGE = 40_000
PARTS = ["builds", "help", "large", "campaign", "kill", "import", "images", "scale"]
SITE_URL = "https://bench.example.com"


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


def measure_large(work: Path, posts: int, runs: int) -> dict:
    """Clean full builds of a large site (and Hugo's of the same corpus): does it finish, how fast, how much
    memory."""
    site = make_corpus(work / f"site-{posts}", posts)
    full = []
    for sample in [False] * runs + [True]:
        drop_tree(site / "_site")
        full.append(build(site, "--clean", sample=sample))
    result = {"posts": posts, "full_build_s": summary([r.seconds for r in full[:-1]]),
              "full_build_peak_mb": full[-1].peak_mb, "last_output": full[-1].stdout.strip()}
    if shutil.which("hugo"):
        result["hugo"] = measure_hugo(site, work / f"hugo-{posts}", runs)
        result["ratio_to_hugo"] = result["full_build_s"]["median"] / result["hugo"]["full_build_s"]["median"]
    drop_tree(site)
    drop_tree(work / f"hugo-{posts}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--campaign-runs", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--photos", type=int, default=400, help="photos in the image build (one per 10 posts)")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary sites go (default: system temp)")
    parser.add_argument("--large", action="store_true", help=f"also clean full builds of {LARGE:,} posts")
    parser.add_argument("--scale-recipients", type=int, default=100_000,
                        help="subscribers for the SQLite/PostgreSQL import and 1-2-4 sender comparison")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=PARTS, help="measure only these parts")
    parser.add_argument("--only-scale", action="store_true", help="measure only the SQLite/PostgreSQL comparison")
    parser.add_argument("--quick", action="store_true", help="200 posts, 2 runs, 1,000 recipients: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.posts, args.runs, args.recipients, args.campaign_runs, args.import_rows, args.photos = (
            [200], 2, 1000, 1, 10_000, 20)
        args.large, args.scale_recipients = False, 2_000
    if args.only_scale:
        args.only = ["scale"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)  # as installed
    work = Path(tempfile.mkdtemp(prefix="publisher-bench-", dir=args.dir))
    started = dt.datetime.now(dt.UTC)
    try:
        measures = {
            "builds": lambda: [measure_builds(work, n, args.runs) for n in args.posts],
            "help": lambda: measure_help(max(args.runs, 10)),
            "large": lambda: measure_large(work, LARGE, args.runs),
            "campaign": lambda: measure_campaign(work, args.recipients, args.campaign_runs),
            "kill": lambda: measure_kill_and_resume(work, args.recipients),
            "import": lambda: measure_import(work, publisher(), args.import_rows, args.runs),
            "images": lambda: measure_images(work, args.posts[-1], args.photos, args.runs),
            "scale": lambda: measure_scale(work, args.scale_recipients, publisher(), Sink, SECRET),
        }
        wanted = [part for part in args.only if part != "large" or args.large]
        results = {"started": started.isoformat(timespec="seconds"), "machine": machine(work),
                   **{part: measures[part]() for part in PARTS if part in wanted}, "targets": TARGETS}
        results["machine"]["load_average_at_end"] = os.getloadavg()
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
