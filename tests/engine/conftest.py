"""Fixtures for the rule engine core tests: rule files written to a temporary pack.

`bench` writes rule files (and lookup tables) into a temporary folder, loads them with
`engine.language.loading.load_rules` and hands back either the `RuleSet` or the sorted list of
errors; `links` builds a link resolver from a plain dict. Import-mode is importlib, so
helpers are fixtures rather than importable functions.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ErrorGroup, JoistError
from engine.language.loading import load_rules
from engine.language.rules import RuleSet
from engine.mapping.mapper import Mapper

REPO = Path(__file__).resolve().parents[2]

VENDOR_RULE = """\
flow: companies_to_vendors
direction: procore > qbo
source:
  system: procore
  entity: vendors
target:
  system: qbo
  entity: Vendor
links: vendors
fields:
  DisplayName: "source.name"
"""
"""A minimal valid rule; tests append to it or replace one piece to break it."""


class RuleBench:
    """A temporary rule pack: write files, load them, get rules or errors back."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, name: str, text: str, layer: str = "base") -> Path:
        path = self.root / layer / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def lookup(self, name: str, text: str, layer: str = "base") -> Path:
        return self.write(f"lookups/{name}", text, layer)

    def folder(self, layer: str = "base") -> Path:
        path = self.root / layer
        path.mkdir(parents=True, exist_ok=True)
        return path

    def load(self, *layers: str) -> RuleSet:
        return load_rules([(name, [self.folder(name)]) for name in (layers or ("base",))])

    def errors(self, *layers: str) -> list[JoistError]:
        """Every error loading reports; fails the test if loading succeeds."""
        try:
            self.load(*layers)
        except ErrorGroup as group:
            return group.errors
        pytest.fail("the rules loaded without an error")

    def error(self, *layers: str) -> JoistError:
        """The one error loading reports (fails if there are none or several)."""
        found = self.errors(*layers)
        assert len(found) == 1, "\n".join(e.format() for e in found)
        return found[0]

    @staticmethod
    def variant(*swaps: tuple[str, str], append: str = "") -> str:
        """VENDOR_RULE with each `(old, new)` text swapped once, then `append` added."""
        text = VENDOR_RULE
        for old, new in swaps:
            assert old in text, old
            text = text.replace(old, new, 1)
        return text + append

    @staticmethod
    def at(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
        """1-based (line, col) of the `nth` occurrence of `needle` in `text`."""
        start = -1
        for _ in range(nth):
            start = text.index(needle, start + 1)
        before = text[:start]
        return before.count("\n") + 1, start - (before.rfind("\n") + 1) + 1

    def vendor(self, *swaps: tuple[str, str], append: str = "", name: str = "vendors.yaml") -> Path:
        """Write a variant of the minimal vendor rule; returns its path."""
        return self.write(name, self.variant(*swaps, append=append))


def assert_error(
    error: JoistError,
    code: str,
    file: Path | str | None,
    line: int | None,
    col: int | None,
    *,
    hint: str | None = None,
    path: str | None = None,
    message: str | None = None,
) -> None:
    """One error's code, place and hint, and that format() shows them the way users read them."""
    text = error.format()
    assert error.code == code, text
    if file is not None:
        assert error.location.file == str(file), text
    assert (error.location.line, error.location.col) == (line, col), text
    where = f"{file}:{line}:{col}" if col is not None else (f"{file}:{line}" if line is not None else f"{file}")
    if file is not None:
        assert text.startswith(f"{where}  {code} "), text
    if hint is not None:
        assert error.hint and hint in error.hint, text
        assert hint in text, text
    if path is not None:
        assert error.path == path, text
        assert f"  at {path}" in text, text
    if message is not None:
        assert message in error.message, text
    assert "Traceback" not in text


@pytest.fixture
def expect_error() -> ErrorCheck:
    return assert_error


@pytest.fixture
def bench(tmp_path: Path) -> RuleBench:
    return RuleBench(tmp_path)


@pytest.fixture(scope="session")
def pack() -> RuleSet:
    """The shipped example pack under rules/."""
    return load_rules([("base", [REPO / "rules"])])


LinksFactory = Callable[[Mapping[tuple[str, str], str]], Callable[[str, str], "str | None"]]
ErrorCheck = Callable[..., None]
FloatCheck = Callable[[Any], None]
MapperFactory = Callable[..., Mapper]


@pytest.fixture
def links() -> LinksFactory:
    """`links({("vendors", "11"): "57"})` -> a resolver for Mapper.map(links=...)."""

    def make(table: Mapping[tuple[str, str], str]) -> Callable[[str, str], str | None]:
        return lambda link_set, source_id: table.get((link_set, source_id))

    return make


def floats_in(value: Any, path: str = "$") -> Iterator[str]:
    """Paths of every float inside a payload (there must be none)."""
    if isinstance(value, float):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from floats_in(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from floats_in(v, f"{path}[{i}]")


@pytest.fixture
def no_floats() -> FloatCheck:
    def check(payload: Any) -> None:
        found = list(floats_in(payload))
        assert not found, f"floats in payload at {found}"

    return check


@pytest.fixture
def mapper_for(bench: RuleBench) -> MapperFactory:
    """Write a rule into the bench, load it and return a Mapper for it."""

    def make(
        text: str,
        flow: str = "companies_to_vendors",
        params: Mapping[str, Any] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> Mapper:
        bench.write(f"{flow}.yaml", text)
        for name, body in (extra or {}).items():
            bench.write(name, body)
        ruleset = bench.load()
        return Mapper(ruleset[flow], params, ruleset.lookups)

    return make
