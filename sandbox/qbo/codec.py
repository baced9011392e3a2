"""The emulator's own JSON codec: amounts as `Decimal` both ways, written from the QBO API reference.

QBO serves amounts as JSON numbers (`100`, `100.0`, `362.07`). `loads` reads every
non-integer number as a `Decimal`; `dumps` writes a `Decimal` as a JSON number with its
scale kept (`Decimal("80.00")` becomes `80.00`). The sandbox keeps this codec apart from
the connector's so that a bug in one cannot be agreed with by the other.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def loads(data: bytes | str) -> Any:
    """Parse JSON; non-integer numbers become `Decimal`."""
    return json.loads(data, parse_float=Decimal)


def _encode(value: Any, out: list[str], floats: bool) -> None:
    if isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(", ")
            out.append(json.dumps(str(key)))
            out.append(": ")
            _encode(item, out, floats)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(", ")
            _encode(item, out, floats)
        out.append("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"the amount {value} is not a JSON number")
        out.append(format(value, "f"))
    elif isinstance(value, float) and not floats:
        raise TypeError("an amount must be Decimal, not float")
    else:
        out.append(json.dumps(value))


def dumps(value: Any, *, allow_float: bool = False) -> str:
    """JSON text with `Decimal` written as numbers, scale kept.

    A `float` is refused (an amount must never be one) unless `allow_float` (timestamps in
    the sandbox's own state file).
    """
    out: list[str] = []
    _encode(value, out, allow_float)
    return "".join(out)


def dumpb(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes."""
    return dumps(value).encode("utf-8")
