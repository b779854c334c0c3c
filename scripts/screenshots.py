"""Screenshots of the real site for the README: the home page, a post and its newsletter, at phone (375 px) and
desktop (1280 px) width, taken in headless Chromium from a fresh build, so they always show the current theme.

    make screenshots        # or: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

The site is built into a temporary folder and opened at its own URL, every request answered from that folder
(nothing leaves the machine). Each PNG is reduced to 256 colours, which keeps it to a few tens of kilobytes.
"""

from __future__ import annotations

import argparse
import mimetypes
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Route, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.browser_check import find_chromium  # noqa: E402  (the one place that knows where Chromium is)

SITE_URL = "https://massageinyork.co.uk"
POST = "posts/sciatica-and-lower-back-pain/"
SHOTS = {"home": "", "post": POST, "newsletter": "newsletter/sciatica-and-lower-back-pain/"}
WIDTHS = {"phone": (375, 812), "desktop": (1280, 900)}


def build(out: Path) -> None:
    """The repository's site, built as it would be published."""
    command = [sys.executable, "-m", "publisher", "--config", str(REPO), "build", "--out", str(out), "--clean"]
    subprocess.run(command, check=True, env={"PUBLISHER_NOW": "2999-01-01T00:00:00", "PATH": ""})


def serve_from(folder: Path):
    """A route handler answering the site's URLs from the built folder, and refusing everything else."""
    def handle(route: Route) -> None:
        url = route.request.url
        if not url.startswith(SITE_URL + "/"):
            return route.abort("blockedbyclient")
        path = folder / url[len(SITE_URL) + 1:].split("?")[0].split("#")[0]
        path = path / "index.html" if path.is_dir() else path
        if not path.is_file():
            return route.fulfill(status=404, path=folder / "404.html")
        route.fulfill(path=path, content_type=mimetypes.guess_type(path.name)[0] or "text/html")
    return handle


def optimise(png: Path) -> None:
    """256 colours instead of millions: the screenshots stay sharp and small."""
    with Image.open(png) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)


def take(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    taken = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        site = Path(tmp) / "site"
        build(site)
        browser = playwright.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
        for device, (width, height) in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
            context.route("**/*", serve_from(site))
            page = context.new_page()
            for name, path in SHOTS.items():
                page.goto(f"{SITE_URL}/{path}")
                png = out_dir / f"{name}-{device}.png"
                page.screenshot(path=png)
                optimise(png)
                taken.append(png)
            context.close()
        browser.close()
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    for png in take(parser.parse_args().out):
        print(f"{png.relative_to(REPO) if png.is_relative_to(REPO) else png}: {png.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
