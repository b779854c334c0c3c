"""Post files before parsing: a file is known again by its stat signature only when that is safe, so a rebuild
reads no file that has not changed and never misses one that has (git's "racily clean" rule)."""

from __future__ import annotations

from publisher.content.sources import read_sources, settled, source_digest

from ..fixtures_site import post_text


def scan_once(tmp_path):
    """A posts folder with one post, scanned once: the post's source and what a build would remember of it."""
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text(post_text("First words"), encoding="utf-8")
    [source] = read_sources(posts, tmp_path)
    changed = max(source.signature[1], source.signature[2])
    return posts, source, changed


def test_a_file_settled_before_the_last_scan_began_is_known_by_its_signature_and_not_read(tmp_path):
    posts, first, changed = scan_once(tmp_path)
    known = {first.name: (first.signature, first.digest)}
    [again] = read_sources(posts, tmp_path, known, scanned_ns=changed + 1)
    assert again.raw is None and again.digest == first.digest


def test_a_file_changed_in_the_tick_the_last_scan_began_is_read_again_though_its_size_and_times_match(tmp_path):
    posts, first, changed = scan_once(tmp_path)
    stale = {first.name: (first.signature, "digest of what the file held earlier in that tick")}
    [again] = read_sources(posts, tmp_path, stale, scanned_ns=changed)
    assert again.raw == (posts / "a.md").read_bytes()
    assert again.digest == source_digest("posts/a.md", again.raw) == first.digest


def test_a_file_whose_size_or_times_changed_is_read_again(tmp_path):
    posts, first, changed = scan_once(tmp_path)
    (posts / "a.md").write_text(post_text("Other, longer words"), encoding="utf-8")
    known = {first.name: (first.signature, first.digest)}
    [again] = read_sources(posts, tmp_path, known, scanned_ns=changed + 10**12)
    assert again.raw == (posts / "a.md").read_bytes() and again.digest != first.digest


def test_without_the_time_of_the_last_scan_every_file_is_read(tmp_path):
    posts, first, _ = scan_once(tmp_path)
    [again] = read_sources(posts, tmp_path, {first.name: (first.signature, first.digest)})
    assert again.raw is not None


def test_whole_second_file_times_must_be_two_seconds_older_than_the_scan():
    """A file system that keeps times to the second (or FAT's two) stamps a change later in that second with
    the same time, so such a file is settled only once the scan began a whole tick after it."""
    whole = (100, 7_000_000_000, 7_000_000_000, 1)
    assert not settled(whole, 7_000_000_001)
    assert not settled(whole, 8_999_999_999)
    assert settled(whole, 9_000_000_000)
    fine = (100, 7_000_000_123, 7_000_000_001, 1)
    assert not settled(fine, 7_000_000_123)
    assert settled(fine, 7_000_000_124)
