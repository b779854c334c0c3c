"""The whole build through the CLI: the real site, bad input that leaves old output alone, same input same bytes."""

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import feedparser
import pytest

from publisher.build.pipeline import build_site
from publisher.config import load_config

from ..fixtures_site import BASIC_TOML, SiteDir, post_text

REPO = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


SEED_ARTICLES = ("sciatica-and-lower-back-pain", "gluteus-medius-lower-back-pain")
LATER = {"PUBLISHER_NOW": "2999-01-01T00:00:00"}  # every post the author has scheduled is out by then


def published_posts(posts: Path) -> int:
    """How many post files are not drafts: what the build of the real site must count, whatever posts it has."""
    return sum("\ndraft: true" not in p.read_text(encoding="utf-8") for p in posts.glob("*.md"))


@pytest.mark.parametrize("new_posts", [0, 1], ids=["as-it-is", "after-the-author-writes-another"])
def test_the_real_site_builds_with_both_seed_articles(tmp_path, new_posts):
    site = SiteDir(tmp_path / "site")
    shutil.copy(REPO / "publisher.toml", site.root / "publisher.toml")
    for post in (REPO / "posts").glob("*.md"):
        shutil.copy(post, site.posts / post.name)
    shutil.copytree(REPO / "static", site.root / "static")
    shutil.copytree(REPO / "pages", site.root / "pages")
    for n in range(new_posts):
        site.post(f"2030-01-0{n + 1}-another-article.md",
                  post_text("Another article", f"2030-01-0{n + 1}", summary='"One more article."'))
    result = site.run("build", env=LATER)
    assert result.exit_code == 0, result.output
    built = published_posts(site.posts)
    assert built >= len(SEED_ARTICLES) + new_posts
    assert f"Built {built} posts" in result.output and "Warning" not in result.output
    feed = feedparser.parse(site.out / "feed.xml")
    assert not feed.bozo and len(feed.entries) == min(built, 20)
    for slug in SEED_ARTICLES:
        page = site.read(f"posts/{slug}/index.html")
        assert "<figure>" in page and "<figcaption>" in page and 'class="footnotes"' in page
    assert "Gluteus Medius" in site.read("posts/gluteus-medius-lower-back-pain/index.html")
    assert "Sciatica" in site.read("posts/sciatica-and-lower-back-pain/index.html")
    for entry in feed.entries:
        page = site.read(entry.link.removeprefix("https://massageinyork.co.uk/") + "index.html")
        assert 'href="tel:+447713250352"' in page and "Book a mobile massage" in page
        assert "07713 250352" in page
        assert page.count("If you would like to book a mobile massage") == 0
    for image in site.out.glob("images/*"):
        assert image.stat().st_size > 0
    booking = site.read("booking/index.html")
    assert "Book a mobile massage" in site.read("index.html") and 'href="https://massageinyork.co.uk/booking/"' in booking
    assert 'href="tel:+447713250352"' in booking and "david@massageinyork.co.uk" in booking


def test_same_input_gives_the_same_bytes(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01", "Text [link](/x).", tags="[t]"))
    site_dir.run("build")
    first = snapshot(site_dir.out)
    site_dir.run("build")
    assert snapshot(site_dir.out) == first


@pytest.mark.parametrize("name, content, message", [
    ("bad-date.md", post_text(date="3rd May"), "bad-date.md:3: date: expected YYYY-MM-DD"),
    ("no-front.md", "Just text", "no-front.md:1: no front matter"),
    ("latin1.md", post_text().encode("utf-8") + "caf\xe9".encode("latin-1"), "latin1.md:7: not UTF-8"),
    ("dupe.md", post_text(slug="good"), "slug 'good' is already used by posts/"),
    ("bad-yaml.md", "---\ntitle: [x\ndate: 2024-01-01\n---\n", "bad-yaml.md:3: front matter is not valid YAML"),
    ("js-image.md", post_text(image="javascript:alert(1)", image_alt="x"), "js-image.md:4: image: 'javascript:"),
    ("ff-title.md", post_text(title='"Tea\\ftime"'), "ff-title.md:2: title: holds a control character (U+000C)"),
])
def test_bad_input_fails_clearly_and_leaves_the_previous_site_alone(site_dir, name, content, message):
    site_dir.post("good.md", post_text("Good", "2024-01-01"))
    assert site_dir.run("build").exit_code == 0
    before = snapshot(site_dir.out)
    site_dir.post(name, content)
    result = site_dir.run("build")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert snapshot(site_dir.out) == before


def test_every_broken_post_is_reported_in_one_run(site_dir):
    site_dir.post("one.md", post_text(date="nope"))
    site_dir.post("two.md", "no front matter")
    result = site_dir.run("build")
    assert "one.md:3:" in result.output and "two.md:1:" in result.output and result.exit_code == 1


def test_warnings_are_shown_and_the_build_goes_on(site_dir):
    site_dir.post("w.md", post_text(tagz="[a]", image="/a.jpg"))
    result = site_dir.run("build")
    assert result.exit_code == 0
    assert "Warning: posts/w.md:4: unknown front matter key 'tagz'" in result.output
    assert "image has no image_alt" in result.output


def test_summary_line_and_static_files(site_dir):
    (site_dir.root / "static" / "images").mkdir(parents=True)
    (site_dir.root / "static" / "images" / "x.svg").write_text("<svg/>")
    site_dir.post("a.md", post_text())
    result = site_dir.run("build", "--out", str(site_dir.root / "public"))
    assert "Built 1 post," in result.output and "3 feeds" in result.output and " s\n" in result.output
    assert (site_dir.root / "public" / "images" / "x.svg").read_text() == "<svg/>"
    on_disk = sum(1 for p in (site_dir.root / "public").rglob("*") if p.is_file() and p.name != ".publisher-manifest")
    assert f"({on_disk} files, {on_disk} written)" in result.output


def test_new_writes_a_draft_post_that_builds(site_dir):
    result = site_dir.run("new", 'Stretches: "five" for desk workers', env={"PUBLISHER_NOW": "2025-02-03T10:00:00"})
    assert result.exit_code == 0
    path = site_dir.posts / "2025-02-03-stretches-five-for-desk-workers.md"
    text = path.read_text()
    assert 'title: "Stretches: \\"five\\" for desk workers"' in text and "draft: true" in text
    assert site_dir.run("build", "--drafts").exit_code == 0
    assert "Stretches: &#34;five&#34; for desk workers" in site_dir.read(
        "posts/stretches-five-for-desk-workers/index.html")
    assert site_dir.run("new", 'Stretches: "five" for desk workers',
                        env={"PUBLISHER_NOW": "2025-02-03T11:00:00"}).exit_code == 1


def test_init_makes_a_site_that_builds_at_once(tmp_path):
    from click.testing import CliRunner

    from publisher.cli import main
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path / "blog")], catch_exceptions=False).exit_code == 0
    result = runner.invoke(main, ["--config", str(tmp_path / "blog"), "build"], catch_exceptions=False)
    assert result.exit_code == 0 and "Built 1 post," in result.output
    assert runner.invoke(main, ["init", str(tmp_path / "blog")]).exit_code == 1


def test_newsletters_of_the_feed_posts_get_a_web_version_and_404_forwards_older_ones(site_dir):
    site_dir.config(site_dir.root.joinpath("publisher.toml").read_text().replace(
        'timezone = "Europe/London"', 'timezone = "Europe/London"\nfeed_entries = 1'))
    site_dir.post("old.md", post_text("Old news", "2024-01-01"))
    site_dir.post("new.md", post_text("Fresh <news>", "2024-02-01"))
    assert site_dir.run("build").exit_code == 0
    web = site_dir.read("newsletter/new/index.html")
    assert "Fresh &lt;news&gt;" in web and "Book a massage" in web and 'href="tel:+447713250352"' in web
    assert '<link rel="canonical" href="https://example.com/posts/new/">' in web
    assert "noindex" in web and "Unsubscribe" not in web
    assert not (site_dir.out / "newsletter" / "old").exists()
    assert 'location.replace("https://example.com/posts/" + m[1] + "/")' in site_dir.read("404.html")
    assert "newsletter/" not in site_dir.read("sitemap.xml")


def test_a_newsletter_over_the_size_limit_stops_the_build_naming_the_post(site_dir):
    site_dir.config(site_dir.root.joinpath("publisher.toml").read_text() + "\n[newsletter]\nmax_html_bytes = 5000\n")
    site_dir.post("long.md", post_text("Long", "2024-01-01", "A long paragraph. " * 400))
    result = site_dir.run("build")
    assert result.exit_code == 1 and "long.md" in result.output and "max_html_bytes" in result.output
    assert not site_dir.out.exists()


@pytest.mark.parametrize("template, line, message", [
    ('{% extends "base.html" %}\n{% block main %}\n{{ post.titel }}{% endblock %}\n', 3, "has no attribute 'titel'"),
    ('{% extends "base.html" %}\n{% block main %}{{ post.title }{% endblock %}\n', 2, "template syntax error"),
    ('{% extends "base.html" %}\n{% block main %}{{ post.title | shout }}{% endblock %}\n', 2, "No filter named"),
    ('{% extends "base.html" %}\n{% block main %}\n\n{{ 1/0 }}{% endblock %}\n', 4, "division by zero"),
    ('{% extends "base.html" %}\n{% block main %}{{ post.title | datefmt }}{% endblock %}\n', 2, "template error"),
    ('{% extends "base.html" %}\n{% block main %}\nCaf\xe9{% endblock %}\n'.encode("latin-1"), 3, "not UTF-8"),
])
def test_a_broken_site_template_names_its_file_and_line_and_keeps_the_old_site(site_dir, template, line, message):
    site_dir.post("a.md", post_text("A"))
    assert site_dir.run("build").exit_code == 0
    before = snapshot(site_dir.out)
    (site_dir.root / "templates").mkdir()
    write = (site_dir.root / "templates" / "post.html").write_bytes if isinstance(template, bytes) else \
        (site_dir.root / "templates" / "post.html").write_text
    write(template)
    result = site_dir.run("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"Error: templates/post.html:{line}: " in result.output and message in result.output
    assert len(result.output.splitlines()) == 1
    assert snapshot(site_dir.out) == before


def test_a_template_failing_in_a_site_rendered_on_every_core_is_named_too(site_dir):
    for n in range(80):
        site_dir.post(f"p{n}.md", post_text(f"Post {n}", f"2024-01-{n % 28 + 1:02d}"))
    assert site_dir.run("build").exit_code == 0
    before = snapshot(site_dir.out)
    (site_dir.root / "templates").mkdir()
    (site_dir.root / "templates" / "post.html").write_text('{% extends "base.html" %}\n{% block main %}\n'
                                                           '{{ (post.title == "Post 77") and 1/0 }}{% endblock %}\n')
    result = site_dir.run("build", "--clean")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == "Error: templates/post.html:3: template error: ZeroDivisionError: division by zero\n"
    assert snapshot(site_dir.out) == before


ENV = {"PUBLISHER_NOW": "2025-01-15T12:00:00+00:00", "PUBLISHER_SECRET_KEY": "a-test-secret-that-is-long-enough"}


def test_a_control_character_in_a_title_is_refused_alike_by_build_check_and_publish(site_dir):
    site_dir.post("2025-01-10-ff.md", post_text('"Tea\\ftime"', "2025-01-10"))
    assert site_dir.run("subscribers", "add", "reader@example.com").exit_code == 0
    for command in (["build"], ["check"], ["publish", "--send-latest"]):
        result = site_dir.run(*command, env=ENV)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "posts/2025-01-10-ff.md:2: " in result.output
        assert "title: holds a control character (U+000C)" in result.output
    assert not site_dir.out.exists() and not (site_dir.root / "outbox").exists()


def test_control_characters_in_a_body_are_left_out_alike_by_build_check_and_publish(site_dir):
    site_dir.post("2025-01-10-ff.md", "---\ntitle: T\ndate: 2025-01-10\n---\nx\x0cy \x1bz\x0c\n")
    assert site_dir.run("subscribers", "add", "reader@example.com").exit_code == 0
    for command in (["build"], ["check"], ["publish", "--send-latest"]):
        result = site_dir.run(*command, env=ENV)
        assert result.exit_code == 0 and "Traceback" not in result.output
        assert "posts/2025-01-10-ff.md:5: " in result.output
        assert "control characters in the body were left out" in result.output
    feed = feedparser.parse(site_dir.out / "feed.xml")
    assert not feed.bozo and "xy z" in feed.entries[0].description
    assert "'ff': sent 1, failed 0" in result.output


def test_a_post_over_the_size_limit_is_refused_by_its_size_before_it_is_read(site_dir):
    site_dir.config((site_dir.root / "publisher.toml").read_text() + '\n[newsletter]\ncontent = "excerpt"\n')
    site_dir.post("good.md", post_text("Good", "2024-01-01"))
    assert site_dir.run("build").exit_code == 0
    before = snapshot(site_dir.out)
    big = site_dir.post("big.md", post_text("Big", "2024-01-02", "A paragraph of words. " * 60_000,
                                          summary="Short."))
    size = big.stat().st_size
    message = (f"{size:,} bytes is more than a post may be (1,000,000); split it into several posts, "
               f"or raise max_post_bytes under [content] in publisher.toml")
    for command, where in (("build", "Error: posts/big.md: "), ("check", "posts/big.md: error: ")):
        result = site_dir.run(command, env=ENV)
        assert result.exit_code == 1 and "Traceback" not in result.output and where + message in result.output
    assert snapshot(site_dir.out) == before
    site_dir.config((site_dir.root / "publisher.toml").read_text() + "\n[content]\nmax_post_bytes = 2_000_000\n")
    result = site_dir.run("build")
    assert result.exit_code == 0 and (site_dir.out / "posts/big/index.html").is_file()


def test_a_build_in_memory_renders_again_only_what_changed_and_equals_a_clean_build(site_dir):
    for n in range(1, 7):
        site_dir.post(f"p{n}.md", post_text(f"Post {n}", f"2024-01-0{n}", f"Body {n}.", summary=f'"Sum {n}."'))
    site_dir.config(BASIC_TOML + "feed_entries = 2\n")
    config = load_config(site_dir.root / "publisher.toml")
    first = build_site(config, NOW)
    assert build_site(config, NOW, last=first).rendered == 0
    site_dir.post("p2.md", post_text("Post 2", "2024-01-02", "A new body.", summary='"Sum 2."'))
    again = build_site(config, NOW, last=first)
    assert again.files == build_site(config, NOW).files
    assert {path for path in again.files if again.files[path] != first.files[path]} == {"posts/p2/index.html"}
    assert again.rendered == 1  # the lists show its summary, not its body; it is not in the feeds


def test_check_and_the_preview_see_the_files_build_writes(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01", "Text [link](/x).", tags="[t]"))
    site_dir.post("b.md", post_text("B", "2024-01-02", "More.", draft="true"))
    assert site_dir.run("build", env={"PUBLISHER_NOW": NOW.isoformat()}).exit_code == 0
    files = build_site(load_config(site_dir.root / "publisher.toml"), NOW).files
    assert files == {path: site_dir.out.joinpath(path).read_bytes() for path in files}
    assert snapshot(site_dir.out).keys() - files.keys() == {".publisher-manifest"}
