"""The image part of `make bench`: a corpus site given photos (PNG, made with Pillow, seeded), built with a cold
image cache, then a warm one, then rebuilt with nothing changed; and the weight of the home page and of a post
with a photo as a phone loads them (375 px wide, headless Chromium): HTML, CSS and the images it fetched.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image

PHOTO_SIZE = (1600, 1067)
PHONE = {"width": 375, "height": 812}


def add_photos(site: Path, count: int, seed: int = 2) -> list[str]:
    """`count` photos in static/images, one shown in every tenth post (at its second paragraph); returns the
    slugs of the posts that show one."""
    rng = random.Random(seed)
    images = site / "static" / "images"
    posts = sorted((site / "posts").glob("*.md"))
    shown = []
    for n in range(count):
        Image.effect_noise((80, 54), 40 + rng.random() * 40).convert("RGB").resize(
            PHOTO_SIZE, Image.Resampling.BICUBIC).save(images / f"photo-{n}.png")
        post = posts[(n * 10) % len(posts)]
        text = post.read_text(encoding="utf-8")
        head, _, body = text.partition("\n---\n\n")
        post.write_text(f"{head}\n---\n\n![Photo {n}, a treatment room](/images/photo-{n}.png)\n\n{body}",
                        encoding="utf-8")
        shown.append(re.search(r"^slug: (\S+)$", head, re.M)[1])
    return shown


def clear_image_cache(site: Path) -> None:
    shutil.rmtree(site / ".publisher-cache" / "images", ignore_errors=True)


def resized_files(output: str) -> int:
    found = re.search(r"Resized images into ([\d,]+) new file", output)
    return int(found[1].replace(",", "")) if found else 0


def page_weights(out_dir: Path, site_url: str, paths: list[str]) -> dict[str, dict]:
    """Bytes a 375 px wide Chromium loads for each page (its HTML, CSS and the images it chose), answered from
    the output folder; anything not on the site is refused."""
    from playwright.sync_api import sync_playwright

    weights = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True)
        for path in paths:
            context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True)
            loaded: dict[str, int] = {}
            context.route("**/*", lambda route: _answer(route, out_dir, site_url, loaded))
            page = context.new_page()
            page.goto(f"{site_url}/{path}", wait_until="load")
            page.evaluate("window.scrollTo(0, 0)")
            weights[path] = {"bytes": sum(loaded.values()), "files": loaded}
            context.close()
        browser.close()
    return weights


def _answer(route, out_dir: Path, site_url: str, loaded: dict[str, int]) -> None:
    url = route.request.url
    if not url.startswith(site_url + "/"):
        route.abort("blockedbyclient")
        return
    path = unquote(urlsplit(url).path).lstrip("/")
    target = out_dir / path
    if target.is_dir() or not path:
        target = target / "index.html"
    if not target.is_file():
        route.fulfill(status=404, body="")
        return
    body = target.read_bytes()
    loaded[path or "index.html"] = len(body)
    route.fulfill(status=200, body=body, content_type=_type(target.suffix))


def _type(suffix: str) -> str:
    return {".html": "text/html; charset=utf-8", ".css": "text/css", ".png": "image/png", ".jpg": "image/jpeg",
            ".webp": "image/webp", ".svg": "image/svg+xml"}.get(suffix, "application/octet-stream")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    raise RuntimeError("no chromium on PATH (apt-get install chromium) for the page weight")
