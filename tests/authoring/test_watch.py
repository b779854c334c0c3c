"""The source watcher: saves to the site's sources are reported; writes elsewhere in the folder are not."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from publisher.authoring.watch import SourceWatcher


class Watching:
    """A running SourceWatcher over a site folder, its batches of changes in a queue."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.config = self.root / "publisher.toml"
        self.config.write_text("[site]\n")
        self.batches: queue.Queue[set[Path]] = queue.Queue()
        self.watcher = SourceWatcher(self.config, self.dirs, self.batches.put, threading.Event())

    def dirs(self) -> list[Path]:
        return [self.root / name for name in ("posts", "templates", "static")]

    def next_batch(self, timeout: float = 5) -> set[Path]:
        return self.batches.get(timeout=timeout)

    def quiet(self, seconds: float = 0.6) -> bool:
        try:
            self.batches.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@pytest.fixture
def watching(tmp_path: Path) -> Iterator[Watching]:
    (tmp_path / "posts").mkdir()
    w = Watching(tmp_path)
    threads = [threading.Thread(target=run, daemon=True) for run in (w.watcher.run_root, w.watcher.run_dirs)]
    for thread in threads:
        thread.start()
    w.watcher.wait_until_watching()
    yield w
    w.watcher.close()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads), "the watcher stops when closed"


def test_a_saved_post_and_a_saved_config_are_reported(watching):
    post = watching.root / "posts" / "a.md"
    post.write_text("---\ntitle: A\n---\n")
    assert post in set().union(watching.next_batch(), *_drain(watching))
    watching.config.write_text("[site]\ntitle = 'x'\n")
    assert watching.config in watching.next_batch()


def test_posts_in_a_new_sub_folder_are_watched(watching):
    folder = watching.root / "posts" / "2024"
    folder.mkdir()
    (folder / "a.md").write_text("first")
    assert folder in set().union(watching.next_batch(), *_drain(watching)), "the new folder prompts a rebuild"
    (folder / "a.md").write_text("second")
    assert folder / "a.md" in set().union(watching.next_batch(), *_drain(watching))


def test_writes_to_the_output_database_and_other_files_are_ignored(watching):
    for name in ("_site/index.html", "publisher.db", ".venv/lib/x.py", "notes.txt"):
        path = watching.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert watching.quiet()


def test_a_source_folder_made_while_watching_is_watched(watching):
    templates = watching.root / "templates"
    templates.mkdir()
    assert templates in watching.next_batch()
    _drain(watching)
    page = templates / "post.html"
    page.write_text("{{ post.title }}")
    assert page in set().union(watching.next_batch(), *_drain(watching))


def test_a_file_that_comes_and_goes_within_a_batch_is_not_reported(watching):
    keep = watching.root / "posts" / "b.md"
    temporary = watching.root / "posts" / "sedAbC123"
    temporary.write_text("x")
    keep.write_text("y")
    temporary.rename(watching.root / "posts" / "c.md")
    changed = set().union(watching.next_batch(), *_drain(watching))
    assert keep in changed and temporary not in changed


def _drain(watching: Watching, seconds: float = 0.3) -> list[set[Path]]:
    """The batches that arrive until the watcher has been quiet for `seconds`."""
    batches = []
    while True:
        try:
            batches.append(watching.batches.get(timeout=seconds))
        except queue.Empty:
            return batches
