"""The store package's public face: `open_store` opens what publisher.toml names, the SQLite store keeps every
promise of the `Store` protocol, and nothing outside the package knows the database is SQLite."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from pathlib import Path

import pytest

from publisher.config import find_config, load_config
from publisher.errors import DatabaseBusy
from publisher.store import Store, open_store
from publisher.store.postgres import PostgresStore
from publisher.store.sqlite import SqliteStore

from ..fixtures_site import held

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PACKAGE = Path(__file__).resolve().parents[2] / "src" / "publisher"


def test_open_store_opens_the_database_publisher_toml_names_with_its_busy_timeout(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "publisher.toml").write_text('[site]\ntitle = "T"\nurl = "https://example.com"\n'
                                             '[database]\npath = "data/list.db"\nbusy_timeout = 0.2\n')
    config = load_config(find_config(tmp_path), env={})
    with open_store(config) as store:
        store.add_subscriber("ann@example.com", now=NOW)
        with held(tmp_path / "data" / "list.db"), pytest.raises(DatabaseBusy, match=r"list\.db is busy: .* 0.2 s"):
            store.add_subscriber("bo@example.com", now=NOW)
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["list.db"]


def promised() -> list[str]:
    """The methods and properties the Store protocol declares, read from its class body."""
    tree = ast.parse((PACKAGE / "store" / "base.py").read_text(encoding="utf-8"))
    [protocol] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Store"]
    return [node.name for node in protocol.body if isinstance(node, ast.FunctionDef)]


def parameters(member) -> list[inspect.Parameter]:
    """A method's (or a property's getter's) parameters, names, kinds, defaults and annotations."""
    function = member.fget if isinstance(member, property) else member
    return list(inspect.signature(function).parameters.values())


@pytest.mark.parametrize("name", promised())
@pytest.mark.parametrize("implementation", [SqliteStore, PostgresStore], ids=["sqlite", "postgres"])
def test_each_store_keeps_each_promise_of_the_store_protocol_with_the_same_parameters(implementation, name):
    assert parameters(getattr(implementation, name)) == parameters(getattr(Store, name))


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def test_outside_the_store_package_nothing_imports_a_database_driver_or_a_store_implementation():
    found = [f"{path.relative_to(PACKAGE)}:{line} {module}" for path in sorted(PACKAGE.rglob("*.py"))
             if path.relative_to(PACKAGE).parts[0] != "store"
             for line, module in imports_of(path)
             if module.split(".")[0] in ("sqlite3", "psycopg") or "store.sqlite" in module or "store.postgres" in module]
    assert found == []
