"""Incremental builds through the CLI: after any change, a plain `build` leaves exactly the files a clean build
writes, renders and writes only what changed, and `--clean` ignores the cache."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, SiteDir, post_text

TAGS = ("[sciatica, running]", "[running]", "[posture, sciatica]")


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def written(result) -> int:
    return int(re.search(r"(\d+) written", result.output)[1])


def assert_same_as_clean_build(site: SiteDir, *args: str, env: dict | None = None) -> None:
    clean = site.root / "clean-out"
    assert site.run("build", "--clean", "--out", str(clean), *args, env=env).exit_code == 0
    assert snapshot(site.out) == snapshot(clean)


@pytest.fixture
def blog(site_dir):
    for n in range(12):
        site_dir.post(f"post-{n:02d}.md", post_text(f"Post {n}", f"2024-01-{n + 1:02d}", f"Body of post {n}.",
                                                    tags=TAGS[n % 3], summary=f'"Summary {n}."'))
    (site_dir.root / "static").mkdir()
    (site_dir.root / "static" / "logo.svg").write_text("<svg/>")
    site_dir.config(BASIC_TOML + "posts_per_page = 5\nfeed_entries = 3\n" + BOOKING_TOML)
    assert site_dir.run("build").exit_code == 0
    return site_dir


@pytest.mark.parametrize("change", [
    lambda s: s.post("post-05.md", post_text("Post 5", "2024-01-06", "A new body.", tags=TAGS[2])),
    lambda s: s.post("post-11.md", post_text("Newest, renamed", "2024-01-12", "Body.", tags="[new tag]")),
    lambda s: s.post("post-03.md", post_text("Moved", "2023-06-01", "Now the oldest.", summary='"Moved."')),
    lambda s: (s.posts / "post-07.md").unlink(),
    lambda s: s.post("post-99.md", post_text("Added", "2024-02-01", "A new post.", tags="[running]")),
    lambda s: (s.root / "static" / "logo.svg").write_text("<svg>new</svg>"),
    lambda s: (s.root / "static" / "logo.svg").unlink(),
], ids=["body", "newest-title-and-tags", "date", "deleted", "added", "static-changed", "static-deleted"])
def test_after_each_kind_of_change_a_rebuild_equals_a_clean_build(blog, change):
    change(blog)
    assert blog.run("build").exit_code == 0
    assert_same_as_clean_build(blog)


def test_editing_one_body_rewrites_only_that_post_page(blog):
    blog.post("post-05.md", post_text("Post 5", "2024-01-06", "A corrected body.", tags=TAGS[2],
                                      summary='"Summary 5."'))
    result = blog.run("build")
    assert written(result) == 1 and "corrected body" in blog.read("posts/post-05/index.html")


def test_nothing_changed_writes_nothing_and_touches_no_file(blog):
    before = {p: p.stat().st_mtime_ns for p in blog.out.rglob("*") if p.is_file()}
    result = blog.run("build")
    assert written(result) == 0 and "Built 12 posts" in result.output
    assert {p: p.stat().st_mtime_ns for p in blog.out.rglob("*") if p.is_file()} == before


def test_a_config_change_reaches_every_page(blog):
    blog.config(BASIC_TOML.replace("Test Site", "Renamed Site") + "posts_per_page = 5\nfeed_entries = 3\n"
                + BOOKING_TOML)
    assert blog.run("build").exit_code == 0
    assert "Renamed Site" in blog.read("posts/post-00/index.html") and "Renamed Site" in blog.read("feed.xml")
    assert_same_as_clean_build(blog)


def test_a_template_change_reaches_every_page_that_uses_it(blog):
    (blog.root / "templates").mkdir()
    (blog.root / "templates" / "_summary.html").write_text("<p class='teaser'>{{ post.title }}</p>\n")
    assert blog.run("build").exit_code == 0
    assert "<p class='teaser'>Post 11</p>" in blog.read("index.html")
    assert "<p class='teaser'>Post 0</p>" in blog.read("tags/running/index.html")
    assert_same_as_clean_build(blog)


def test_own_templates_that_show_every_post_are_rebuilt_when_any_post_changes(blog):
    (blog.root / "templates").mkdir()
    (blog.root / "templates" / "404.html").write_text("Latest: {{ site.posts[0].title }}\n")
    assert blog.run("build").exit_code == 0
    blog.post("post-11.md", post_text("A fresher headline", "2024-01-12", "Body.", tags=TAGS[2]))
    assert blog.run("build").exit_code == 0
    assert blog.read("404.html") == "Latest: A fresher headline\n"
    assert_same_as_clean_build(blog)


def test_a_scheduled_post_appears_once_its_time_has_come(blog):
    blog.post("post-50.md", post_text("Next week", "2024-03-01", "Soon."))
    assert blog.run("build", env={"PUBLISHER_NOW": "2024-02-01T09:00+00:00"}).exit_code == 0
    assert not (blog.out / "posts" / "post-50").exists()
    assert blog.run("build", env={"PUBLISHER_NOW": "2024-03-02T09:00+00:00"}).exit_code == 0
    assert "Next week" in blog.read("index.html")
    assert_same_as_clean_build(blog, env={"PUBLISHER_NOW": "2024-03-02T09:00+00:00"})


def test_output_files_removed_or_changed_by_hand_are_put_back(blog):
    (blog.out / "posts" / "post-02" / "index.html").unlink()
    (blog.out / "feed.xml").write_text("not a feed")
    (blog.out / "stray.html").write_text("the author's own")
    assert blog.run("build", "--clean").exit_code == 0
    assert (blog.out / "stray.html").read_text() == "the author's own"  # not written by publisher: kept
    (blog.out / "stray.html").unlink()
    assert_same_as_clean_build(blog)
    (blog.out / "posts" / "post-03" / "index.html").unlink()
    (blog.out / "atom.xml").write_text("not a feed either")
    assert blog.run("build").exit_code == 0
    assert_same_as_clean_build(blog)


def test_clean_ignores_a_cache_that_no_longer_tells_the_truth(blog):
    page = blog.out / "posts" / "post-04" / "index.html"
    original = page.read_bytes()
    stat = page.stat()
    page.write_bytes(original.replace(b"Post 4", b"Tost 4"))  # same size, and the same time put back below
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    blog.run("build")
    assert b"Tost 4" in page.read_bytes()  # the cache vouches for the file, so a plain build keeps it
    assert blog.run("build", "--clean").exit_code == 0
    assert page.read_bytes() == original


def test_a_failed_build_leaves_the_site_and_the_cache_as_they_were(blog):
    before = snapshot(blog.out)
    blog.post("broken.md", "no front matter")
    assert blog.run("build").exit_code == 1
    assert snapshot(blog.out) == before
    (blog.posts / "broken.md").unlink()
    assert written(blog.run("build")) == 0


def test_a_site_without_posts_dates_its_feeds_by_the_build_as_a_clean_build_does(site_dir):
    assert site_dir.run("build", env={"PUBLISHER_NOW": "2024-01-01T09:00+00:00"}).exit_code == 0
    assert site_dir.run("build", env={"PUBLISHER_NOW": "2024-06-01T09:00+00:00"}).exit_code == 0
    assert "2024-06-01" in site_dir.read("atom.xml")
    assert_same_as_clean_build(site_dir, env={"PUBLISHER_NOW": "2024-06-01T09:00+00:00"})




def test_posts_new_when_a_build_began_are_read_by_the_next_which_then_leaves_them_known(blog, monkeypatch):
    """A build whose scan began in the tick of the posts' last change (made to here, as the kernel's clock
    cannot be) must not trust their signatures later; the next build, though it has nothing to render, reads
    them and remembers them as seen settled, so that the one after needs only a stat of each."""
    from publisher.build import incremental
    from publisher.build.cache import load_cache, parse_print, render_print
    from publisher.config import load_config
    from publisher.content.sources import read_sources

    config = load_config(blog.root / "publisher.toml")
    posts = list(blog.posts.glob("*.md"))

    def known_by_signature() -> int:
        prints = parse_print(config)
        render = render_print(prints, blog.root / "templates", False, blog.root / "pages")
        cache = load_cache(config.path(config.paths.cache), prints,
                           render + incremental.prepare_images(config).fingerprint, blog.out)
        sources = read_sources(blog.posts, blog.root, cache.signatures, scanned_ns=cache.scanned_ns)
        return sum(source.raw is None for source in sources)

    first_change = min(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in posts)
    with monkeypatch.context() as patch:
        patch.setattr(incremental, "scan_clock_ns", lambda: first_change)
        assert blog.run("build", "--clean").exit_code == 0
    assert known_by_signature() == 0
    assert blog.run("build").exit_code == 0
    assert known_by_signature() == len(posts)
