"""Building QBO queries safely, and reading webhook notifications.

QBO's parser has sharp edges (reference §7): `'` must be sent as `\\'` and `\\` as `\\\\`,
curly quotes break the lexer, there is no OR, and pages hold at most 1000 rows.
`Where` builds a clause from Python values; values the parser cannot take are matched
with `LIKE` and a wildcard, and `Where.accepts` re-checks the exact value client-side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_PAGE = 1000
UNSAFE = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033"


def quote(value: Any) -> str:
    """A literal for a query: strings quoted with `\\` and `'` escaped; numbers and booleans bare."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


@dataclass
class Where:
    """An AND of conditions; `accepts(record)` re-checks conditions loosened for the parser."""

    parts: list[str] = field(default_factory=list)
    exact: list[tuple[str, str]] = field(default_factory=list)

    def eq(self, prop: str, value: Any) -> Where:
        text = value if isinstance(value, str) else None
        if text is not None and any(ch in UNSAFE for ch in text):
            pattern = "".join("%" if ch in UNSAFE else ch for ch in text)
            self.parts.append(f"{prop} LIKE {quote(pattern)}")
            self.exact.append((prop, text))
        else:
            self.parts.append(f"{prop} = {quote(value)}")
        return self

    def op(self, prop: str, operator: str, value: Any) -> Where:
        if operator not in ("=", "<", ">", "<=", ">="):
            raise ValueError(f"QuickBooks queries do not support the operator {operator!r}")
        self.parts.append(f"{prop} {operator} {quote(value)}")
        return self

    def raw(self, clause: str) -> Where:
        self.parts.append(clause)
        return self

    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.parts)) if self.parts else ""

    def accepts(self, record: dict[str, Any]) -> bool:
        for prop, wanted in self.exact:
            node: Any = record
            for part in prop.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node = node.get("value")
            if node != wanted:
                return False
        return True


def select(
    entity: str, where: Where | None = None, *, start: int = 1, page: int = MAX_PAGE, order_by: str | None = None
) -> str:
    """`SELECT * FROM entity [WHERE ...] [ORDERBY ...] STARTPOSITION n MAXRESULTS m`."""
    if not 1 <= page <= MAX_PAGE:
        raise ValueError("a QuickBooks page holds 1 to 1000 rows")
    order = f" ORDERBY {order_by}" if order_by else ""
    return f"SELECT * FROM {entity}{(where or Where()).sql()}{order} STARTPOSITION {start} MAXRESULTS {page}"


def count(entity: str, where: Where | None = None) -> str:
    return f"SELECT COUNT(*) FROM {entity}{(where or Where()).sql()}"


@dataclass(frozen=True)
class Notification:
    """One change a webhook announced: ids only; re-read the record."""

    realm_id: str
    entity: str
    record_id: str
    operation: str
    last_updated: str | None = None
    deleted_id: str | None = None


def verify_webhook(body: bytes, signature: str, verifier_token: str) -> bool:
    """Whether `intuit-signature` is base64(HMAC-SHA256(verifier token, raw body))."""
    if not verifier_token.strip():  # an empty key signs anything anyone sends
        return False
    expected = base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


_CE_OPS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "merged": "Merge",
    "voided": "Void",
    "emailed": "Emailed",
}


def parse_webhook(body: bytes) -> list[Notification]:
    """The changes in a webhook body, legacy (`eventNotifications`) or CloudEvents (a JSON array)."""
    data = json.loads(body)
    out: list[Notification] = []
    if isinstance(data, dict):
        for note in data.get("eventNotifications", []):
            for ent in note.get("dataChangeEvent", {}).get("entities", []):
                out.append(
                    Notification(
                        str(note.get("realmId", "")),
                        ent["name"],
                        str(ent["id"]),
                        ent["operation"],
                        ent.get("lastUpdated"),
                        ent.get("deletedId"),
                    )
                )
        return out
    for event in data:
        _, entity, action, *_ = (str(event.get("type", "")).split(".") + ["", "", ""])[:4]
        out.append(
            Notification(
                str(event.get("intuitaccountid", "")),
                entity,
                str(event.get("intuitentityid", "")),
                _CE_OPS.get(action, action.title()),
                event.get("time"),
            )
        )
    return out
