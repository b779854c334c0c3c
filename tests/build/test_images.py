"""Images that fit the screen, through the real `publisher build`: real PNG and JPEG files made with Pillow,
resized copies on disk with the right pixel sizes, pages whose every <img> has width, height and srcset, the
newsletter's copy, and a rebuild that does no image work."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.content.posts import parse_post
from publisher.mail.newsletter import compile_newsletter

from ..fixtures_site import post_text

BODY = "Intro.\n\n![A stretch for the lower back](/images/stretch.jpg)\n\nMore.\n\n![A tiny icon](/images/icon.png)\n"


def make_image(path: Path, size: tuple[int, int], fmt: str, colour=(30, 120, 90)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, fmt)
    return path


def images_site(site_dir):
    static = site_dir.root / "static" / "images"
    make_image(static / "hero.png", (1600, 900), "PNG")
    make_image(static / "stretch.jpg", (1000, 750), "JPEG")
    make_image(static / "icon.png", (300, 200), "PNG")
    site_dir.post("p.md", post_text("Stretches", "2024-05-03", body=BODY, image="/images/hero.png",
                                    image_alt="A therapist at work"))
    return static


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[dict] = []
        self.sources: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        elif tag == "source":
            self.sources.append(dict(attrs))


def parsed(page: str) -> _Images:
    parser = _Images()
    parser.feed(page)
    return parser


def pixels(path: Path) -> tuple[str, tuple[int, int]]:
    with Image.open(path) as image:
        return image.format, image.size


def test_copies_are_written_at_a_few_widths_as_the_original_format_and_webp_never_upscaled(site_dir):
    images_site(site_dir)
    result = site_dir.run("build")
    assert result.exit_code == 0, result.output
    out = site_dir.out / "images"
    for width in (480, 800, 1200):
        assert pixels(out / f"hero-{width}w.png") == ("PNG", (width, round(900 * width / 1600)))
        assert pixels(out / f"hero-{width}w.webp") == ("WEBP", (width, round(900 * width / 1600)))
    assert not list(out.glob("hero-1600w.*"))
    assert sorted(p.name for p in out.glob("stretch-*")) == [
        "stretch-1000w.jpg", "stretch-1000w.webp", "stretch-480w.jpg", "stretch-480w.webp", "stretch-800w.jpg",
        "stretch-800w.webp", "stretch-email.jpg"]
    assert pixels(out / "stretch-480w.jpg") == ("JPEG", (480, 360))
    assert sorted(p.name for p in out.glob("icon-*")) == ["icon-300w.png", "icon-300w.webp", "icon-email.png"]
    assert pixels(out / "hero.png") == ("PNG", (1600, 900))  # the original is still there
    assert "Resized images into 14 new files" in result.output  # the email copies are among them


def test_every_img_of_a_post_has_width_height_and_srcset_and_only_the_first_loads_at_once(site_dir):
    images_site(site_dir)
    site_dir.run("build")
    page = parsed(site_dir.read("posts/p/index.html"))
    hero, stretch, icon = page.imgs
    assert (hero["width"], hero["height"], hero["alt"]) == ("1600", "900", "A therapist at work")
    assert hero["srcset"] == ", ".join(f"https://example.com/images/hero-{w}w.png {w}w" for w in (480, 800, 1200))
    assert hero["src"] == "https://example.com/images/hero.png" and "sizes" in hero
    assert "loading" not in hero
    assert (stretch["width"], stretch["height"], stretch["alt"]) == ("1000", "750", "A stretch for the lower back")
    assert stretch["loading"] == "lazy" and icon["loading"] == "lazy"
    assert (icon["width"], icon["height"]) == ("300", "200")
    assert [s["type"] for s in page.sources] == ["image/webp"] * 3
    assert page.sources[0]["srcset"].endswith("https://example.com/images/hero-1200w.webp 1200w")


def test_the_newsletter_gets_a_png_or_jpeg_at_most_1200_px_wide_and_no_webp(site_dir):
    images_site(site_dir)
    site_dir.run("build")
    web_version = site_dir.read("newsletter/p/index.html")
    assert ".webp" not in web_version and "srcset" not in web_version
    sources = [img["src"] for img in parsed(web_version).imgs if "/images/" in img["src"]]
    assert sources == ["https://example.com/images/hero-email.png", "https://example.com/images/stretch-email.jpg",
                       "https://example.com/images/icon-email.png"]
    assert pixels(site_dir.out / "images/hero-email.png") == ("PNG", (1200, 675))
    assert pixels(site_dir.out / "images/stretch-email.jpg") == ("JPEG", (1000, 750))
    config = load_config(site_dir.root / "publisher.toml", env={})
    path = site_dir.posts / "p.md"
    post = parse_post(path, path.read_text(encoding="utf-8"), config.site.url, config.tz).post
    html = compile_newsletter(post, config, make_env()).html
    assert 'src="https://example.com/images/hero-email.png"' in html and ".webp" not in html
    assert re.search(r'<img[^>]*hero-email\.png[^>]*width="600"', html)


def test_a_rebuild_with_no_image_changed_does_no_image_work(site_dir):
    images_site(site_dir)
    site_dir.run("build")
    cache = site_dir.root / ".publisher-cache" / "images"
    before = {p: p.stat().st_mtime_ns for p in (*cache.rglob("*.png"), *cache.rglob("*.webp"), *cache.rglob("*.jpg"))}
    outputs = {p: p.stat().st_mtime_ns for p in (site_dir.out / "images").iterdir()}
    site_dir.post("q.md", post_text("Another", "2024-05-04"))
    again = site_dir.run("build")
    assert again.exit_code == 0 and "Resized" not in again.output
    assert {p: p.stat().st_mtime_ns for p in before} == before and len(before) == 14 + 17  # copies by content, and by name
    assert {p: p.stat().st_mtime_ns for p in (site_dir.out / "images").iterdir()} == outputs


def test_a_changed_image_is_resized_again_and_a_removed_one_leaves_no_copies(site_dir):
    static = images_site(site_dir)
    site_dir.run("build")
    make_image(static / "stretch.jpg", (2000, 1000), "JPEG", colour=(200, 10, 10))
    (static / "icon.png").unlink()
    site_dir.post("p.md", post_text("Stretches", "2024-05-03", body=BODY.replace("![A tiny icon](/images/icon.png)", ""),
                                    image="/images/hero.png", image_alt="A therapist at work"))
    result = site_dir.run("build")
    assert "Resized images into 6 new files" in result.output
    assert pixels(site_dir.out / "images/stretch-1200w.jpg") == ("JPEG", (1200, 600))
    assert not list((site_dir.out / "images").glob("stretch-1000w.*"))
    assert not list((site_dir.out / "images").glob("icon*"))
    stretch = parsed(site_dir.read("posts/p/index.html")).imgs[1]
    assert (stretch["width"], stretch["height"]) == ("2000", "1000")


def test_a_broken_image_in_a_post_is_one_clear_error_naming_the_post_and_the_file(site_dir):
    static = images_site(site_dir)
    (static / "stretch.jpg").write_bytes(b"not really a JPEG")
    result = site_dir.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ") and "posts/p.md" in line and "static/images/stretch.jpg" in line
    assert "replace it with a PNG or JPEG file" in line
    checked = site_dir.run("check")
    assert checked.exit_code == 1 and "posts/p.md" in checked.output and "static/images/stretch.jpg" in checked.output



def test_a_broken_image_on_a_page_is_the_same_clear_error_in_build_and_check(site_dir):
    static = images_site(site_dir)
    (static / "team.jpg").write_bytes(b"not really a JPEG")
    (site_dir.root / "pages").mkdir()
    (site_dir.root / "pages" / "about.md").write_text("---\ntitle: About\n---\n![The team](/images/team.jpg)\n")
    for command in ("build", "check"):
        result = site_dir.run(command)
        assert result.exit_code == 1 and "Traceback" not in result.output, command
        assert "pages/about.md" in result.output and "static/images/team.jpg" in result.output, command

def test_a_broken_image_no_page_shows_is_copied_as_it_is(site_dir):
    images_site(site_dir)
    (site_dir.root / "static" / "images" / "unused.png").write_bytes(b"not a PNG")
    result = site_dir.run("build")
    assert result.exit_code == 0, result.output
    assert (site_dir.out / "images" / "unused.png").read_bytes() == b"not a PNG"


def test_a_phone_photo_taken_sideways_is_measured_and_resized_as_browsers_show_it(site_dir):
    static = site_dir.root / "static" / "images"
    static.mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 1600 x 900, shown turned a quarter: 900 x 1600
    Image.new("RGB", (1600, 900), (30, 120, 90)).save(static / "portrait.jpg", "JPEG", exif=exif)
    site_dir.post("p.md", post_text("Portrait", "2024-05-03", body="![The therapist](/images/portrait.jpg)"))
    assert site_dir.run("build").exit_code == 0
    [img] = parsed(site_dir.read("posts/p/index.html")).imgs
    assert (img["width"], img["height"]) == ("900", "1600")
    assert pixels(site_dir.out / "images/portrait-480w.jpg") == ("JPEG", (480, 853))
    assert pixels(site_dir.out / "images/portrait-800w.webp") == ("WEBP", (800, 1422))


def test_a_clean_build_remakes_copies_missing_from_the_cache(site_dir):
    images_site(site_dir)
    site_dir.run("build")
    cache = site_dir.root / ".publisher-cache" / "images"
    for copy in cache.rglob("hero-480w.*"):
        copy.unlink()
    for copy in (cache / "content").iterdir():
        if copy.suffix == ".webp":
            copy.unlink()
    result = site_dir.run("build", "--clean")
    assert "Resized images into 7 new files" in result.output  # the WebP copies of the three images
    assert pixels(site_dir.out / "images/hero-480w.webp") == ("WEBP", (480, 270))
    assert pixels(site_dir.out / "images/hero-480w.png") == ("PNG", (480, 270))
