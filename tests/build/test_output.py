"""The output folder through the CLI: a build deletes only files it wrote itself, refuses folders that hold the
site's own files or someone else's, and clears away the temporary files a killed build leaves behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..fixtures_site import post_text

ENV = {"PUBLISHER_NOW": "2025-01-15T12:00:00+00:00"}
KILL_AT_REPLACE = """\
import os, signal, sys
real_replace = os.replace
def replace(source, target):
    if "/_site/" in str(source) and str(source).endswith(".tmp") and ".html." in str(source):
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, target)
os.replace = replace
from publisher.cli import main
sys.exit(main())
"""


def files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def add_readers(site_dir, count: int) -> None:
    for n in range(count):
        assert site_dir.run("subscribers", "add", f"reader{n}@example.com").exit_code == 0


def test_a_folder_with_files_of_its_own_is_refused_and_with_force_its_files_stay(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    docs = site_dir.root / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("keep")
    refused = site_dir.run("build", "--out", str(docs))
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "not empty" in refused.output and "--force" in refused.output and "docs" in refused.output
    assert files(docs) == {"notes.txt"}
    assert site_dir.run("build", "--out", str(docs), "--force").exit_code == 0
    assert (docs / "notes.txt").read_text() == "keep" and (docs / "posts/a/index.html").is_file()
    (site_dir.posts / "a.md").unlink()
    site_dir.post("b.md", post_text("B", "2024-01-02"))
    assert site_dir.run("build", "--out", str(docs)).exit_code == 0
    assert (docs / "notes.txt").read_text() == "keep"
    assert (docs / "posts/b/index.html").is_file() and not (docs / "posts/a").exists()


@pytest.mark.parametrize("out, config", [
    (".", ""),
    (None, '\n[paths]\noutput = "."\n'),
    ("posts", ""),
    ("data", '\n[database]\npath = "data/publisher.db"\n'),
    ("static/site", ""),
])
def test_an_output_folder_that_holds_the_site_itself_is_refused_even_with_force(site_dir, out, config):
    site_dir.config((site_dir.root / "publisher.toml").read_text() + config)
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    (site_dir.root / "static").mkdir()
    (site_dir.root / "static" / "logo.svg").write_text("<svg/>")
    (site_dir.root / "data").mkdir()
    add_readers(site_dir, 3)
    before = files(site_dir.root)
    args = ["build", "--force"] + (["--out", str(site_dir.root / out)] if out else [])
    result = site_dir.run(*args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "holds the site's own" in result.output or "inside the site's static" in result.output
    assert files(site_dir.root) == before
    counts = site_dir.run("subscribers", "count").stdout.splitlines()
    assert counts[-1].split() == ["total", "3"]


def test_publish_into_a_folder_holding_the_site_stops_before_mailing_anyone(site_dir):
    site_dir.config((site_dir.root / "publisher.toml").read_text() + '\n[paths]\noutput = "."\n')
    site_dir.post("2025-01-10-new.md", post_text("New", "2025-01-10"))
    add_readers(site_dir, 2)
    result = site_dir.run("publish", "--send-latest", env=ENV)
    assert result.exit_code == 1 and "holds the site's own" in result.output
    assert not (site_dir.root / "outbox").exists() and (site_dir.root / "publisher.toml").is_file()


def test_the_authors_files_in_the_output_survive_rebuilds_and_clean_builds(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    site_dir.post("b.md", post_text("B", "2024-01-02"))
    assert site_dir.run("build").exit_code == 0
    (site_dir.out / "CNAME").write_text("blog.example.com\n")
    (site_dir.out / "posts" / "a" / "photo.jpg").write_bytes(b"jpeg")
    (site_dir.posts / "a.md").unlink()
    assert site_dir.run("build").exit_code == 0
    assert not (site_dir.out / "posts/a/index.html").exists()
    assert (site_dir.out / "posts/a/photo.jpg").read_bytes() == b"jpeg"
    assert (site_dir.out / "CNAME").read_text() == "blog.example.com\n"
    (site_dir.posts / "b.md").unlink()
    assert site_dir.run("build", "--clean").exit_code == 0
    assert not (site_dir.out / "posts/b").exists() and (site_dir.out / "CNAME").is_file()


def test_an_empty_folder_is_built_into_without_force(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    public = site_dir.root / "public"
    public.mkdir()
    assert site_dir.run("build", "--out", str(public)).exit_code == 0
    assert (public / "posts/a/index.html").is_file()


def test_a_folder_an_earlier_version_built_is_taken_over_deleting_nothing_it_did_not_write(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    site_dir.post("b.md", post_text("B", "2024-01-02"))
    assert site_dir.run("build").exit_code == 0
    for hidden in site_dir.out.glob(".*"):  # an earlier version kept no record of what it wrote
        hidden.unlink()
    (site_dir.out / "CNAME").write_text("blog.example.com\n")
    (site_dir.out / "posts" / "a" / ".index.html.4242.tmp").write_text("half a page")
    (site_dir.posts / "b.md").unlink()
    result = site_dir.run("build")
    assert result.exit_code == 0
    assert (site_dir.out / "CNAME").is_file() and (site_dir.out / "posts/b/index.html").is_file()
    assert not (site_dir.out / "posts/a/.index.html.4242.tmp").exists()
    assert "3 files there were not written by publisher" in result.output
    site_dir.post("c.md", post_text("C", "2024-01-03"))
    assert site_dir.run("build").exit_code == 0
    (site_dir.posts / "c.md").unlink()
    assert site_dir.run("build").exit_code == 0
    assert not (site_dir.out / "posts/c").exists() and (site_dir.out / "CNAME").is_file()


def test_temporary_files_of_a_killed_build_are_cleared_by_the_next_one(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01", "First body."))
    assert site_dir.run("build").exit_code == 0
    folder = site_dir.out / "posts" / "a"
    (folder / ".notes.txt.123.tmp").write_text("the author's")
    (folder / ".index.html.bak").write_text("the author's too")
    site_dir.post("a.md", post_text("A", "2024-01-01", "Second body."))
    killed = subprocess.run([sys.executable, "-c", KILL_AT_REPLACE, "--config", str(site_dir.root), "build"],
                            capture_output=True, text=True, env={**os.environ, **ENV})
    assert killed.returncode == -signal.SIGKILL
    left = [p.name for p in site_dir.out.glob(".index.html.*.tmp")]
    assert len(left) == 1 and re.fullmatch(r"\.index\.html\.\d+\.tmp", left[0])
    assert site_dir.run("build").exit_code == 0
    assert not [p for p in site_dir.out.rglob("*.tmp") if p.name != ".notes.txt.123.tmp"]
    assert "Second body." in site_dir.read("posts/a/index.html") and "Second body." in site_dir.read("index.html")
    assert (folder / ".notes.txt.123.tmp").is_file() and (folder / ".index.html.bak").is_file()



def test_an_output_path_that_is_a_file_is_one_clear_line_and_the_file_stays(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    notes = site_dir.root / "notes.txt"
    notes.write_text("keep")
    result = site_dir.run("build", "--out", str(notes))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the output folder is a file" in result.output and notes.read_text() == "keep"


def test_a_folder_of_the_authors_named_like_a_staging_folder_survives_a_first_build(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    mine = site_dir.root / "._site.new"
    mine.mkdir()
    (mine / "draft.txt").write_text("keep")
    assert site_dir.run("build").exit_code == 0
    assert (mine / "draft.txt").read_text() == "keep" and (site_dir.out / "posts/a/index.html").is_file()
    assert not [p for p in site_dir.root.iterdir() if p.name.startswith("._site.new.")]


def test_a_hand_edited_manifest_naming_the_folder_itself_deletes_nothing_and_gives_no_traceback(site_dir):
    site_dir.post("a.md", post_text("A", "2024-01-01"))
    assert site_dir.run("build").exit_code == 0
    (site_dir.out / "keep").mkdir()
    (site_dir.out / "keep" / "x.txt").write_text("keep")
    (site_dir.out / ".publisher-manifest").write_text('{"finished": true, "files": [".", "keep/.", "keep//x.txt"]}\n')
    result = site_dir.run("build")
    assert result.exit_code == 0, result.output
    assert (site_dir.out / "keep" / "x.txt").read_text() == "keep"
