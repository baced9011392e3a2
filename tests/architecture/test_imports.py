"""The shape of the tree, checked by reading every import (module level and inside functions).

- Packages import one way: each `engine` role package only from those below it.
- The sandboxes import nothing of Joist; connectors nothing of the engine but its error base.
- Nothing imports a face (`cli`, `terminal`, `web`) but the faces themselves; the service
  (`serve`) sits on the engine and is imported only by the faces.
- No cycle between modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = ("engine", "connectors", "sandbox", "terminal", "serve", "web", "cli", "schemas", "rules")

# What each unit may import from first-party code (a unit imports itself freely).
ALLOWED: dict[str, set[str]] = {
    "engine.errors": set(),
    "engine.expressions": {"engine.errors"},
    "engine.language": {"engine.errors", "engine.expressions", "schemas"},
    "engine.mapping": {"engine.errors", "engine.language", "engine.expressions"},
    "engine.state": {"engine.errors", "engine.language"},
    "connectors": {"engine.errors", "schemas"},
    "engine.sync": {
        "engine.errors",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.state",
        "connectors",
    },
    "engine.project": {
        "engine.errors",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.state",
        "engine.sync",
        "connectors",
        "schemas",
    },
    "engine.reports": {
        "engine.errors",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.state",
        "engine.sync",
        "engine.project",
        "connectors",
    },
    "engine.onboarding": {
        "engine.errors",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.state",
        "engine.sync",
        "engine.project",
        "engine.reports",
        "connectors",
    },
    "engine.testing": {
        "engine.errors",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.project",
        "schemas",
    },
    "serve": {
        "engine.errors",
        "engine.onboarding",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.state",
        "engine.sync",
        "engine.project",
        "connectors",
    },
    "web": {
        "engine.errors",
        "engine.language",
        "engine.expressions",
        "engine.mapping",
        "engine.state",
        "engine.sync",
        "engine.project",
        "engine.reports",
        "engine.onboarding",
        "connectors",
        "serve",
    },
    "sandbox": set(),
    "schemas": set(),
}


def python_files(top: str) -> list[Path]:
    base = ROOT / top
    return sorted(base.rglob("*.py")) if base.is_dir() else [ROOT / f"{top}.py"]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every first-party module a file imports, wherever the import statement stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in FIRST_PARTY}


def unit_of(module: str) -> str:
    """The unit a module belongs to: an engine role package, or a top-level package."""
    parts = module.split(".")
    if parts[0] == "engine" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


MODULES = {
    module_name(p): p
    for top in ("engine", "connectors", "sandbox", "terminal", "serve", "web", "cli")
    for p in python_files(top)
}
KNOWN = set(MODULES) | {"schemas"}


def resolve(name: str) -> str | None:
    """The module an imported name stands for (`engine.errors.JoistError` -> `engine.errors`)."""
    while name and name not in KNOWN:
        name = name.rpartition(".")[0]
    return name or None


def edges() -> list[tuple[str, str]]:
    out = []
    for module, path in MODULES.items():
        for name in imports_of(path):
            target = resolve(name)
            if target and target != module:
                out.append((module, target))
    return out


EDGES = edges()


@pytest.mark.parametrize("unit", sorted(ALLOWED))
def test_units_import_only_what_they_may(unit: str) -> None:
    wrong = sorted(
        {
            f"{a} imports {b}"
            for a, b in EDGES
            if unit_of(a) == unit and unit_of(b) != unit and unit_of(b) not in ALLOWED[unit]
        }
    )
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_a_face() -> None:
    wrong = sorted(
        {
            f"{a} imports {b}"
            for a, b in EDGES
            if unit_of(b) in {"cli", "terminal", "web"} and unit_of(a) not in {"cli", "terminal", "web"}
        }
    )
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles() -> None:
    graph = nx.DiGraph()
    graph.add_edges_from((a, b) for a, b in EDGES if b in MODULES)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "\n".join(" -> ".join([*c, c[0]]) for c in cycles[:20])


def test_every_engine_package_says_what_it_owns() -> None:
    for init in sorted((ROOT / "engine").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "May import" in doc, f"{init.relative_to(ROOT)} needs a docstring saying what it may import"
