"""Which posts `publish` mails: the first run archives what exists, later runs mail each new post once."""

import datetime as dt
from pathlib import Path

from publisher.content.posts import Post
from publisher.sending.due import plan_publish


def post(slug: str, day: int) -> Post:
    return Post(source=Path(f"posts/{slug}.md"), slug=slug, title=slug.title(), date=dt.datetime(2025, 1, day,
                tzinfo=dt.UTC), summary="", body="", html="", url=f"https://example.com/posts/{slug}/")


NEWEST_FIRST = (post("third", 3), post("second", 2), post("first", 1))


def slugs(posts) -> list[str]:
    return [p.slug for p in posts]


def test_the_first_publish_archives_every_existing_post_and_mails_none():
    plan = plan_publish(NEWEST_FIRST, {}, first_run=True)
    assert slugs(plan.archive) == ["first", "second", "third"] and plan.send == ()


def test_the_first_publish_with_send_latest_mails_only_the_newest():
    plan = plan_publish(NEWEST_FIRST, {}, first_run=True, send_latest=True)
    assert slugs(plan.archive) == ["first", "second"] and slugs(plan.send) == ["third"]


def test_later_publishes_mail_each_post_the_store_has_not_seen_once_oldest_first():
    known = {"first": "archived", "third": "sent"}
    plan = plan_publish(NEWEST_FIRST, known, first_run=False)
    assert slugs(plan.send) == ["second"] and plan.archive == ()
    assert plan_publish(NEWEST_FIRST, {**known, "second": "sent"}, first_run=False).send == ()
    assert slugs(plan_publish(NEWEST_FIRST, {}, first_run=False).send) == ["first", "second", "third"]
