"""The sandboxes share no code with Joist: nothing under sandbox/ imports it.

Every import statement is read, at module level or inside a function, `TYPE_CHECKING`
blocks and relative imports included. An emulator that borrowed the connector's codec or
the engine's catalogue would agree with the very mistakes it exists to catch.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "sandbox"
JOIST = ("engine", "connectors", "terminal", "cli", "schemas", "rules")


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of everything a module of `package` imports, sorted.

    `from a.b import c` gives `a.b.c` (a module or a name in `a.b`)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return sorted(found)


def package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def test_the_sandbox_package_is_where_the_test_looks() -> None:
    assert (SANDBOX / "qbo" / "app.py").is_file() and (SANDBOX / "procore" / "app.py").is_file()


def test_nothing_under_sandbox_imports_joist() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in sorted(SANDBOX.rglob("*.py"))
        for line, module in imported_modules(path.read_text(encoding="utf-8"), package_of(path))
        if module.split(".")[0] in JOIST
    ]
    assert not wrong, "the sandboxes must not import Joist:\n" + "\n".join(wrong)


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_no_import_cycle_between_sandbox_modules() -> None:
    modules = {module_of(p): p for p in SANDBOX.rglob("*.py")}
    graph = nx.DiGraph()
    for name, path in modules.items():
        for _, imported in imported_modules(path.read_text(encoding="utf-8"), package_of(path)):
            target = imported  # the longest prefix that is a module: sandbox.procore.store.Store -> ...store
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph.add_edge(name, target)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, "\n".join(" -> ".join([*c, c[0]]) for c in cycles)


def test_the_reader_sees_imports_inside_functions_and_relative_ones() -> None:
    source = "def f() -> None:\n    from engine.errors import JoistError\n\nfrom ..procore import app\nimport cli\n"
    assert imported_modules(source, "sandbox.qbo") == [
        (2, "engine.errors.JoistError"),
        (4, "sandbox.procore.app"),
        (5, "cli"),
    ]
