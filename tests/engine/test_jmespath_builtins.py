"""JMESPath's own functions work on Decimals and YAML-loaded records, and never make a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import Location
from engine.expressions.compiler import compile_expression
from engine.expressions.functions import Runtime
from engine.language.yamlload import loads

SOURCE = {
    "items": [{"amount": Decimal("2.50"), "code": "b"}, {"amount": 1, "code": "a"}],
    "text": "1.25",
    "n": Decimal("3.10"),
}


def run(text: str, source: object = SOURCE) -> object:
    return compile_expression(text, Location())({"source": source}, Runtime())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to_number(source.text)", Decimal("1.25")),
        ("to_number('7')", Decimal("7")),
        ("to_number('seven')", None),
        ("to_number(source.n)", Decimal("3.10")),
        ("sum(source.items[*].amount)", Decimal("3.50")),
        ("avg(source.items[*].amount)", Decimal("1.75")),
        ("max(source.items[*].amount)", Decimal("2.50")),
        ("min(source.items[*].amount)", 1),
        ("abs(negate(source.n))", Decimal("3.10")),
        ("max_by(source.items, &amount).code", "b"),
        ("sort_by(source.items, &amount)[0].code", "a"),
        ("type(source.n)", "number"),
        ("to_string(source.n)", "3.10"),
        ("length(source.items)", 2),
        ("join(', ', source.items[*].code)", "b, a"),
        ("contains(source.items[*].code, 'a')", True),
        ("starts_with(source.text, '1.')", True),
    ],
)
def test_builtin(text: str, expected: object) -> None:
    value = run(text)
    assert value == expected and type(value) is type(expected)


def test_builtins_accept_records_loaded_from_yaml() -> None:
    record = loads("items:\n  - {amount: 2.50, code: b}\n  - {amount: 1, code: a}\nmeta: {k: v}\n")
    assert run("length(source.items)", record) == 2
    assert run("keys(source.meta)", record) == ["k"]
    assert run("sum(source.items[*].amount)", record) == Decimal("3.50")
    assert run("type(source.meta)", record) == "object"


@pytest.mark.parametrize("text", ["to_number('0.1')", "avg([`1`, `2`])", "sum([`0.1`, `0.2`])"])
def test_no_float(text: str) -> None:
    assert not isinstance(run(text), float)
