"""Hostile YAML: alias bombs, huge files and deep nesting are refused fast, with file:line and a code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.errors import JoistError
from engine.language import yamlload
from engine.project.config import load_project

if TYPE_CHECKING:
    from conftest import RuleBench


def bomb(indent: str, levels: int = 9) -> str:
    """Billion laughs: `levels` anchors, each nine aliases of the one before (9**10 leaves)."""
    lines = [f"{indent}x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"{indent}x{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@contextmanager
def under(seconds: float) -> Iterator[None]:
    start = time.perf_counter()
    yield
    assert time.perf_counter() - start < seconds


def test_an_alias_bomb_in_a_rule_is_refused_at_its_line(bench: RuleBench) -> None:
    path = bench.vendor(append="  Notes:\n    const:\n" + bomb("      "))
    with under(1.0):
        error = bench.error()
    assert error.code == "R123", error.format()
    assert error.location.file == str(path)
    assert error.location.line is not None and 11 <= error.location.line <= 20, error.format()
    assert "alias" in error.message


def test_an_alias_bomb_in_a_lookup_is_refused(bench: RuleBench) -> None:
    bench.vendor()
    path = bench.lookup("classes.yaml", "table:\n" + bomb("  ") + "L: '1'\n")
    with under(1.0):
        error = bench.error()
    assert (error.code, error.location.file) == ("R123", str(path)), error.format()


def test_an_alias_bomb_in_joist_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "joist.yaml").write_text("name: acme\nextra:\n" + bomb("  "))
    with under(1.0), pytest.raises(JoistError) as info:
        load_project(tmp_path / "joist.yaml")
    assert info.value.code == "R123" and info.value.location.file.endswith("joist.yaml"), info.value.format()


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(JoistError) as info:
        yamlload.loads("a: &x\n  - 1\n  - *x\n", "r.yaml")
    assert info.value.code == "R123" and info.value.location.line == 1, info.value.format()


def test_a_few_aliases_and_merge_keys_still_load() -> None:
    doc = yamlload.loads("base: &b {a: 1, b: [1, 2]}\none: {<<: *b, c: 3}\ntwo: *b\nthree: [*b, *b]\n", "r.yaml")
    assert doc["one"] == {"a": 1, "b": [1, 2], "c": 3} and doc["three"][1] == {"a": 1, "b": [1, 2]}


def test_a_large_table_without_aliases_loads() -> None:
    text = "".join(f"k{i}: {{class: '{i}', note: x}}\n" for i in range(20_000))
    assert len(yamlload.loads(text, "big.yaml")) == 20_000


def test_nesting_too_deep_is_refused_not_a_recursion_error() -> None:
    with under(1.0), pytest.raises(JoistError) as info:
        yamlload.loads("a: " + "[" * 900 + "]" * 900 + "\n", "deep.yaml")
    assert info.value.code == "R124" and info.value.location.file == "deep.yaml", info.value.format()


def test_a_file_beyond_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as fh:
        fh.write("a: '")
        fh.write("x" * (yamlload.MAX_FILE_BYTES + 10))
        fh.write("'\n")
    with under(0.5), pytest.raises(JoistError) as info:
        yamlload.load(path)
    assert info.value.code == "R122" and info.value.location.file == str(path), info.value.format()
