"""What `publish` mails, through the CLI with a real SQLite store and the Maildir outbox: only posts new to the
site. Old posts that appear later, posts renamed or given a slug, and posts marked `email: false` are recorded
as archive and never mailed; a post keeps the id written into its front matter on first publish."""

from __future__ import annotations

import mailbox
import re
from collections import Counter

from publisher.store import open_sqlite as open_store

from ..fixtures_site import post_text

SECRET = "a-test-secret-that-is-long-enough"
ENV = {"PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}


def outbox(site_dir) -> Counter:
    box = site_dir.root / "outbox"
    return Counter(m["Subject"] for m in mailbox.Maildir(box, create=False)) if box.exists() else Counter()


def started(site_dir, readers: int = 2) -> None:
    """A site with readers that has had its first publish (with no posts)."""
    for n in range(readers):
        assert site_dir.run("subscribers", "add", f"reader{n}@example.com", env=ENV).exit_code == 0
    assert site_dir.run("publish", env=ENV).exit_code == 0


def written_id(path) -> str:
    found = re.search(r"^id: ([0-9a-f]{32})$", path.read_text(encoding="utf-8"), re.M)
    assert found, path.read_text(encoding="utf-8")
    return found[1]


def test_posts_dated_2019_added_after_the_first_publish_are_archived_not_mailed(site_dir):
    started(site_dir)
    for day in ("02", "09", "16"):
        site_dir.post(f"2019-03-{day}-old-{day}.md", post_text(f"Old {day}", f"2019-03-{day}"))
    site_dir.post("2025-01-14-fresh.md", post_text("Fresh", "2025-01-14"))
    result = site_dir.run("publish", env=ENV)
    assert result.exit_code == 0
    assert outbox(site_dir) == {"Fresh": 2}
    assert ("Archived without mailing (dated 2019-03-02, older than max_age = 7 days): posts/2019-03-02-old-02.md"
            in result.output)
    assert result.output.count("Archived without mailing") == 3
    assert "No new posts to mail." in site_dir.run("publish", env=ENV).output and outbox(site_dir) == {"Fresh": 2}


def test_giving_a_mailed_post_a_slug_or_a_new_file_name_never_mails_it_again(site_dir):
    started(site_dir)
    first = site_dir.post("2025-01-14-news.md", post_text("News", "2025-01-14"))
    assert "'news': sent 2" in site_dir.run("publish", env=ENV).output
    text = first.read_text(encoding="utf-8").replace("date: 2025-01-14", "date: 2025-01-14\nslug: big-news")
    first.write_text(text, encoding="utf-8")
    assert "No new posts to mail." in site_dir.run("publish", env=ENV).output
    first.rename(site_dir.posts / "renamed.md")
    again = site_dir.run("publish", env=ENV)
    assert again.exit_code == 0 and "No new posts to mail." in again.output
    assert outbox(site_dir) == {"News": 2} and (site_dir.out / "posts/big-news/index.html").exists()
