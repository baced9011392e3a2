"""The one function catalogue, shared by JMESPath expressions and Jinja templates.

Every function takes the record's `Runtime` first (links, lookup tables, the refs found
missing so far), then its arguments. Money is `Decimal`: `decimal("0.1") + decimal("0.2")`
is exactly `0.3`, and no function here ever makes a float.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import JoistError, suggest
from engine.expressions.limits import check_replace

LinkResolver = Callable[[str, str], "str | None"]
RecordReader = Callable[[str, str], "Mapping[str, Any] | None"]
"""Reads one record of the source system by entity and id (None when there is none)."""


class FunctionError(JoistError):
    """A function got a value it cannot work with (a word where a number belongs...)."""

    code = "M401"


class LookupMiss(JoistError):
    """`lookup(table, key)` found no row for the key."""

    code = "M402"


class NoExchangeRate(JoistError):
    """`exchange_rate(table, currency, date)` found no rate for the currency on that date."""

    code = "M445"


class UnknownLookupTable(JoistError):
    """`lookup()` named a table that no lookup file defines."""

    code = "M403"


class Runtime:
    """What functions may consult while one record is mapped (one is made per record)."""

    __slots__ = ("links", "lookups", "missing", "records", "steps")

    def __init__(
        self,
        links: LinkResolver | None = None,
        lookups: Mapping[str, Mapping[str, Any]] | None = None,
        missing: list[tuple[str, str]] | None = None,
        records: RecordReader | None = None,
    ) -> None:
        self.links = links
        self.lookups = lookups if lookups is not None else {}
        self.missing = missing if missing is not None else []
        self.records = records
        self.steps = 0  # the evaluation budget spent on this record (engine.expressions.limits)


_current = threading.local()


def current_runtime() -> Runtime:
    """The runtime of the record being mapped on this thread."""
    rt = getattr(_current, "rt", None)
    return rt if rt is not None else Runtime()


def set_runtime(rt: Runtime | None) -> None:
    _current.rt = rt


@dataclass(frozen=True)
class Function:
    """One catalogue entry: its implementation, arity and documentation."""

    name: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    doc: str
    example: str
    result: str


CATALOGUE: dict[str, Function] = {}


def _register(name: str, min_args: int, max_args: int | None, doc: str, example: str, result: str) -> Callable:
    def wrap(impl: Callable[..., Any]) -> Callable[..., Any]:
        CATALOGUE[name] = Function(name, impl, min_args, max_args, doc, example, result)
        return impl

    return wrap


MAX_DIGITS_BEFORE_POINT = 24
"""A number of more whole digits than this is refused: no ledger holds one, and rounding it
to cents would exceed Decimal's 28-digit precision."""


def _checked(number: Decimal, value: Any, fn: str) -> Decimal:
    if not number.is_finite():
        raise FunctionError(f"{fn}() expected a number, got {_show(value)}", hint="NaN and Infinity are not amounts")
    if number and number.adjusted() >= MAX_DIGITS_BEFORE_POINT:
        raise FunctionError(
            f"{fn}() got {_show(value)}, more than {MAX_DIGITS_BEFORE_POINT} digits before the point",
            hint="an amount that large is a data error: check the record",
        )
    return number


def to_decimal(value: Any, fn: str = "decimal") -> Decimal:
    """`value` as a Decimal: numbers, numeric strings ("1,234.50" too). Floats go via their repr.

    NaN, infinities and numbers of more than 24 whole digits are a FunctionError (M401).
    """
    if type(value) is str:
        try:
            return _checked(Decimal(value), value, fn)
        except InvalidOperation:
            pass
    elif isinstance(value, Decimal):
        return _checked(value, value, fn)
    if isinstance(value, bool) or value is None:
        raise FunctionError(
            f"{fn}() expected a number, got {_show(value)}",
            hint="wrap the value: coalesce(x, '0') when it may be missing",
        )
    if isinstance(value, int):
        return _checked(Decimal(value), value, fn)
    if isinstance(value, float):
        return _checked(Decimal(repr(value)), value, fn)
    if isinstance(value, str):
        if _COMMA_THOUSANDS.match(value.strip()):
            return _checked(Decimal(value.strip().replace(",", "")), value, fn)
        if any(ch.isdigit() for ch in value):
            raise FunctionError(
                f"{fn}() cannot read {value!r} as a number: only 1234.56 and 1,234.56 are unambiguous",
                hint="for other forms name the locale: decimal(x, 'de') reads 1.234,56",
            )
    raise FunctionError(f"{fn}() expected a number, got {_show(value)}")


_COMMA_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_SPACES = (" ", "\u00a0", "\u202f")
LOCALES: dict[str, tuple[tuple[str, ...], str]] = {
    "en": ((",",), "."),
    "ja": ((",",), "."),
    "zh": ((",",), "."),
    "de": ((".",), ","),
    "es": ((".",), ","),
    "it": ((".",), ","),
    "nl": ((".",), ","),
    "pt": ((".",), ","),
    "da": ((".",), ","),
    "fr": (_SPACES, ","),
    "sv": (_SPACES, ","),
    "nb": (_SPACES, ","),
    "fi": (_SPACES, ","),
    "pl": (_SPACES, ","),
    "cs": (_SPACES, ","),
    "de_CH": (("'", "\u2019"), "."),
    "it_CH": (("'", "\u2019"), "."),
}
"""Group separators and decimal mark of each locale `decimal(x, locale)` accepts; a locale
not listed (`de_AT`) falls back to its language (`de`)."""


def locale_decimal(value: Any, locale: Any, fn: str = "decimal") -> Decimal:
    """Numeric text written in `locale`'s separators (`'1.234,56'` in 'de') as a Decimal."""
    name = str(locale).replace("-", "_")
    found = LOCALES.get(name) or LOCALES.get(name.split("_")[0])
    if found is None:
        raise FunctionError(f"{fn}() unknown locale {locale!r}", allowed=sorted(LOCALES))
    if not isinstance(value, str):
        return to_decimal(value, fn)
    groups, mark = found
    group = "|".join(re.escape(g) for g in groups)
    text = value.strip()
    pattern = rf"^[+-]?(?:\d{{1,3}}(?:(?:{group})\d{{3}})+|\d+)(?:{re.escape(mark)}\d+)?$"
    if not re.match(pattern, text):
        raise FunctionError(
            f"{fn}() cannot read {value!r} as a number in locale {locale!r}",
            hint=f"{locale!r} groups thousands with {' or '.join(repr(g) for g in groups)} and marks decimals with {mark!r}",
        )
    for g in groups:
        text = text.replace(g, "")
    return _checked(Decimal(text.replace(mark, ".")), value, fn)


def _show(value: Any) -> str:
    return "null" if value is None else repr(value)


@_register(
    "ref",
    2,
    3,
    "The id of the linked record on the other side. A missing link defers the record "
    "until the flow that makes the link has run, unless a third argument gives a fallback; a null id "
    "gives null.",
    "ref('vendors', source.vendor.id)  ->  '57'",
    "string",
)
def fn_ref(rt: Runtime, link_set: Any, source_id: Any, *fallback: Any) -> str | None:
    if source_id is None or source_id == "":
        return None
    key = source_id if source_id.__class__ is str else str(source_id)
    found = rt.links(link_set, key) if rt.links is not None else None
    if found is None:
        if fallback:
            return fallback[0]
        rt.missing.append((str(link_set), key))
    return found


@_register(
    "lookup",
    2,
    3,
    "The value for `key` in a lookup table (rules/lookups/NAME.yaml|csv). "
    "A missing key is an error naming the closest keys, unless a default is given.",
    "lookup('cost_type_classes', source.cost_type.code)  ->  '5000000000000123456'",
    "any",
)
def fn_lookup(rt: Runtime, table: Any, key: Any, *default: Any) -> Any:
    rows = rt.lookups.get(str(table))
    if rows is None:
        near = suggest(str(table), rt.lookups)
        raise UnknownLookupTable(
            f"no lookup table {table!r}",
            hint=f"did you mean {near[0]!r}?" if near else "add rules/lookups/" + str(table) + ".yaml",
            allowed=sorted(rt.lookups),
        )
    text = "" if key is None else str(key)
    if text in rows:
        return rows[text]
    if default:
        return default[0]
    near = suggest(text, [str(k) for k in rows], n=3)
    raise LookupMiss(
        f"lookup table {table!r} has no key {text!r}",
        hint=("closest keys: " + ", ".join(near)) if near else f"add {text!r} to the table {table!r}",
    )


@_register(
    "source_record",
    2,
    2,
    "A record of the flow's source system by entity and id (read once per run), such as the invoice "
    "a QBO payment line pays; null when it does not exist or the id is null.",
    "source_record('Invoice', '130').TotalAmt  ->  228275.00",
    "object",
)
def fn_source_record(rt: Runtime, entity: Any, record_id: Any) -> Mapping[str, Any] | None:
    if record_id is None or record_id == "" or rt.records is None:
        return None
    return rt.records(str(entity), str(record_id))


@_register(
    "without_tax",
    2,
    2,
    "The part of `amount`, paid on a QBO invoice or bill, that is not tax: the amount less the "
    "document's tax in proportion to what it pays (amount x TxnTaxDetail.TotalTax / TotalAmt), "
    "to the cent. Untaxed lines (retainage, non-taxable work) carry no tax, so they stay whole.",
    "without_tax('228275.00', source_record('Invoice', '130'))  ->  207000.00",
    "number",
)
def fn_without_tax(rt: Runtime, amount: Any, document: Any) -> Decimal:
    return tax_exclusive(to_decimal(amount, "without_tax"), document)


def tax_exclusive(paid: Decimal, document: Any) -> Decimal:
    """`paid` less the tax share of the QBO document it pays (its TotalTax in proportion to
    its TotalAmt), to the cent; FunctionError (M401) when there is no document."""
    if not isinstance(document, Mapping):
        raise FunctionError(
            "without_tax() got no document to read the tax from",
            hint="pass the invoice or bill the amount pays, e.g. source_record('Invoice', id); "
            "it may have been deleted",
        )
    total_value, detail = document.get("TotalAmt"), document.get("TxnTaxDetail")
    tax_value = detail.get("TotalTax") if isinstance(detail, Mapping) else None
    total = to_decimal(total_value if total_value is not None else "0", "without_tax")
    tax = to_decimal(tax_value if tax_value is not None else "0", "without_tax")
    share = paid * tax / total if tax and total else Decimal("0")
    return (paid - share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@_register(
    "decimal",
    1,
    2,
    "A number as an exact Decimal (strings, integers; never a float). Text is 1234.56 or "
    "1,234.56 unless a locale is named: decimal('1.234,56', 'de').",
    "decimal('1,250.10')  ->  1250.10",
    "number",
)
def fn_decimal(rt: Runtime, value: Any, *locale: Any) -> Decimal:
    if locale and locale[0] is not None:
        return locale_decimal(value, locale[0])
    return to_decimal(value)


@_register(
    "money",
    1,
    2,
    "A Decimal rounded half-up to `places` (default 2) decimal places.",
    "money('10.005')  ->  10.01",
    "number",
)
def fn_money(rt: Runtime, value: Any, places: Any = 2) -> Decimal:
    exponent = Decimal(1).scaleb(-int(places))
    return to_decimal(value, "money").quantize(exponent, rounding=ROUND_HALF_UP)


@_register("negate", 1, 1, "The number with its sign flipped.", "negate(decimal('12.50'))  ->  -12.50", "number")
def fn_negate(rt: Runtime, value: Any) -> Decimal:
    return -to_decimal(value, "negate")


@_register("abs", 1, 1, "The number without its sign.", "abs(decimal('-3'))  ->  3", "number")
def fn_abs(rt: Runtime, value: Any) -> Decimal:
    return abs(to_decimal(value, "abs"))


@_register(
    "sum_decimal",
    1,
    1,
    "The exact sum of a list of numbers (nulls count as 0).",
    "sum_decimal(source.line_items[*].amount)  ->  300.00",
    "number",
)
def fn_sum_decimal(rt: Runtime, values: Any) -> Decimal:
    if values is None:
        return Decimal(0)
    if not isinstance(values, list):
        raise FunctionError(f"sum_decimal() expected a list, got {_show(values)}")
    total = Decimal(0)
    for v in values:
        if v is not None:
            total += to_decimal(v, "sum_decimal")
    return total


@_register("add", 2, None, "The exact sum of its arguments.", "add(source.amount, source.tax)  ->  110.00", "number")
def fn_add(rt: Runtime, *values: Any) -> Decimal:
    total = Decimal(0)
    for v in values:
        total += to_decimal(v, "add")
    return total


@_register("sub", 2, 2, "a minus b, exactly.", "sub(source.amount, source.retainage)  ->  90.00", "number")
def fn_sub(rt: Runtime, a: Any, b: Any) -> Decimal:
    return to_decimal(a, "sub") - to_decimal(b, "sub")


@_register("mul", 2, None, "The exact product of its arguments.", "mul(source.hours, '85.50')  ->  342.000", "number")
def fn_mul(rt: Runtime, *values: Any) -> Decimal:
    product = Decimal(1)
    for v in values:
        product *= to_decimal(v, "mul")
    return product


@_register(
    "div",
    2,
    2,
    "a divided by b (28 significant digits; round with money()).",
    "div(source.minutes, '60')  ->  1.5",
    "number",
)
def fn_div(rt: Runtime, a: Any, b: Any) -> Decimal:
    divisor = to_decimal(b, "div")
    if divisor == 0:
        raise FunctionError("div() by zero")
    return to_decimal(a, "div") / divisor


@_register(
    "date",
    1,
    1,
    "The ISO date (YYYY-MM-DD) of a date or date-time string.",
    "date('2026-03-31T17:00:00Z')  ->  '2026-03-31'",
    "string",
)
def fn_date(rt: Runtime, value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text).isoformat()
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        raise FunctionError(
            f"date() expected an ISO date, got {_show(value)}",
            hint="dates are ISO strings: 2026-03-31 or 2026-03-31T17:00:00Z",
        ) from None


@_register(
    "coalesce",
    1,
    None,
    "The first argument that is not null or an empty string.",
    "coalesce(source.legal_name, source.name)  ->  'Acme Drywall'",
    "any",
)
def fn_coalesce(rt: Runtime, *values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    return None


@_register(
    "default",
    2,
    2,
    "The value, or the fallback when the value is null or an empty string.",
    "default(source.email, 'none@example.com')",
    "any",
)
def fn_default(rt: Runtime, value: Any, fallback: Any) -> Any:
    return fallback if value is None or value == "" else value


@_register(
    "get",
    2,
    3,
    "The value an object (a param that maps ids or codes to values) holds under `key` (matched "
    "as text), or `default` (null unless given) when it holds none.",
    "get(params.vendor_currencies, '42', 'USD')  ->  'USD'",
    "any",
)
def fn_get(rt: Runtime, table: Any, key: Any, *default: Any) -> Any:
    if isinstance(table, Mapping) and key is not None and str(key) in table:
        return table[str(key)]
    return default[0] if default else None


@_register(
    "exchange_rate",
    3,
    3,
    "The rate of `currency` into the home currency on `date` (home-currency units per one "
    "foreign unit, QBO's ExchangeRate) from a table: currency code -> rate, or currency code "
    "-> {as-of date -> rate}, where the latest rate on or before `date` applies.",
    "exchange_rate(params.exchange_rates, 'CAD', '2026-03-02')  ->  0.7312",
    "number",
)
def fn_exchange_rate(rt: Runtime, table: Any, currency: Any, date: Any) -> Decimal:
    code = str(currency or "").upper()
    entry = table.get(code) if isinstance(table, Mapping) else None
    if isinstance(entry, Mapping):
        day = str(date or "")[:10]
        dated = sorted((str(k), v) for k, v in entry.items() if str(k) <= day)
        entry = dated[-1][1] if dated else None
    if entry is None or entry == "":
        raise NoExchangeRate(
            f"no exchange rate for {code or 'a document without a currency'} on {date}",
            hint="add it to the exchange_rates param ({CODE: rate} or {CODE: {as-of date: rate}}), "
            "or set exchange_rate_source: qbo",
        )
    rate = to_decimal(entry, "exchange_rate")
    if rate <= 0:
        raise FunctionError(f"exchange_rate() got the rate {_show(entry)} for {code}", hint="a rate is above zero")
    return rate


@_register(
    "concat",
    1,
    None,
    "Its arguments as text, joined; nulls are left out.",
    "concat(source.number, ' ', source.title)  ->  '0042 Drywall'",
    "string",
)
def fn_concat(rt: Runtime, *values: Any) -> str:
    return "".join(_text(v) for v in values if v is not None)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@_register("upper", 1, 1, "Text in capitals.", "upper('ab')  ->  'AB'", "string")
def fn_upper(rt: Runtime, value: Any) -> str | None:
    return None if value is None else _text(value).upper()


@_register("lower", 1, 1, "Text in lower case.", "lower('AB')  ->  'ab'", "string")
def fn_lower(rt: Runtime, value: Any) -> str | None:
    return None if value is None else _text(value).lower()


@_register("trim", 1, 1, "Text without leading and trailing spaces.", "trim('  a ')  ->  'a'", "string")
def fn_trim(rt: Runtime, value: Any) -> str | None:
    return None if value is None else _text(value).strip()


@_register("split", 2, 2, "Text cut at each separator.", "split('01-100', '-')  ->  ['01', '100']", "array")
def fn_split(rt: Runtime, value: Any, sep: Any) -> list[str]:
    if value is None:
        return []
    return _text(value).split(str(sep))


@_register(
    "truncate",
    2,
    2,
    "Text cut to at most `n` characters (QBO names allow 100, memos 4000).",
    "truncate(source.name, `100`)",
    "string",
)
def fn_truncate(rt: Runtime, value: Any, n: Any) -> str | None:
    return None if value is None else _text(value)[: int(n)]


@_register("replace", 3, 3, "Text with every `old` replaced by `new`.", "replace(source.name, ':', '-')", "string")
def fn_replace(rt: Runtime, value: Any, old: Any, new: Any) -> str | None:
    if value is None:
        return None
    text, old_text, new_text = _text(value), str(old), str(new)
    check_replace(text, old_text, new_text)
    return text.replace(old_text, new_text)


@_register("whole_hours", 1, 1, "The whole hours of a decimal number of hours.", "whole_hours('7.75')  ->  7", "number")
def fn_whole_hours(rt: Runtime, hours: Any) -> int:
    return int(to_decimal(hours, "whole_hours"))


@_register(
    "rest_minutes",
    1,
    1,
    "The minutes left over after the whole hours, exactly (an error if not whole).",
    "rest_minutes('7.75')  ->  45",
    "number",
)
def fn_rest_minutes(rt: Runtime, hours: Any) -> int:
    h = to_decimal(hours, "rest_minutes")
    minutes = (h - int(h)) * 60
    if minutes != minutes.to_integral_value():
        raise FunctionError(f"rest_minutes() {h} hours is not a whole number of minutes")
    return int(minutes)


def call(name: str, rt: Runtime, args: list[Any]) -> Any:
    """Call catalogue function `name`."""
    return CATALOGUE[name].impl(rt, *args)
