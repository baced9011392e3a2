"""QBO's JSON on the wire: money as `Decimal` in both directions, faults read from any shape.

QBO serves amounts as JSON numbers (`100`, `100.0`, `362.07`). `loads` reads every
non-integer number as a `Decimal`; `dumps` writes a `Decimal` as a JSON number with its
scale kept (`Decimal("80.00")` becomes `80.00`), never through `float`.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any


def loads(data: bytes | str) -> Any:
    """Parse QBO JSON; floats become `Decimal`."""
    return json.loads(data, parse_float=Decimal)


def _encode(value: Any, out: list[str], floats: bool) -> None:
    if isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(", ")
            first = False
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
            raise ValueError(f"cannot send the amount {value} to QuickBooks")
        out.append(format(value, "f"))
    elif isinstance(value, float) and not floats:
        raise TypeError("money must be Decimal, not float")
    else:
        out.append(json.dumps(value))


def dumps(value: Any, *, allow_float: bool = False) -> str:
    """JSON text with `Decimal` written as numbers, scale kept.

    A `float` is refused (money must never be one) unless `allow_float` (timestamps in
    the sandbox's own state file).
    """
    out: list[str] = []
    _encode(value, out, allow_float)
    return "".join(out)


def dumpb(value: Any) -> bytes:
    """`dumps` as UTF-8 bytes."""
    return dumps(value).encode("utf-8")


_XML_ERROR = re.compile(r'<Error[^>]*code="(\d+)"[^>]*>(.*?)</Error>', re.S)
_XML_TAG = re.compile(r"<(Message|Detail)>(.*?)</\1>", re.S)


def fault_errors(body: bytes) -> tuple[str | None, list[dict[str, str]]]:
    """The fault type and error list of a QBO error body, JSON (`Fault` or `fault`) or XML.

    Each error is `{"code", "message", "detail", "element"}` (missing parts are "").
    """
    text = body.decode("utf-8", "replace").strip()
    if text.startswith("<"):
        errors = []
        for code, inner in _XML_ERROR.findall(text):
            tags = dict(_XML_TAG.findall(inner))
            errors.append(
                {"code": code, "message": tags.get("Message", ""), "detail": tags.get("Detail", ""), "element": ""}
            )
        kind = re.search(r'<Fault[^>]*type="([^"]+)"', text)
        return (kind.group(1) if kind else None), errors
    try:
        data = loads(text) if text else {}
    except ValueError:
        return None, []
    if not isinstance(data, dict):
        return None, []
    fault = data.get("Fault") or data.get("fault")
    if not isinstance(fault, dict):
        if "error" in data and isinstance(data["error"], str):
            return "OAuth", [
                {
                    "code": data["error"],
                    "message": data.get("error_description", data["error"]),
                    "detail": "",
                    "element": "",
                }
            ]
        return None, []
    raw = fault.get("Error") or fault.get("error") or []
    errors = []
    for item in raw:
        lower = {str(k).lower(): v for k, v in item.items()}
        errors.append(
            {
                "code": str(lower.get("code") or ""),
                "message": str(lower.get("message") or ""),
                "detail": str(lower.get("detail") or ""),
                "element": str(lower.get("element") or ""),
            }
        )
    return fault.get("type"), errors
