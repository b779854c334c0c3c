"""The house rules of DESIGN.md that the file tree itself can show: stages import only from earlier stages, and
only the command line prints or exits."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "publisher"
STAGES = ["content", "mail", "build", "store", "sending", "feedback", "service", "authoring", "cli"]  # in pipeline order
FOUNDATION = {"config", "errors", "clock", "parallel"}  # used by every stage; import no stage themselves


def stage_of(module: tuple[str, ...]) -> int:
    """-1 for the foundation, else the stage's place in the pipeline."""
    return -1 if module[0] in FOUNDATION else STAGES.index(module[0])


def modules() -> list[tuple[Path, tuple[str, ...]]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] not in ("__init__", "__main__", "web"):
            found.append((path, parts))
    return found


def imported_stages(path: Path, parts: tuple[str, ...]) -> list[tuple[int, str]]:
    """(line, top-level module) for every import of this package's own modules, relative or absolute."""
    package = list(parts[:-1]) if parts[-1] != "__init__" else list(parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            target = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
            names = [target[0]] if target else [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("publisher."):
            names = [node.module.split(".")[1]]
        elif isinstance(node, ast.Import):
            names = [a.name.split(".")[1] for a in node.names if a.name.startswith("publisher.")]
        else:
            continue
        found += [(node.lineno, name) for name in names]
    return found


@pytest.mark.parametrize("path, parts", modules(), ids=lambda v: "/".join(v) if isinstance(v, tuple) else "")
def test_a_stage_imports_only_from_stages_before_it(path, parts):
    mine = stage_of(parts)
    later = [f"{path.name}:{line} imports {name}" for line, name in imported_stages(path, parts)
             if (name in FOUNDATION or name in STAGES) and stage_of((name,)) > mine]
    assert later == []


def test_every_module_belongs_to_a_stage_or_the_foundation():
    assert {parts[0] for _, parts in modules()} <= FOUNDATION | set(STAGES)


@pytest.mark.parametrize("path, parts", [m for m in modules() if m[1][0] != "cli"],
                         ids=lambda v: "/".join(v) if isinstance(v, tuple) else "")
def test_only_the_command_line_prints_or_exits(path, parts):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [f"{path.name}:{node.lineno} {ast.unparse(node.func)}" for node in ast.walk(tree)
             if isinstance(node, ast.Call) and ast.unparse(node.func) in
             ("print", "sys.exit", "exit", "click.echo", "click.secho", "os._exit")]
    assert calls == []


def defined_names(path: Path) -> list[str]:
    """The public functions, classes, methods and properties a module defines."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    scopes = [tree, *(node for node in tree.body if isinstance(node, ast.ClassDef))]
    return [node.name for scope in scopes for node in scope.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")]


@pytest.mark.parametrize("path, parts", [m for m in modules() if m[1][0] in ("content", "build")],
                         ids=lambda v: "/".join(v) if isinstance(v, tuple) else "")
def test_every_name_the_content_and_build_stages_define_is_used(path, parts):
    """No dead code: each name appears somewhere besides its definition (code or templates)."""
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in PACKAGE.rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts)
    unused = [name for name in defined_names(path) if len(re.findall(rf"\b{name}\b", text)) < 2]
    assert unused == []
