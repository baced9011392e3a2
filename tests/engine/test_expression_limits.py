"""Expressions have resource limits: static breaches are R2xx at load, run-time ones M411 for that record."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import MapperFactory, RuleBench


def _rule(expression: str) -> str:
    return f"""\
flow: companies_to_vendors
direction: procore > qbo
source: {{system: procore, entity: vendors}}
target: {{system: qbo, entity: Vendor}}
fields:
  DisplayName: "source.name"
  Notes: {expression!r}
"""


@pytest.mark.parametrize(
    "expression",
    [
        "{{ 9**(9**9) }}",
        "{{ 'a' * 10**10 }}",
        "{{ [1, 2] * 10**9 }}",
        "Total {{ 2 ** 100000000 }} dollars",
        "{{ '%999999999d' % 1 }}",
    ],
)
def test_a_static_breach_is_r210_at_load_fast(bench: RuleBench, expression: str) -> None:
    bench.write("companies_to_vendors.yaml", _rule(expression))
    start = time.perf_counter()
    error = bench.error()
    assert time.perf_counter() - start < 1.0
    assert error.code == "R210", error.format()
    assert (error.location.line, error.location.file) == (7, str(bench.root / "base" / "companies_to_vendors.yaml"))


@pytest.mark.parametrize(
    "expression",
    [
        "(" * 2000 + "source.name" + ")" * 2000,
        "[" * 100 + "source.name" + "]" * 100,
        "{{ " + "(" * 2000 + "source.name" + ")" * 2000 + " }}",
        "{{ source.name" + " + source.name" * 3000 + " }}",
        "source.name" + " || source.name" * 3000,
    ],
    ids=["jmespath-parens", "jmespath-lists", "jinja-parens", "jinja-chain", "jmespath-chain"],
)
def test_an_expression_nested_too_deeply_is_r209_not_a_recursion_error(bench: RuleBench, expression: str) -> None:
    bench.write("companies_to_vendors.yaml", _rule(expression))
    error = bench.error()
    assert error.code == "R209", error.format()
    assert error.location.line == 7


ITEMS = [{"id": i} for i in range(1000)]


@pytest.mark.parametrize(
    ("expression", "contact"),
    [
        ("{{ source.primary_contact.n ** source.primary_contact.m }}", {"n": 9, "m": 999_999_999}),
        ("{{ source.primary_contact.s * source.primary_contact.n }}", {"s": "a", "n": 10**10}),
        ("{{ source.primary_contact.items * source.primary_contact.n }}", {"items": [1], "n": 10**9}),
        (
            "{% for a in source.primary_contact.items %}{% for b in source.primary_contact.items %}"
            "{% for c in source.primary_contact.items %}x{% endfor %}{% endfor %}{% endfor %}",
            {"items": ITEMS},
        ),
        ("{{ source.primary_contact.s.ljust(source.primary_contact.n) }}", {"s": "a", "n": 10**9}),
        ("{{ source.primary_contact.s | center(source.primary_contact.n) }}", {"s": "a", "n": 10**9}),
        (
            "{{ source.primary_contact.s | replace('a', source.primary_contact.t) }}",
            {"s": "a" * 90_000, "t": "b" * 90_000},
        ),
        ("{{ source.primary_contact.f % 1 }}", {"f": "%999999999d"}),
        ("{{ source.primary_contact.f.format(1) }}", {"f": "{:>999999999}"}),
        (
            "{% for a in source.primary_contact.items %}{{ source.primary_contact.s }}{% endfor %}",
            {"items": ITEMS, "s": "x" * 90_000},
        ),
    ],
    ids=[
        "power",
        "text-repeat",
        "list-repeat",
        "nested-loops",
        "ljust",
        "center",
        "replace",
        "percent",
        "format",
        "output",
    ],
)
def test_a_run_time_breach_fails_that_record_only(mapper_for: MapperFactory, expression: str, contact: Any) -> None:
    mapper = mapper_for(_rule(expression))
    start = time.perf_counter()
    bad = mapper.map({"id": 1, "name": "A", "primary_contact": contact})
    assert time.perf_counter() - start < 2.0
    assert bad.outcome == "error" and bad.error is not None
    assert bad.error.code == "M411", bad.error.format()
    assert "record 1, field Notes" in (bad.error.path or ""), bad.error.format()
    good = mapper.map(
        {"id": 2, "name": "B", "primary_contact": {"n": 2, "m": 3, "s": "ab", "items": [1, 2], "t": "c", "f": "%d"}}
    )
    assert good.outcome == "mapped", good.error and good.error.format()


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("{{ source.primary_contact.n ** 3 }}", "8"),
        ("{{ '-' * 3 }}{{ source.name }}", "---B"),
        ("{% for i in source.primary_contact.items %}{{ i }};{% endfor %}", "1;2;"),
        ("{{ 'n%s' % source.primary_contact.n }}", "n2"),
        ("{{ source.primary_contact.s | center(6) }}", "  ab  "),
        ("{{ concat(source.primary_contact.big, '-') }}", "5000000021-"),
        ("{{ source.primary_contact.big | default(5000000022) }}", "5000000021"),
        ("{{ 'x'.join(source.primary_contact.s) }}", "axb"),
    ],
)
def test_ordinary_templates_still_work(mapper_for: MapperFactory, expression: str, value: str) -> None:
    mapper = mapper_for(_rule(expression))
    contact = {"n": 2, "s": "ab", "items": [1, 2], "big": 5000000021}
    result = mapper.map({"id": 2, "name": "B", "primary_contact": contact})
    assert result.outcome == "mapped", result.error and result.error.format()
    assert str(result.payload["Notes"]) == value
