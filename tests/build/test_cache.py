"""The build cache: what one build leaves for the next, trusted only under the fingerprints it was saved with,
and ignored (never an error) when it cannot be read."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from publisher.build.cache import (
    OUTPUTS_FILE,
    POSTS_FILE,
    SOURCES_FILE,
    BuildCache,
    Record,
    load_cache,
    load_parsed,
    parse_print,
    render_print,
    save_cache,
    save_parsed,
)
from publisher.config import load_config
from publisher.content.posts import parse_post

from ..fixtures_site import post_text

SAVED = BuildCache(signatures={"posts/a.md": ((10, 1, 1, 7), "0a")}, scanned_ns=5,
                   outputs={"index.html": Record("key", 120, 5)})


def parsed(title: str):
    return parse_post(Path(f"posts/{title}.md"), post_text(title), "https://example.com", ZoneInfo("UTC"))


def test_the_cache_comes_back_only_for_the_fingerprints_and_folder_it_was_saved_with(tmp_path):
    out = tmp_path / "_site"
    save_cache(tmp_path, "parse", "render", out, BuildCache(), SAVED)
    assert load_cache(tmp_path, "parse", "render", out) == SAVED
    assert load_cache(tmp_path, "new code", "render", out) == BuildCache(outputs=SAVED.outputs)
    signatures = BuildCache(signatures=SAVED.signatures, scanned_ns=SAVED.scanned_ns)
    assert load_cache(tmp_path, "parse", "new templates", out) == signatures
    assert load_cache(tmp_path, "parse", "render", tmp_path / "public") == signatures


def test_a_cache_that_cannot_be_read_is_ignored(tmp_path):
    for name in (SOURCES_FILE, OUTPUTS_FILE, POSTS_FILE.format("0")):
        (tmp_path / name).write_bytes(b"not a pickle")
    assert load_cache(tmp_path, "parse", "render", tmp_path / "_site") == BuildCache()
    assert load_parsed(tmp_path, "parse") == {}


def test_parses_come_back_by_digest_and_an_edit_rewrites_only_its_own_shard(tmp_path):
    first = {"0a": parsed("one"), "1b": parsed("two")}
    save_parsed(tmp_path, "parse", first, {})
    assert load_parsed(tmp_path, "parse") == first
    assert load_parsed(tmp_path, "new code") == {}
    inodes = {shard: (tmp_path / POSTS_FILE.format(shard)).stat().st_ino for shard in "01"}
    edited = {"0a": first["0a"], "1c": parsed("two, edited")}
    save_parsed(tmp_path, "parse", edited, first)
    assert load_parsed(tmp_path, "parse") == edited
    assert (tmp_path / POSTS_FILE.format("0")).stat().st_ino == inodes["0"]
    assert (tmp_path / POSTS_FILE.format("1")).stat().st_ino != inodes["1"]


def test_the_render_fingerprint_follows_the_templates_and_the_drafts_mode(tmp_path):
    templates = tmp_path / "templates"
    plain = render_print("parse", templates, drafts=False)
    assert render_print("parse", templates, drafts=True) != plain
    templates.mkdir()
    (templates / "post.html").write_text("{{ post.title }}")
    own = render_print("parse", templates, drafts=False)
    (templates / "post.html").write_text("<h1>{{ post.title }}</h1>")
    assert len({plain, own, render_print("parse", templates, drafts=False)}) == 3


def test_the_parse_fingerprint_follows_the_config(site_dir):
    config = load_config(site_dir.root / "publisher.toml")
    assert parse_print(config) == parse_print(config)
    assert parse_print(config.with_site_url("https://example.org")) != parse_print(config)
