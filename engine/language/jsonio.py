"""JSON in and out with money kept exact.

`loads` reads every number with a fraction as `Decimal`; `dumps` writes a `Decimal` as a
JSON number with its scale (`12.50` stays `12.50`), never as a float and never quoted.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_MARK = "\x1fdecimal:"
_MARKED = re.compile(r'"\\u001fdecimal:([^"\\]*)"')


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number JSON can hold")
        return _MARK + str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """`value` as JSON text; Decimals as exact numbers."""
    text = json.dumps(
        value,
        default=_default,
        indent=indent,
        sort_keys=sort_keys,
        separators=(",", ": ") if indent is not None else (",", ":"),
        ensure_ascii=False,
    )
    return _MARKED.sub(_unmark, text) if "\\u001f" in text else text


def _unmark(match: re.Match[str]) -> str:
    return match.group(1)


def loads(text: str | bytes) -> Any:
    """Parse JSON; numbers with a fraction or exponent become Decimal."""
    return json.loads(text, parse_float=Decimal)
