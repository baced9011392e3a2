"""Money text: only unambiguous forms are numbers; anything else is M401 naming the value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import Location
from engine.expressions.compiler import compile_expression
from engine.expressions.functions import FunctionError, Runtime


def _run(expression: str, amount: object) -> object:
    compiled = compile_expression(expression, Location("t.yaml", 1, 1))
    ctx = {"source": {"amount": amount}, "params": {}, "target": None, "item": None, "parent": None, "index": None}
    return compiled(ctx, Runtime())


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.50", "12.50"),
        ("-3", "-3"),
        (" 7.25 ", "7.25"),
        ("1,234.56", "1234.56"),
        ("1,234,567", "1234567"),
        ("-12,345.6", "-12345.6"),
    ],
)
def test_unambiguous_text_is_read(text: str, value: str) -> None:
    result = _run("decimal(source.amount)", text)
    assert result == Decimal(value) and str(result) == value


@pytest.mark.parametrize("text", ["12,50", "1.234,56", "1,23", "1,2345.00", "12.345.678", "1 234,56", "12,50 €"])
@pytest.mark.parametrize(
    "expression", ["decimal(source.amount)", "money(source.amount)", "{{ source.amount | decimal }}"]
)
def test_ambiguous_text_is_an_error_naming_the_value(text: str, expression: str) -> None:
    with pytest.raises(FunctionError) as info:
        _run(expression, text)
    assert info.value.code == "M401"
    assert repr(text) in info.value.message
    assert "locale" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("text", "locale", "value"),
    [
        ("12,50", "de", "12.50"),
        ("1.234,56", "de_DE", "1234.56"),
        ("1 234,56", "fr", "1234.56"),
        ("1\u202f234,56", "fr_FR", "1234.56"),
        ("1'234.56", "de_CH", "1234.56"),
        ("1,234.56", "en_US", "1234.56"),
        ("1.234", "de", "1234"),
        ("-12", "de", "-12"),
    ],
)
def test_a_named_locale_reads_its_own_separators(text: str, locale: str, value: str) -> None:
    result = _run(f"decimal(source.amount, '{locale}')", text)
    assert result == Decimal(value) and str(result) == value


def test_a_named_locale_still_refuses_what_it_cannot_read() -> None:
    with pytest.raises(FunctionError, match="'1,234.56'"):
        _run("decimal(source.amount, 'de')", "1,234.56")
    with pytest.raises(FunctionError, match="'12.50'"):  # in German, '.' groups thousands
        _run("decimal(source.amount, 'de')", "12.50")
    with pytest.raises(FunctionError, match="unknown locale 'xx'"):
        _run("decimal(source.amount, 'xx')", "1,5")
