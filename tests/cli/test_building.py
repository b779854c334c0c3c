"""`new`, `init` and the counts the site commands print, run through the real CLI."""

from __future__ import annotations

from click.testing import CliRunner

from publisher.cli import main

from ..fixtures_site import post_text

TODAY = {"PUBLISHER_NOW": "2025-02-03T10:00:00"}


def test_counts_of_one_are_singular_and_of_several_plural(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    one = site_dir.run("build")
    assert one.exit_code == 0 and "Built 1 post, " in one.output and "Built 1 posts" not in one.output
    site_dir.post("b.md", post_text("B", "2024-01-02"))
    assert "Built 2 posts, " in site_dir.run("build").output


def test_new_refuses_a_blank_title_and_writes_nothing(site_dir):
    result = site_dir.run("new", "   ", env=TODAY)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.strip().splitlines() == [
        'Error: the title is blank; give the post a title, e.g. publisher new "Five stretches for desk workers"']
    assert list(site_dir.posts.iterdir()) == []


def test_two_different_titles_with_the_same_slug_make_two_posts_with_their_own_urls(site_dir):
    first = site_dir.run("new", "Привет, мир", env=TODAY)
    second = site_dir.run("new", "こんにちは世界", env=TODAY)
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert "already exists" not in second.output and "2025-02-03-post-2.md" in second.output
    texts = sorted(p.read_text(encoding="utf-8") for p in site_dir.posts.iterdir())
    assert len(texts) == 2 and any("Привет, мир" in t for t in texts) and any("こんにちは世界" in t for t in texts)
    built = site_dir.run("build", "--drafts", env=TODAY)
    assert built.exit_code == 0 and "Built 2 posts" in built.output
    assert "こんにちは世界" in site_dir.read("posts/post-2/index.html")


def test_the_same_title_again_on_another_day_gets_its_own_url(site_dir):
    assert site_dir.run("new", "Hello", env=TODAY).exit_code == 0
    later = site_dir.run("new", "Hello", env={"PUBLISHER_NOW": "2025-02-04T10:00:00"})
    assert later.exit_code == 0 and (site_dir.posts / "2025-02-04-hello-2.md").exists()
    assert site_dir.run("build", "--drafts", env=TODAY).exit_code == 0


def test_init_makes_a_site_that_passes_its_own_strict_check(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["init", str(tmp_path / "blog")], catch_exceptions=False).exit_code == 0
    result = runner.invoke(main, ["--config", str(tmp_path / "blog"), "check", "--strict"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Checked 1 post: no problems" in result.output
    assert runner.invoke(main, ["--config", str(tmp_path / "blog"), "build"], catch_exceptions=False).exit_code == 0
    about = (tmp_path / "blog" / "_site" / "about" / "index.html").read_text()
    assert '<a href="https://example.com/about/" aria-current="page">About</a>' in about
