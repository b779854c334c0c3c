"""A deterministic corpus of realistic posts for the benchmark: same seed, same site, byte for byte."""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

WORDS = (
    "muscle tension massage therapy pain relief posture hip lower back glutes hamstrings stretch sitting "
    "nerve spine joint inflammation recovery strength movement blood flow tissue sports deep treatment "
    "therapist session chronic acute injury balance pelvis shoulder neck knee foot running walking desk "
    "work habit breathing sleep stress exercise routine weekly gentle pressure release tight weak strong"
).split()
DAILY_UNTIL = 16 * 336  # posts a day on the 1st-28th from 2010 stay before 2026
TAGS = ("sciatica", "lower back pain", "sports massage", "deep tissue", "posture", "running", "desk work",
        "stretching", "recovery", "neck pain", "shoulders", "swedish massage")

CONFIG = """\
[site]
title = "Benchmark Massage"
url = "https://bench.example.com"
author = "Bench Author"
language = "en-GB"
timezone = "Europe/London"
address = "York, United Kingdom"

[booking]
heading = "Book a mobile massage"
text = "Mobile massage in York: sports, deep tissue and Swedish massage."
phone = "07713 250352"
country_code = "44"
email = "bench@bench.example.com"
url = "https://bench.example.com/booking/"
button = "Book a massage"
services = ["Sports massage", "Deep tissue massage", "Swedish massage"]
"""


PAGES = {  # the pages a business site has besides its articles; [booking] url leads to the booking page
    "about.md": "---\ntitle: About\nnav: 1\n---\n\nA mobile massage therapist in York.\n",
    "booking.md": "---\ntitle: Book a massage\nlayout: booking\n---\n\nTell me when suits you.\n",
}


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, i: int) -> str:
    text = " ".join(sentence(rng, rng.randint(10, 20)) for _ in range(rng.randint(3, 6)))
    if rng.random() < 0.5:
        text += f" See [an earlier article](/posts/post-{max(i - 1, 0):05d}/) or [the NHS](https://www.nhs.uk/)."
    return text


def post(rng: random.Random, i: int, count: int = 0) -> str:
    """About 800 words: headings, paragraphs, a list, a figure, a footnote and tags."""
    date = post_date(i, count)
    tags = rng.sample(TAGS, 3)
    parts = [paragraph(rng, i) for _ in range(2)]
    for h in range(3):
        parts.append(f"## {sentence(rng, 4)[:-1]}")
        parts += [paragraph(rng, i) for _ in range(3)]
        if h == 1:
            parts.append("\n".join(f"- {sentence(rng, 6)}" for _ in range(4)))
    parts.insert(3, f'![A diagram of the {rng.choice(WORDS)}](/images/fig-{i % 50}.svg "{sentence(rng, 7)}")')
    parts.append("A point worth a source[^1].\n\n[^1]: A reference for the benchmark.")
    front = (f'---\ntitle: "{sentence(rng, 6)[:-1]} {i}"\ndate: {date:%Y-%m-%d %H:%M:%S}\n'
             f'summary: "{sentence(rng, 20)}"\ntags: [{", ".join(tags)}]\nslug: post-{i:05d}\n---\n\n')
    return front + "\n\n".join(parts) + "\n"


def post_date(i: int, count: int) -> dt.datetime:
    """One post a day (the 1st to the 28th of each month) from 2010; a corpus too big for that to stay in the
    past is spread evenly from 2010 to 2025 instead, so that every post is published."""
    if count <= DAILY_UNTIL:
        return dt.datetime(2010 + i // 336, 1 + (i // 28) % 12, 1 + i % 28, 9)
    return dt.datetime(2010, 1, 1, 9) + (dt.datetime(2025, 12, 31) - dt.datetime(2010, 1, 1)) * i / count


def make_corpus(root: Path, count: int, seed: int = 1) -> Path:
    """Write a site with `count` posts under `root`; returns root."""
    rng = random.Random(seed)
    (root / "posts").mkdir(parents=True, exist_ok=True)
    (root / "publisher.toml").write_text(CONFIG, encoding="utf-8")
    for i in range(count):
        (root / "posts" / f"post-{i:05d}.md").write_text(post(rng, i, count), encoding="utf-8")
    (root / "pages").mkdir(exist_ok=True)
    for name, text in PAGES.items():
        (root / "pages" / name).write_text(text, encoding="utf-8")
    images = root / "static" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for n in range(50):
        (images / f"fig-{n}.svg").write_text(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="400"><title>Figure {n}</title>'
            f'<rect width="800" height="400" fill="#e9e4d8"/></svg>\n', encoding="utf-8")
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    make_corpus(args.root, args.posts, args.seed)
