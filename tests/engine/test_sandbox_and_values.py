"""The Jinja sandbox holds, lone templates keep native values, and money stays Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from jinja2.sandbox import SecurityError

from engine.errors import Location
from engine.expressions.base import UnsafeExpression
from engine.expressions.compiler import compile_expression
from engine.expressions.functions import Runtime

if TYPE_CHECKING:
    from conftest import ErrorCheck, FloatCheck, MapperFactory, RuleBench

HERE = Location("rules/x.yaml", 7, 9)

LOAD_TIME_ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ source.__class__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ source|attr('__class__') }}",
    "{{ [source]|map(attribute='__class__')|list }}",
    "{{ [source]|map(attribute='vendor.__class__')|list }}",
    "{{ source.vendor_group.__dict__ }}",
    "{{ source['__class__'] }}",
    "{{ source._private }}",
    "{{ self }}",
    "Bill {{ ''.__class__.__base__.__subclasses__() }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{% set x = source.__init__ %}{{ x }}",
    "{{ request.application.__globals__ }}",
    "{{ config.__class__ }}",
]


@pytest.mark.parametrize("text", LOAD_TIME_ESCAPES)
def test_escape_refused_at_load_time(text: str) -> None:
    with pytest.raises(UnsafeExpression) as info:
        compile_expression(text, HERE)
    assert info.value.code == "R205"
    assert info.value.format().startswith("rules/x.yaml:7:9  R205 templates may not reach")


@pytest.mark.parametrize(
    "text",
    ["{{ cycler }}", "{{ lipsum() }}", "{{ namespace }}", "{{ joiner() }}", "{{ range(10) }}", "{{ dict(a=1) }}"],
)
def test_jinja_globals_are_not_available(text: str) -> None:
    with pytest.raises(Exception) as info:
        compile_expression(text, HERE)
    assert info.value.code in ("R203", "R204")


def test_escapes_in_a_rule_file_are_load_errors(bench: RuleBench, expect_error: ErrorCheck) -> None:
    path = bench.vendor(
        ('"source.name"', "\"{{ ''|attr('__class__') }}\""),
        append='  CompanyName: "{{ cycler.__init__.__globals__ }}"\n',
    )
    errors = bench.errors()
    assert [e.code for e in errors] == ["R205", "R205"]
    expect_error(errors[0], "R205", path, 11, 16, message="'__class__'")
    expect_error(errors[1], "R205", path, 12, 16, message="'__globals__'")


RUNTIME_ESCAPES = [
    "{{ source|attr('_' ~ '_class__') }}",
    "Bill {{ source|attr('_' ~ '_class__') }}",
    "{{ source[source.key] }}",
    "{{ (source|attr(source.key)).mro() }}",
    "{{ source.keys() }}",
    "{{ source.update({'a': 1}) }}",
]


@pytest.mark.parametrize("text", RUNTIME_ESCAPES)
def test_escape_the_loader_cannot_see_fails_at_run_time(text: str) -> None:
    compiled = compile_expression(text, HERE)
    ctx = {"source": {"key": "__class__", "name": "Acme"}}
    with pytest.raises(SecurityError):
        compiled(ctx, Runtime())


def test_run_time_escape_is_an_error_outcome_never_a_value(mapper_for: MapperFactory) -> None:
    text = """\
flow: companies_to_vendors
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
fields:
  DisplayName: "{{ source|attr('_' ~ '_class__') }}"
  Notes: "{{ source|attr(source.notes) }}"
"""
    mapper = mapper_for(text)
    for record in ({"id": 1, "name": "a", "notes": "__class__"}, {"id": 2, "name": "a", "notes": "__init__"}):
        result = mapper.map(record)
        assert result.outcome == "error", result
        assert result.payload is None
        assert result.error.code == "M404"
        assert "unsafe" in result.error.message
        assert result.error.path == f"flow companies_to_vendors, record {record['id']}, field DisplayName"


# ------------------------------------------------------------- native values


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("{{ source.number }}", {"number": "478"}, "478"),
        ("{{ source.amount }}", {"amount": Decimal("12.50")}, Decimal("12.50")),
        ("{{ source.count }}", {"count": 3}, 3),
        ("{{ source.active }}", {"active": False}, False),
        ("{{ source.tags }}", {"tags": ["a", "b"]}, ["a", "b"]),
        ("{{ source.none }}", {"none": None}, None),
        ("  {{ source.number }}  ", {"number": "0042"}, "0042"),
        ("{{ decimal(source.a) + decimal(source.b) }}", {"a": "0.1", "b": "0.2"}, Decimal("0.3")),
    ],
)
def test_lone_expression_returns_the_native_value(text: str, source: dict, expected: object) -> None:
    compiled = compile_expression(text, HERE)
    assert compiled.kind == "jinja"
    value = compiled({"source": source}, Runtime())
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("No {{ source.number }}", "No 478"),
        ("{{ source.number }}{{ source.number }}", "478478"),
        ("{{ source.amount }} USD", "12.50 USD"),
        ("{% if source.number %}{{ source.number }}{% endif %}", "478"),
    ],
)
def test_mixed_templates_render_strings(text: str, expected: str) -> None:
    compiled = compile_expression(text, HERE)
    assert compiled.kind == "template"
    value = compiled({"source": {"number": "478", "amount": Decimal("12.50")}}, Runtime())
    assert value == expected and isinstance(value, str)


def test_lone_expression_missing_field_is_an_error_not_undefined() -> None:
    compiled = compile_expression("{{ source.legal_name }}", HERE)
    with pytest.raises(Exception) as info:
        compiled({"source": {"name": "Acme"}}, Runtime())
    assert "legal_name" in str(info.value)


# ------------------------------------------------------------- Decimal exactness


@pytest.mark.parametrize(
    "text",
    [
        "add(decimal('0.1'), decimal('0.2'))",
        "add('0.1', '0.2')",
        "sum_decimal(['0.1', '0.2'])",
        "{{ decimal('0.1') + decimal('0.2') }}",
        "{{ add('0.1', '0.2') }}",
        "{{ '0.1' | decimal + '0.2' | decimal }}",
    ],
)
def test_point_one_plus_point_two_is_exactly_point_three(text: str) -> None:
    value = compile_expression(text, HERE)({}, Runtime())
    assert type(value) is Decimal and value == Decimal("0.3") and str(value) == "0.3"


def test_jmespath_number_literals_are_decimals() -> None:
    value = compile_expression("`0.1`", HERE)({}, Runtime())
    assert type(value) is Decimal and value == Decimal("0.1")
    assert compile_expression("add(`0.1`, `0.2`)", HERE)({}, Runtime()) == Decimal("0.3")


def test_decimal_of_a_float_goes_by_its_repr() -> None:
    assert compile_expression("decimal(source.x)", HERE)({"source": {"x": 0.1}}, Runtime()) == Decimal("0.1")


def test_mapped_payload_has_no_float_and_keeps_scale(mapper_for: MapperFactory, no_floats: FloatCheck) -> None:
    text = """\
flow: companies_to_vendors
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
fields:
  BillRate: "add(source.notes, '0.20')"
  CostRate: "{{ decimal(source.notes) * 2 }}"
  Notes: {const: 12.50}
  AcctNum: "source.name"
  TaxIdentifier: "money('10.005')"
"""
    mapper = mapper_for(text)
    result = mapper.map({"id": 1, "notes": "0.10", "name": "Acme"})
    assert result.outcome == "mapped", result
    no_floats(result.payload)
    assert result.payload == {
        "BillRate": Decimal("0.30"),
        "CostRate": Decimal("0.20"),
        "Notes": Decimal("12.50"),
        "AcctNum": "Acme",
        "TaxIdentifier": Decimal("10.01"),
    }
    assert str(result.payload["Notes"]) == "12.50" and str(result.payload["BillRate"]) == "0.30"


def test_catalogue_filters_win_over_jinja_filters_of_the_same_name() -> None:
    compiled = compile_expression("{{ source.name | truncate(5) }}", HERE)
    assert compiled({"source": {"name": "abcdefgh"}}, Runtime()) == "abcde"
    assert compile_expression("{{ source.x | default('n') }}", HERE)({"source": {"x": None}}, Runtime()) == "n"
