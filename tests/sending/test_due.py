"""Which posts `publish` mails: the first run archives what exists; later runs mail each post new to the site
once, archive new posts older than max_age or marked `email: false`, and know a post by its id whatever its
slug."""

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from publisher.content.posts import Post
from publisher.sending.due import FIRST_RUN, NOT_EMAILED, TOO_OLD, plan_publish
from publisher.store import PublishedPost

NOW = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
WEEK = dt.timedelta(days=7)
ID_A = "11111111-1111-4111-8111-111111111111"
ID_B = "22222222-2222-4222-8222-222222222222"


def post(slug: str, day: int, **fields) -> Post:
    return Post(source=Path(f"posts/{slug}.md"), slug=slug, title=slug.title(), date=dt.datetime(2025, 1, day,
                tzinfo=dt.UTC), summary="", body="", html="", url=f"https://example.com/posts/{slug}/", **fields)


NEWEST_FIRST = (post("third", 13), post("second", 12), post("first", 11))


def plan(posts=NEWEST_FIRST, known=(), first_run=False, **options):
    return plan_publish(posts, known, first_run, now=NOW, max_age=options.pop("max_age", WEEK), **options)


def slugs(posts) -> list[str]:
    return [p.slug for p in posts]


def archived(result) -> list[tuple[str, str]]:
    return [(entry.post.slug, entry.reason) for entry in result.archive]


def test_the_first_publish_archives_every_existing_post_and_mails_none():
    result = plan(first_run=True)
    assert archived(result) == [("first", FIRST_RUN), ("second", FIRST_RUN), ("third", FIRST_RUN)]
    assert result.send == ()


def test_the_first_publish_with_send_latest_mails_only_the_newest_whatever_its_age():
    result = plan(first_run=True, send_latest=True, max_age=dt.timedelta(hours=1))
    assert slugs(a.post for a in result.archive) == ["first", "second"] and slugs(result.send) == ["third"]


def test_send_latest_skips_a_newest_post_that_says_email_false():
    posts = (post("third", 13, email=False), *NEWEST_FIRST[1:])
    result = plan(posts, first_run=True, send_latest=True)
    assert archived(result) == [("first", FIRST_RUN), ("third", NOT_EMAILED)] and slugs(result.send) == ["second"]


@pytest.mark.parametrize("known, mailed", [
    ((PublishedPost("first", "archived"), PublishedPost("third", "sent")), ["second"]),
    ((PublishedPost("first", "archived"), PublishedPost("second", "sent"), PublishedPost("third", "sent")), []),
    ((), ["first", "second", "third"]),
])
def test_later_publishes_mail_each_post_the_store_has_not_seen_once_oldest_first(known, mailed):
    result = plan(known=known)
    assert slugs(result.send) == mailed and result.archive == ()


@pytest.mark.parametrize("date, max_age, reason", [
    (dt.datetime(2019, 3, 2, tzinfo=dt.UTC), WEEK, TOO_OLD),
    (NOW - WEEK - dt.timedelta(minutes=1), WEEK, TOO_OLD),
    (NOW - WEEK, WEEK, None),
    (NOW - dt.timedelta(hours=37), dt.timedelta(hours=36), TOO_OLD),
    (NOW - dt.timedelta(hours=35), dt.timedelta(hours=36), None),
    (dt.datetime(2019, 3, 2, tzinfo=dt.UTC), dt.timedelta(days=3650), None),
])
def test_a_new_post_dated_more_than_max_age_ago_is_archived_not_mailed(date, max_age, reason):
    result = plan((dataclasses.replace(post("late", 1), date=date),), max_age=max_age)
    assert archived(result) == ([("late", reason)] if reason else [])
    assert slugs(result.send) == ([] if reason else ["late"])


def test_email_false_archives_a_new_post_however_recent():
    result = plan((post("quiet", 14, email=False), post("loud", 14)))
    assert archived(result) == [("quiet", NOT_EMAILED)] and slugs(result.send) == ["loud"]


def test_a_post_known_by_its_id_is_never_new_whatever_its_slug_and_is_followed_to_it():
    known = (PublishedPost("old-slug", "sent", ID_A),)
    result = plan((post("new-slug", 14, id=ID_A),), known=known)
    assert result.send == () and result.archive == () and result.by_slug == ()
    assert [(k.record.slug, k.post.slug) for k in result.moved] == [("old-slug", "new-slug")]


@pytest.mark.parametrize("record, post_id, known_by_slug", [
    (PublishedPost("news", "sent"), "", True),  # recorded before ids: known by slug, given an id
    (PublishedPost("news", "sent"), ID_A, True),  # the file got an id the record lacks
    (PublishedPost("news", "sent", ID_A), "", True),  # the id could not be written into the file yet
    (PublishedPost("news", "sent", ID_B), ID_A, False),  # another post once had this slug
])
def test_a_post_is_known_by_its_slug_only_when_the_ids_do_not_say_otherwise(record, post_id, known_by_slug):
    result = plan((post("news", 14, id=post_id),), known=(record,))
    assert slugs(k.post for k in result.by_slug) == (["news"] if known_by_slug else [])
    assert slugs(result.send) == ([] if known_by_slug else ["news"])


def test_a_new_post_at_the_slug_a_renamed_post_left_is_new():
    known = (PublishedPost("news", "sent", ID_A),)
    result = plan((post("renamed", 13, id=ID_A), post("news", 14)), known=known)
    assert slugs(result.send) == ["news"] and slugs(k.post for k in result.moved) == ["renamed"]
