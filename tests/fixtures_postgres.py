"""Fixtures for the store's two backends: a throwaway PostgreSQL cluster started once per test session, a fresh
database in it for each test, and `backend`, which runs a test once against SQLite and once against PostgreSQL.

Where PostgreSQL cannot be started (tests/postgres_cluster.py says why, and `make test` and the report header say
so loudly first), only the PostgreSQL runs are skipped: at collection, as the browser and mail-server tests are.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from publisher.store import open_sqlite
from publisher.store.postgres import open_postgres
from publisher.store.postgres_connection import connect
from publisher.store.postgres_schema import migrate

from .postgres_cluster import PASSWORD, Cluster, missing_reason

_databases = itertools.count(1)


def pytest_report_header(config) -> list[str]:
    reason = missing_reason()
    return [f"!!! PostgreSQL tests SKIPPED: {reason} !!!" if reason else "PostgreSQL tests: one cluster per session"]


def needs_postgres(item: pytest.Item) -> bool:
    """Whether a test uses PostgreSQL: it asks for the cluster or a database, or is the PostgreSQL run of a test
    parametrised over both backends."""
    callspec = getattr(item, "callspec", None)
    return ({"postgres_cluster", "postgres_url"} & set(getattr(item, "fixturenames", ()))
            or (callspec is not None and callspec.params.get("backend") == "postgres"))


def pytest_collection_modifyitems(config, items) -> None:
    """Skip the tests that use PostgreSQL when, and only when, it cannot be started here."""
    reason = missing_reason()
    if reason:
        for item in items:
            if needs_postgres(item):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The session's PostgreSQL cluster (fsync off: these tests kill processes, never the machine)."""
    reason = missing_reason()
    if reason:
        pytest.fail(f"{reason}; a test reaching PostgreSQL another way than `postgres_url` or `backend` must ask "
                    "for one of them, to be skipped instead")
    cluster = Cluster({"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster, monkeypatch) -> str:
    """The URL of an empty database of this test's own, migrated to the current schema; PGPASSWORD is set."""
    name = f"test_{next(_databases)}"
    postgres_cluster.admin(f"CREATE DATABASE {name}")
    url = postgres_cluster.url(name)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    with connect(url) as conn:
        migrate(conn, url)
    return url


@dataclass
class Backend:
    """One backend's database for a test: `open()` a store on it, as often as a test needs connections."""

    name: str
    open: Callable[[], object]
    location: str


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        path = tmp_path / "publisher.db"
        return Backend("sqlite", lambda: open_sqlite(path), str(path))
    url = request.getfixturevalue("postgres_url")
    return Backend("postgres", lambda: open_postgres(url), url)


@pytest.fixture
def store(backend: Backend):
    with backend.open() as opened:
        yield opened
