"""Fixtures for building small sites in a temporary folder, written inline by each test."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import main

BASIC_TOML = """\
[site]
title = "Test Site"
url = "https://example.com"
author = "Ann Author"
language = "en-GB"
timezone = "Europe/London"
"""

BOOKING_TOML = """
[booking]
heading = "Book a mobile massage"
text = "Mobile massage in York."
phone = "07713 250352"
country_code = "44"
email = "david@massageinyork.co.uk"
url = "https://massageinyork.co.uk/booking/"
button = "Book a massage"
services = ["Sports massage", "Deep tissue massage"]
"""


def post_text(title: str = "A post", date: str = "2024-05-03", body: str = "Hello **world**.", **meta) -> str:
    """A post file's text; extra front matter is written as given (values are raw YAML)."""
    lines = [f"title: {title}", f"date: {date}"] + [f"{k}: {v}" for k, v in meta.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body + "\n"


class SiteDir:
    """A site folder under tmp_path: write posts and config, run the CLI against it."""

    def __init__(self, root: Path):
        self.root = root
        self.posts = root / "posts"
        self.posts.mkdir(parents=True, exist_ok=True)
        self.config(BASIC_TOML + BOOKING_TOML)

    def config(self, text: str) -> None:
        (self.root / "publisher.toml").write_text(text, encoding="utf-8")

    def post(self, name: str, text: str | bytes) -> Path:
        path = self.posts / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return path

    def run(self, *args: str, env: dict | None = None):
        runner = CliRunner()
        return runner.invoke(main, ["--config", str(self.root), *args], env=env, catch_exceptions=False)

    @property
    def out(self) -> Path:
        return self.root / "_site"

    def read(self, relative: str) -> str:
        return (self.out / relative).read_text(encoding="utf-8")


@pytest.fixture
def site_dir(tmp_path: Path) -> SiteDir:
    return SiteDir(tmp_path / "site")


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.timezone.utc)


@contextmanager
def held(database: Path) -> Iterator[None]:
    """The database's write lock held by another connection, as another process would, until the block ends."""
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()
