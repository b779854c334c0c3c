"""Watching a site's sources: publisher.toml and, recursively, posts/, pages/, templates/ and static/.

The site's folder is watched on its own, not recursively (it may hold .venv/, _site/ and the database), so
only a change to publisher.toml, or a source folder appearing or going, is seen there; the source folders get
a recursive watch that starts afresh whenever the folder list may have changed. Changes arrive in debounced
batches (watchfiles), so a burst of saves makes one rebuild.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import watchfiles

DEBOUNCE_MS = 300  # the most a burst of saves is gathered before it is reported
STEP_MS = 50  # a pause this long ends a burst


class _Either:
    """Set when either event is set (watchfiles polls `is_set()` to know when to stop)."""

    def __init__(self, *events: threading.Event):
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)


class SourceWatcher:
    """Calls `on_change` with each batch of changed paths until `close()`; run `run_root` and `run_dirs` on
    threads of their own. `source_dirs()` is asked afresh whenever the watch restarts."""

    def __init__(self, config_file: Path, source_dirs: Callable[[], list[Path]],
                 on_change: Callable[[set[Path]], None], stop: threading.Event):
        self.config_file = config_file
        self.source_dirs = source_dirs
        self.on_change = on_change
        self.stop = stop
        self._restart = threading.Event()
        self._watching = (threading.Event(), threading.Event())  # root, source folders

    def wait_until_watching(self, timeout: float = 10) -> None:
        for event in self._watching:
            event.wait(timeout)

    def restart(self) -> None:
        """Watch the source folders afresh (publisher.toml may name others now)."""
        self._restart.set()

    def close(self) -> None:
        self.stop.set()
        self._restart.set()

    def run_root(self) -> None:
        self._watching[0].set()
        for changes in watchfiles.watch(self.config_file.parent, watch_filter=self._is_root_source, recursive=False,
                                        stop_event=self.stop, debounce=DEBOUNCE_MS, step=STEP_MS):
            self.restart()
            self.on_change(_paths(changes))

    def _is_root_source(self, change: watchfiles.Change, path: str) -> bool:
        return Path(path) == self.config_file or Path(path) in self.source_dirs()

    def run_dirs(self) -> None:
        while not self.stop.is_set():
            self._restart.clear()
            dirs = [d for d in self.source_dirs() if d.is_dir()]
            self._watching[1].set()
            if not dirs:  # nothing to watch until the root watcher sees a source folder appear
                self._restart.wait()
                continue
            for changes in watchfiles.watch(*dirs, stop_event=_Either(self.stop, self._restart),
                                            debounce=DEBOUNCE_MS, step=STEP_MS):
                self.on_change(_paths(changes))


def _paths(changes: Iterable[tuple[watchfiles.Change, str]]) -> set[Path]:
    """The changed paths, less files that came and went within the batch (an editor's temporary files)."""
    added = {path for change, path in changes if change == watchfiles.Change.added}
    return {Path(path) for _, path in changes if path not in added or Path(path).exists()}
