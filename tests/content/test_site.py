"""The Site: the posts readers see at the build's time, newest first, and their tags."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.config import load_config
from publisher.content.posts import parse_post
from publisher.content.site import make_site

from ..fixtures_site import post_text

NOW = dt.datetime(2024, 6, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))


def posts(*texts: tuple[str, str]):
    return [parse_post(Path(f"posts/{name}.md"), text, "https://example.com", NOW.tzinfo).post
            for name, text in texts]


def sample():
    return posts(("old", post_text("Old", "2024-01-01", tags="[Back pain]")),
                 ("new", post_text("New", "2024-05-01", tags="[back pain, running]")),
                 ("same-day", post_text("Same day", "2024-05-01")),
                 ("draft", post_text("Draft", "2024-02-01", draft="true")),
                 ("due", post_text("Due now", "2024-06-01 09:00")),
                 ("later", post_text("Later", "2024-06-01 09:01", tags="[running]")))


def test_the_site_holds_what_is_published_newest_first(site_dir):
    site = make_site(load_config(site_dir.root / "publisher.toml"), sample(), NOW)
    assert [p.slug for p in site.posts] == ["due", "same-day", "new", "old"]


def test_tags_gather_their_posts_by_slug_under_the_first_spelling(site_dir):
    site = make_site(load_config(site_dir.root / "publisher.toml"), sample(), NOW)
    assert [(t.name, t.path, [p.slug for p in t.posts]) for t in site.tags] == [
        ("back pain", "tags/back-pain/", ["new", "old"]), ("running", "tags/running/", ["new"])]


def test_with_drafts_every_post_shows_and_the_unpublished_are_marked(site_dir):
    site = make_site(load_config(site_dir.root / "publisher.toml"), sample(), NOW, drafts=True)
    assert len(site.posts) == 6 and site.show_unpublished
    assert {p.slug for p in site.posts if site.is_unpublished(p)} == {"draft", "later"}
