"""The resized images in a real headless Chromium: a phone loads a small WebP copy at the size the page said,
a desktop a larger one, and the page does not scroll sideways."""

import functools
import http.server
import threading

import pytest
from PIL import Image

from ..fixtures_browser import horizontal_overflow
from ..fixtures_site import BOOKING_TOML, post_text
from ..fixtures_smtp import free_port


@pytest.fixture
def served(site_dir):
    """A post with a 1,600 px hero and a body photo, built and served over HTTP on 127.0.0.1."""
    port = free_port()
    site_dir.config(f'[site]\ntitle = "Massage in York"\nurl = "http://127.0.0.1:{port}"\n' + BOOKING_TOML)
    images = site_dir.root / "static" / "images"
    images.mkdir(parents=True)
    Image.new("RGB", (1600, 900), (30, 120, 90)).save(images / "hero.png")
    Image.new("RGB", (1600, 1200), (120, 30, 90)).save(images / "room.jpg")
    site_dir.post("a.md", post_text("Massage at home", "2024-03-12", "Intro.\n\n![The treatment room](/images/room.jpg)\n",
                                    image="/images/hero.png", image_alt="A therapist at work"))
    assert site_dir.run("build").exit_code == 0
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir.out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.parametrize(("width", "wanted"), [(375, "hero-480w.webp"), (1280, "hero-800w.webp")])
def test_the_browser_loads_the_webp_copy_that_fits(browser_page, served, width, wanted):
    page = browser_page(width=width)
    assert page.goto(served + "/posts/a/").status == 200
    page.wait_for_load_state("load")
    hero = page.locator("img.hero")
    assert hero.evaluate("img => img.currentSrc").endswith("/images/" + wanted)
    shown = hero.evaluate("img => [img.getBoundingClientRect().width, img.getBoundingClientRect().height]")
    assert shown[0] <= width and abs(shown[1] - shown[0] * 900 / 1600) < 1  # the file's shape, reserved at once
    room = page.locator("img[alt='The treatment room']")
    assert room.get_attribute("loading") == "lazy" and room.get_attribute("width") == "1600"
    assert horizontal_overflow(page) <= 0
