"""`publisher check`: every planted problem reported with its file and line, nothing written, exit codes."""

from __future__ import annotations

import datetime as dt

import feedparser
import pytest
from PIL import Image

from publisher.authoring.check import html_size, sample_message
from publisher.build.pipeline import build_site
from publisher.build.theme import make_env
from publisher.config import load_config
from publisher.mail.newsletter import compile_newsletter

from ..fixtures_site import BASIC_TOML, BOOKING_TOML, post_text

ENV = {"PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}

PLANTED = """\
---
title: Sciatica
date: 2024-05-03
tags: [back pain]
---

Sciatica is pain along the [sciatic nerve](/posts/sciatic-nerve/).

![The nerve](/images/nerve.png)

A [working link](/posts/stretches/) and [a reference][gone].

[gone]: ../no-such-post/
"""


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("posts/", "publisher.toml", "templates", "_site"))]


def test_a_clean_site_passes(site_dir):
    site_dir.post("2024-05-03-stretches.md", post_text("Stretches", summary="Loosen up.",
                                                         body="See ![a stretch](/images/s.png) and [home](/)."))
    (site_dir.root / "static" / "images").mkdir(parents=True)
    Image.new("RGB", (64, 48), (30, 120, 90)).save(site_dir.root / "static" / "images" / "s.png")
    result = site_dir.run("check", "--strict", env=ENV)
    assert result.exit_code == 0, result.output
    assert result.output == "Checked 1 post: no problems\n"
    assert not site_dir.out.exists()


def test_each_planted_problem_is_reported_with_its_file_and_line(site_dir):
    site_dir.config(BASIC_TOML.replace('language = "en-GB"', 'language = "British English"') + BOOKING_TOML)
    site_dir.post("2024-05-03-sciatica.md", PLANTED)
    site_dir.post("2024-05-02-stretches.md", post_text("STRETCHES FOR EVERYONE", summary="Loosen up."))
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 1
    found = lines(result.output)
    assert "posts/2024-05-03-sciatica.md:7: error: the link to /posts/sciatic-nerve/ points nowhere" in "\n".join(found)
    assert any(line.startswith("posts/2024-05-03-sciatica.md:9: error: the image /images/nerve.png does not exist; "
                               "put the file at static/images/nerve.png") for line in found)
    assert any(line.startswith("posts/2024-05-03-sciatica.md:13: error: the link to /posts/no-such-post/")
               for line in found)
    assert any(line.startswith("posts/2024-05-03-sciatica.md:5: warning: no summary") for line in found)
    assert any(line.startswith("publisher.toml:5: error: feed.xml, atom.xml and feed.json would not validate: "
                               "the language 'British English' is not a language code") for line in found)
    assert any(line.startswith("posts/2024-05-02-stretches.md: warning: the title is all capitals") for line in found)
    assert not any("/posts/stretches/" in line for line in found), "working links are not reported"
    assert result.output.splitlines()[-1] == "Checked 2 posts: 4 errors, 2 warnings"
    assert not site_dir.out.exists()


def test_what_the_build_refuses_is_reported_without_writing_anything(site_dir):
    site_dir.post("a.md", post_text("A post", date="3rd May"))
    site_dir.post("b.md", "---\ntitle: B\ndate: 2024-05-03\ntags: {x: 1}\n---\n\nBody.\n")
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 1
    assert lines(result.output) == [
        "posts/a.md:3: error: date: expected YYYY-MM-DD or YYYY-MM-DD HH:MM, got '3rd May'",
        "posts/b.md:4: error: tags: expected a list like [health, back pain]",
    ]
    assert result.output.splitlines()[-1] == "The site does not build: 2 errors, 0 warnings"
    assert not site_dir.out.exists()


def test_a_broken_config_is_reported_without_a_traceback(site_dir):
    site_dir.config(BASIC_TOML.replace("[site]", "[site]\ntitel = 'Typo'"))
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{site_dir.root / 'publisher.toml'}: error: unknown key 'site.titel'; did you mean 'site.title'?",
        "The site does not build: 1 error, 0 warnings"]
    assert "Traceback" not in result.output


def test_warnings_fail_only_with_strict(site_dir):
    site_dir.post("a.md", post_text("A post", body="No summary in the front matter.", colour="blue"))
    relaxed = site_dir.run("check", env=ENV)
    assert relaxed.exit_code == 0
    assert lines(relaxed.output) == [
        "posts/a.md:4: warning: unknown front matter key 'colour' is ignored; known keys: title, date, summary, tags, "
        "draft, slug, image, image_alt, updated, email, id",
        "posts/a.md:5: warning: no summary; the home page, the feeds and the email preheader show the first "
        "paragraph instead. Add 'summary: …' (one or two sentences)",
    ]
    assert site_dir.run("check", "--strict", env=ENV).exit_code == 1


def test_a_broken_template_is_reported_with_its_file_and_line(site_dir):
    site_dir.post("a.md", post_text("A post", summary="S."))
    (site_dir.root / "templates").mkdir()
    (site_dir.root / "templates" / "post.html").write_text(
        '{% extends "base.html" %}\n{% block main %}\n{{ post.missing_field.upper() }}\n{% endblock %}\n')
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 1
    assert lines(result.output)[0].startswith("templates/post.html:3: error: template error:")
    assert "Traceback" not in result.output


@pytest.mark.parametrize("template, line, message", [
    ('{% extends "base.html" %}\n{% block main %}\n{{ 1/0 }}\n{% endblock %}\n'.encode(), 3,
     "template error: ZeroDivisionError: division by zero"),
    ('{% extends "base.html" %}\n\n{% block main %}\nCaf\xe9{% endblock %}\n'.encode("latin-1"), 4,
     "not UTF-8 text"),
])
def test_a_template_that_fails_as_it_renders_or_is_not_utf8_is_reported_with_its_file(site_dir, template, line,
                                                                                         message):
    site_dir.post("a.md", post_text("A post", summary="S."))
    (site_dir.root / "templates").mkdir()
    (site_dir.root / "templates" / "post.html").write_bytes(template)
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 1 and "Traceback" not in result.output
    found = lines(result.output)
    assert len(found) == 1 and found[0].startswith(f"templates/post.html:{line}: error: {message}")


def test_a_missing_booking_block_is_reported(site_dir):
    site_dir.config(BASIC_TOML)
    site_dir.post("a.md", post_text("A post", summary="S."))
    result = site_dir.run("check", "--strict", env=ENV)
    assert result.exit_code == 1
    assert lines(result.output) == ["publisher.toml: warning: no booking block: [booking] has no heading, so posts "
                                    "and newsletters go out without a way to book; add heading = \"Book …\" and a "
                                    "phone, email or url under [booking]"]


def test_a_template_that_drops_the_booking_block_is_reported(site_dir):
    site_dir.post("a.md", post_text("A post", summary="S."))
    (site_dir.root / "templates").mkdir()
    (site_dir.root / "templates" / "post.html").write_text(
        '{% extends "base.html" %}\n{% block main %}<h1>{{ post.title }}</h1>{{ post.html | safe }}{% endblock %}\n')
    result = site_dir.run("check", "--strict", env=ENV)
    assert result.exit_code == 1
    assert lines(result.output) == ["templates/post.html: warning: no booking block on /posts/a/ (1 of 1 pages made "
                                    "from post.html); the default post.html shows [booking], compare yours with it"]


def test_a_template_link_that_points_nowhere_is_a_warning(site_dir):
    site_dir.post("a.md", post_text("A post", summary="S."))
    (site_dir.root / "templates").mkdir()
    (site_dir.root / "templates" / "404.html").write_text(
        '<!doctype html><title>Lost</title><a href="{{ site.absolute(\'contact/\') }}">Contact</a>\n')
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 0
    assert lines(result.output) == ["templates: warning: the page /404.html links to https://example.com/contact/, "
                                    "but the site has no /contact/; check the templates"]


def test_a_link_to_a_draft_points_nowhere_until_drafts_are_checked(site_dir):
    site_dir.post("a.md", post_text("A post", summary="S.", body="Read [the next one](/posts/b/)."))
    site_dir.post("b.md", post_text("Coming soon", summary="S.", draft="true"))
    published = site_dir.run("check", env=ENV)
    assert published.exit_code == 1
    assert lines(published.output) == ["posts/a.md:7: error: the link to /posts/b/ points nowhere: the site has no "
                                       "such page or file"]
    assert site_dir.run("check", "--drafts", env=ENV).exit_code == 0


def test_a_newsletter_near_the_clipping_limit_is_a_warning(site_dir):
    body = "\n\n".join(f"Paragraph {i} about stretching the lower back, slowly and often." for i in range(150))
    site_dir.post("a.md", post_text("A long post", summary="S.", body=body))
    config = load_config(site_dir.root / "publisher.toml")
    now = dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc)
    post = build_site(config, now).site.posts[0]
    size = html_size(sample_message(compile_newsletter(post, config, make_env()), now))
    limit = int(size / 0.95)
    site_dir.config(BASIC_TOML + BOOKING_TOML + f"\n[newsletter]\nmax_html_bytes = {limit}\n")
    result = site_dir.run("check", env=ENV)
    assert result.exit_code == 0
    assert lines(result.output) == [
        f"posts/a.md:6: warning: the newsletter's HTML is {size:,} bytes, 95% of newsletter.max_html_bytes "
        f"({limit:,}); Gmail clips messages over 102 KB. Shorten the post, or set content = \"excerpt\" under "
        "[newsletter] in publisher.toml"]


def test_the_feeds_it_passes_are_read_by_a_real_feed_parser(site_dir):
    site_dir.post("a.md", post_text("Füße & <Rücken>", summary="Dehnen.", body="See [home](/) and a footnote[^1].\n\n"
                                                                               "[^1]: Note."))
    assert site_dir.run("check", "--strict", env=ENV).exit_code == 0
    assert site_dir.run("build", env=ENV).exit_code == 0
    for name in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse((site_dir.out / name).read_bytes())
        assert not parsed.bozo, name
        assert parsed.entries[0].title == "Füße & <Rücken>"
