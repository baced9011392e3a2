"""docs/functions.md documents every catalogue function, and every example in it is true."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.errors import JoistError, Location
from engine.expressions.compiler import compile_expression
from engine.expressions.functions import CATALOGUE, Runtime

DOC = Path(__file__).resolve().parents[2] / "docs" / "functions.md"
HEADING = re.compile(r"^### (?P<name>\w+)\((?P<params>[^)]*)\)\s*$")


@dataclass
class Example:
    section: str
    line: int
    text: str
    result: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Section:
    name: str
    params: list[str]
    line: int
    examples: list[Example] = field(default_factory=list)


def parse(doc: Path = DOC) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    current: Section | None = None
    block: dict[str, Any] | None = None
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
        heading = HEADING.match(line)
        if heading:
            params = [p.strip() for p in heading["params"].split(",") if p.strip()]
            current = sections[heading["name"]] = Section(heading["name"], params, number)
            continue
        if line.startswith("## "):
            current = None
        if line.strip() == "```example":
            block = {}
            continue
        if block is not None and line.strip() == "```":
            block = None
            continue
        if block is None:
            continue
        key, _, rest = line.partition(":")
        if key in ("source", "links", "lookups", "params", "records") and rest.strip().startswith("{"):
            block[key] = json.loads(rest, parse_float=Decimal)
            continue
        text, arrow, result = line.partition("  ->  ")
        assert arrow, f"functions.md:{number}: an example line needs `expression  ->  result`"
        name = current.name if current else "jmespath"
        example = Example(name, number, text.strip(), result.strip(), dict(block))
        (
            current.examples
            if current
            else sections.setdefault("(jmespath)", Section("(jmespath)", [], number)).examples
        ).append(example)
    return sections


SECTIONS = parse()
EXAMPLES = [e for s in SECTIONS.values() for e in s.examples]


def test_every_catalogue_function_is_documented() -> None:
    documented = {name for name in SECTIONS if not name.startswith("(")}
    missing = sorted(set(CATALOGUE) - documented)
    assert not missing, f"docs/functions.md lacks a `### name(...)` section for: {', '.join(missing)}"
    unknown = sorted(documented - set(CATALOGUE))
    assert not unknown, f"docs/functions.md documents functions the catalogue does not have: {unknown}"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_heading_shows_the_arguments(name: str) -> None:
    section, fn = SECTIONS[name], CATALOGUE[name]
    if fn.max_args is None:
        assert section.params[-1] == "...", f"{name}: variadic, the heading should end with `...`"
        assert len(section.params) - 1 == fn.min_args
    else:
        assert len(section.params) == fn.max_args, f"{name} takes up to {fn.max_args} arguments"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_section_has_the_catalogue_example(name: str) -> None:
    section, fn = SECTIONS[name], CATALOGUE[name]
    assert any(re.search(rf"\b{name}\(|\|\s*{name}\b", e.text) for e in section.examples), (
        f"{name}: no example calls it"
    )
    expression, _, result = fn.example.partition("->")
    found = [e for e in section.examples if e.text == expression.strip()]
    assert found, f"{name}: the catalogue's example `{expression.strip()}` is not in the doc"
    if result.strip():
        assert any(e.result == result.strip() for e in found), f"{name}: the doc's result differs from the catalogue's"


def _floats(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_floats(v) for v in value)
    if isinstance(value, dict):
        return any(_floats(v) for v in value.values())
    return False


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"{e.section}:{e.line}" for e in EXAMPLES])
def test_example_holds(example: Example) -> None:
    where = f"docs/functions.md:{example.line}: {example.text}"
    links = {tuple(k.split(":", 1)): v for k, v in example.data.get("links", {}).items()}
    records = example.data.get("records", {})
    rt = Runtime(
        links=lambda s, i: links.get((s, i)),
        lookups=example.data.get("lookups", {}),
        records=lambda entity, record_id: records.get(entity, {}).get(record_id),
    )
    ctx = {
        "source": example.data.get("source", {}),
        "params": example.data.get("params", {}),
        "target": None,
        "item": None,
        "parent": None,
        "index": None,
        "links": None,
    }
    compiled = compile_expression(example.text, Location("docs/functions.md", example.line, 1))
    if example.result.startswith("error "):
        with pytest.raises(JoistError) as info:
            compiled(ctx, rt)
        assert info.value.code == example.result.split()[1], where
        return
    value = compiled(ctx, rt)
    assert not rt.missing, f"{where}: deferred on {rt.missing}"
    expected = json.loads(example.result.replace("'", '"'), parse_float=Decimal)
    assert not _floats(value), f"{where}: gave a float"
    if isinstance(expected, str):
        assert isinstance(value, str) and value == expected, f"{where}: gave {value!r}"
    elif isinstance(expected, (int, Decimal)) and not isinstance(expected, bool):
        assert isinstance(value, (int, Decimal)) and not isinstance(value, bool), f"{where}: gave {value!r}"
        assert value == expected and str(value) == example.result, f"{where}: gave {value!r}"
    else:
        assert value == expected and type(value) is type(expected), f"{where}: gave {value!r}"


def test_the_doc_parser_sees_every_block() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert len(EXAMPLES) >= text.count("```example") >= len(CATALOGUE)
