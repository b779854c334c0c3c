"""Live preview: the site built in memory with drafts, served on 127.0.0.1, rebuilt when a source changes, and
open pages reloaded.

Three parts, each on its own thread: a `SourceWatcher` (see watch.py) reports changed sources; the rebuild loop
builds the site and publishes a `Snapshot`; the HTTP server answers every request from the latest snapshot.
Nothing is written to disk. A failed build keeps the last good files, but every page shows the problems (and
the terminal is told) until a save fixes them; the server keeps running whatever goes wrong.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jinja2

from ..build.pipeline import Build, build_site
from ..build.theme import make_env
from ..config import Config, load_config
from ..content.site import Site
from ..errors import PublisherError
from ..mail.images import email_copy_original
from ..mail.newsletter import compile_newsletter
from . import preview_pages
from .check import (
    ERROR,
    WARNING,
    Problem,
    from_error,
    html_size,
    problems_from_error,
    sample_message,
)
from .watch import SourceWatcher

HOST = "127.0.0.1"
KEEPALIVE_SECONDS = 15


@dataclass(frozen=True)
class Snapshot:
    """What the server shows: the last good build's files, and the problems of the latest build if it failed."""
    version: str
    files: Mapping[str, bytes] = field(default_factory=dict)
    site: Site | None = None
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class Rebuilt:
    """One rebuild, for the terminal."""
    changed: tuple[Path, ...]
    seconds: float
    pages: int
    rendered: int
    problems: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    bug: BaseException | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str = ""


class Preview:
    """The preview server for the site whose settings are in `config_file`. Use as a context manager."""

    def __init__(self, config_file: Path, port: int = 8000, *, clock: Callable[[], dt.datetime],
                 report: Callable[[Rebuilt], None] = lambda rebuilt: None):
        self.config_file = config_file.resolve()
        self.clock = clock
        self.report = report
        self.server = _Server((HOST, port), _Handler)  # binds now, so a busy port fails here
        self.server.preview = self
        self.url = f"http://{HOST}:{self.server.server_port}"
        self._boot = secrets.token_hex(4)
        self._count = 0
        self._snapshot = Snapshot(version=f"{self._boot}.0")
        self._config: Config | None = None
        self._last: Build | None = None  # the last good build, for the next to reuse
        self._changed = threading.Condition()
        self._pending: set[Path] = set()
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.watcher = SourceWatcher(self.config_file, self.source_dirs, self._on_change, self._stop)

    def __enter__(self) -> Preview:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        """Watch, build once, then serve and rebuild in the background.

        The watchers start first, so that a save made while the first build runs is not missed.
        """
        self._spawn(self.watcher.run_root, self.watcher.run_dirs)
        self.watcher.wait_until_watching()
        self.rebuild(())
        self._spawn(self.server.serve_forever, self._rebuild_loop)

    def _spawn(self, *targets: Callable[[], None]) -> None:
        for target in targets:
            thread = threading.Thread(target=target, name=f"preview-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        self.watcher.close()
        self._dirty.set()
        with self._changed:
            self._changed.notify_all()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def source_dirs(self) -> list[Path]:
        """posts/, pages/, templates/ and static/ (last, see `static_dir`) as the last good publisher.toml names
        them."""
        if self._config is None:
            return [self.config_file.parent / name for name in ("posts", "pages", "templates", "static")]
        paths = self._config.paths
        return [self._config.path(name) for name in (paths.posts, paths.pages, paths.templates, paths.static)]

    def static_dir(self) -> Path:
        return self.source_dirs()[-1]

    def wait_for_change(self, seen: str | None, timeout: float) -> str:
        """The current version, as soon as it differs from `seen` (or after `timeout` seconds)."""
        with self._changed:
            self._changed.wait_for(lambda: self._snapshot.version != seen or self.stopping, timeout)
            return self._snapshot.version

    def _on_change(self, paths: set[Path]) -> None:
        with self._changed:
            self._pending |= paths
        self._dirty.set()

    def _rebuild_loop(self) -> None:
        while True:
            self._dirty.wait()
            if self.stopping:
                return
            self._dirty.clear()
            with self._changed:
                changed, self._pending = self._pending, set()
            self.rebuild(tuple(sorted(changed)))

    def rebuild(self, changed: tuple[Path, ...]) -> Rebuilt:
        """Build the site with drafts and publish the result; a failure is shown, never raised."""
        started = time.perf_counter()
        old = self._snapshot
        new, rendered, warnings, bug = self._build(old)
        static_changed = any(path.is_relative_to(self.static_dir()) for path in changed)
        self._publish(new, changed=new.files != old.files or new.problems != old.problems or static_changed)
        rebuilt = Rebuilt(changed, time.perf_counter() - started, sum(p.endswith(".html") for p in new.files),
                          rendered, new.problems, warnings, bug)
        self.report(rebuilt)
        return rebuilt

    def _build(self, old: Snapshot) -> tuple[Snapshot, int, tuple[Problem, ...], BaseException | None]:
        """The new snapshot, the number of files rendered, the build's warnings and a bug if one struck."""
        try:
            config = load_config(self.config_file).with_site_url(self.url)
            result = build_site(config, self.clock(), drafts=True, last=self._last)
        except (PublisherError, jinja2.TemplateError) as exc:
            problems = tuple(problems_from_error(exc, self.config_file.parent))
            return Snapshot(old.version, old.files, old.site, problems), 0, (), None
        except Exception as exc:  # a bug must not stop the server: show it and keep watching
            problem = Problem(ERROR, f"unexpected {type(exc).__name__}: {exc}")
            return Snapshot(old.version, old.files, old.site, (problem,)), 0, (), exc
        watched = self.source_dirs()
        self._config, self._last = config, result
        if self.source_dirs() != watched:
            self.watcher.restart()
        warnings = tuple(from_error(w, WARNING) for w in result.warnings)
        return Snapshot(old.version, result.files, result.site), result.rendered, warnings, None

    def _publish(self, snapshot: Snapshot, changed: bool) -> None:
        with self._changed:
            if changed:
                self._count += 1
                snapshot = Snapshot(f"{self._boot}.{self._count}", snapshot.files, snapshot.site, snapshot.problems)
            self._snapshot = snapshot
            self._changed.notify_all()

    def respond(self, raw_path: str) -> Response:
        """The response to a GET of `raw_path`, from the current snapshot."""
        snapshot = self._snapshot
        path = unquote(urlsplit(raw_path).path)
        if path.startswith("/newsletter/") and snapshot.site is not None and not snapshot.problems:
            response = self._newsletter(snapshot.site, path)
        else:
            response = self._file(snapshot, path)
        if response.content_type.startswith("text/html"):
            return Response(response.status, preview_pages.inject_reload(response.body, snapshot.version),
                            response.content_type, response.location)
        return response

    def _file(self, snapshot: Snapshot, path: str) -> Response:
        rel = path.lstrip("/")
        wanted = rel + "index.html" if rel == "" or rel.endswith("/") else rel
        is_page = wanted.endswith(".html") or (wanted + "/index.html") in snapshot.files
        if snapshot.problems and is_page:
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, preview_pages.error_page(snapshot.problems))
        if wanted in snapshot.files:
            return Response(HTTPStatus.OK, snapshot.files[wanted], _content_type(wanted))
        if wanted + "/index.html" in snapshot.files:
            return Response(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", location=f"/{wanted}/")
        data = _read_static(self.static_dir(), wanted)
        if data is None and (original := email_copy_original(wanted)):  # the build makes it; the original stands in
            data = _read_static(self.static_dir(), original)
        if data is not None:
            return Response(HTTPStatus.OK, data, _content_type(wanted))
        return Response(HTTPStatus.NOT_FOUND, snapshot.files.get("404.html", b"<!doctype html><h1>Not found</h1>"))

    def _newsletter(self, site: Site, path: str) -> Response:
        slug = path.removeprefix("/newsletter/").removesuffix("index.html").strip("/")
        if not slug:
            return Response(HTTPStatus.OK, preview_pages.newsletter_index(site))
        post = next((p for p in site.posts if p.slug == slug), None)
        if post is None:
            return Response(HTTPStatus.NOT_FOUND, preview_pages.newsletter_index(site))
        config = site.config
        try:
            newsletter = compile_newsletter(post, config, make_env(config.path(config.paths.templates)))
        except (PublisherError, jinja2.TemplateError) as exc:
            problems = problems_from_error(exc, config.root)
            return Response(HTTPStatus.INTERNAL_SERVER_ERROR, preview_pages.error_page(problems))
        msg = sample_message(newsletter, self.clock())
        warnings = [from_error(w, WARNING) for w in newsletter.warnings]
        page = preview_pages.email_page(newsletter.subject, msg, html_size(msg), config.newsletter.max_html_bytes,
                                        warnings)
        return Response(HTTPStatus.OK, page)


def _content_type(path: str) -> str:
    guessed = mimetypes.guess_type(path)[0] or "application/octet-stream"
    text = guessed.startswith("text/") or guessed in ("application/xml", "application/json", "image/svg+xml")
    return f"{guessed}; charset=utf-8" if text else guessed


def _read_static(static_dir: Path, rel: str) -> bytes | None:
    """A file under static/, never one outside it."""
    root = static_dir.resolve()
    try:
        target = (root / rel).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return target.read_bytes()
    except (OSError, ValueError):  # unreadable, or a name no file can have (a NUL byte)
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    preview: Preview


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "publisher-preview"

    def do_GET(self) -> None:
        if urlsplit(self.path).path == preview_pages.EVENTS_PATH:
            self._events()
            return
        self._send(self.server.preview.respond(self.path), head_only=False)

    def do_HEAD(self) -> None:
        self._send(self.server.preview.respond(self.path), head_only=True)

    def _send(self, response: Response, head_only: bool) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        if response.location:
            self.send_header("Location", response.location)
        self.end_headers()
        if not head_only:
            self.wfile.write(response.body)

    def _events(self) -> None:
        """Server-Sent Events: the site's version now and after every change, until the page goes away."""
        preview = self.server.preview
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = None
        try:
            self.wfile.write(b"retry: 500\n\n")
            while not preview.stopping:
                version = preview.wait_for_change(seen, KEEPALIVE_SECONDS)
                self.wfile.write(f"data: {version}\n\n".encode() if version != seen else b": keep-alive\n\n")
                self.wfile.flush()
                seen = version
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, format: str, *args) -> None:
        """Quiet: the terminal shows rebuilds, not every request."""
