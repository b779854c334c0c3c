"""What `publish` mails, through the CLI with a real SQLite store and the Maildir outbox: only posts new to the
site. Old posts that appear later, posts renamed or given a slug, and posts marked `email: false` are recorded
as archive and never mailed; a post keeps the id written into its front matter on first publish."""

from __future__ import annotations

import mailbox
import re
from collections import Counter

from publisher.store import open_sqlite as open_store

from ..fixtures_files import read_only
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
    found = re.search(r"^id: ([0-9a-f-]{36})$", path.read_text(encoding="utf-8"), re.M)
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


def test_email_false_keeps_a_post_out_of_the_newsletter_even_when_changed_to_true_later(site_dir):
    started(site_dir)
    quiet = site_dir.post("2025-01-14-quiet.md", post_text("Quiet", "2025-01-14", email="false"))
    result = site_dir.run("publish", env=ENV)
    assert "Archived without mailing (email: false): posts/2025-01-14-quiet.md" in result.output
    assert (site_dir.out / "posts/quiet/index.html").exists() and outbox(site_dir) == Counter()
    quiet.write_text(quiet.read_text(encoding="utf-8").replace("email: false", "email: true"), encoding="utf-8")
    assert "No new posts to mail." in site_dir.run("publish", env=ENV).output and outbox(site_dir) == Counter()


def test_the_id_is_written_once_on_first_publish_and_a_rebuild_is_the_same_site(site_dir):
    site_dir.post("2024-01-01-old.md", post_text("Old", "2024-01-01"))
    first = site_dir.run("publish", env=ENV)
    assert "Wrote its stable id into the front matter of 1 post (posts/2024-01-01-old.md)" in first.output
    path = site_dir.posts / "2024-01-01-old.md"
    post_id = written_id(path)
    assert path.read_text(encoding="utf-8") == post_text("Old", "2024-01-01", id=post_id)
    pages = {p: p.read_bytes() for p in site_dir.out.rglob("*") if p.is_file()}
    second = site_dir.run("publish", env=ENV)
    assert "Wrote" not in second.output and written_id(path) == post_id
    assert {p: p.read_bytes() for p in site_dir.out.rglob("*") if p.is_file()} == pages
    clean = site_dir.root / "clean"
    assert site_dir.run("build", "--clean", "--out", str(clean)).exit_code == 0
    assert {p.relative_to(clean): p.read_bytes() for p in clean.rglob("*") if p.is_file()} == {
        p.relative_to(site_dir.out): data for p, data in pages.items()}


def test_dry_run_says_what_would_be_archived_and_writes_no_id(site_dir):
    started(site_dir)
    old = site_dir.post("2019-03-02-old.md", post_text("Old", "2019-03-02"))
    before = old.read_bytes()
    dry = site_dir.run("publish", "--dry-run", env=ENV)
    assert ("Would archive without mailing (dated 2019-03-02, older than max_age = 7 days): posts/2019-03-02-old.md"
            in dry.output)
    assert old.read_bytes() == before
    with open_store(site_dir.root / "publisher.db") as store:
        assert store.published_posts() == []


def test_a_post_whose_id_cannot_be_written_is_known_by_its_slug_and_never_mailed_twice(site_dir):
    started(site_dir)
    news = site_dir.post("2025-01-14-news.md", post_text("News", "2025-01-14"))
    with read_only(site_dir.posts):
        result = site_dir.run("publish", env=ENV)
        assert result.exit_code == 0 and "'news': sent 2" in result.output
        assert "posts/2025-01-14-news.md: its id could not be written" in result.output
        assert "No new posts to mail." in site_dir.run("publish", env=ENV).output
    with open_store(site_dir.root / "publisher.db") as store:
        recorded = store.published_posts()[0].post_id
    again = site_dir.run("publish", env=ENV)
    assert "No new posts to mail." in again.output and "Wrote its stable id" in again.output
    assert written_id(news) == recorded and outbox(site_dir) == {"News": 2}


def test_a_copied_post_with_the_same_id_stops_build_and_check_naming_both_files(site_dir):
    text = post_text("Original", "2025-01-14", id="3f2b8c1e-7d4a-4c1b-9e2f-0a1b2c3d4e5f")
    site_dir.post("a-original.md", text)
    site_dir.post("b-copy.md", text.replace("Original", "Copy"))
    for command in ("build", "check"):
        result = site_dir.run(command, env=ENV)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "posts/b-copy.md" in result.output and "is already the id of posts/a-original.md" in result.output
        assert "delete the 'id:' line from the copy" in result.output


def test_a_site_sets_its_own_max_age_and_a_bad_one_is_refused_with_the_fix(site_dir):
    toml = (site_dir.root / "publisher.toml").read_text(encoding="utf-8")
    site_dir.config(toml + '\n[newsletter]\nmax_age = "36 hours"\n')
    started(site_dir)
    site_dir.post("2025-01-13-two-days.md", post_text("Two days", "2025-01-13"))
    site_dir.post("2025-01-14-one-day.md", post_text("One day", "2025-01-14 12:00"))
    result = site_dir.run("publish", env=ENV)
    assert "(dated 2025-01-13, older than max_age = 36 hours): posts/2025-01-13-two-days.md" in result.output
    assert outbox(site_dir) == {"One day": 2}
    site_dir.config(toml + '\n[newsletter]\nmax_age = "a week"\n')
    bad = site_dir.run("publish", env=ENV)
    assert bad.exit_code == 1 and "newsletter.max_age: expected a number of days above 0 (max_age = 7)" in bad.output
    assert "got 'a week'" in bad.output and "publisher.toml" in bad.output


def test_a_post_started_with_new_carries_its_id_so_publish_writes_nothing_into_it(site_dir):
    started(site_dir)
    assert site_dir.run("new", "Fresh news", env=ENV).exit_code == 0
    assert site_dir.run("new", "Other news", env=ENV).exit_code == 0
    fresh, other = sorted(site_dir.posts.glob("*.md"))
    assert written_id(fresh) != written_id(other)
    text = fresh.read_text(encoding="utf-8").replace("draft: true\n", "")
    fresh.write_text(text, encoding="utf-8")
    result = site_dir.run("publish", env=ENV)
    assert "'fresh-news': sent 2" in result.output and "Wrote" not in result.output
    assert fresh.read_text(encoding="utf-8") == text


def test_send_of_a_renamed_post_knows_it_was_sent_under_its_old_slug(site_dir):
    started(site_dir)
    news = site_dir.post("2025-01-14-news.md", post_text("News", "2025-01-14"))
    assert "'news': sent 2" in site_dir.run("publish", env=ENV).output
    news.rename(site_dir.posts / "2025-01-14-big-news.md")
    again = site_dir.run("send", "big-news", env=ENV)
    assert again.exit_code == 0 and "'big-news' was already sent (2 sent, 0 failed)" in again.output
    assert outbox(site_dir) == {"News": 2} and "big-news" in site_dir.run("status", env=ENV).output
