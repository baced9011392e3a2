"""The QBO sandbox's state: companies (realms), their records, tokens, and persistence.

Everything lives in memory; `Store.save(path)` / `Store.load(path)` keep it in one JSON
file (money stays `Decimal`) so `joist sandbox up --data DIR` survives a restart.
Time comes from the sandbox clock and is formatted the way QBO formats it: the response
`time` with milliseconds and the company's UTC offset, `MetaData` times to the second.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sandbox.qbo.codec import dumps, loads

PARTY_TYPES = ("Customer", "Vendor", "Employee")
NAMED_TYPES = ("Account", "Class", "Department", "Item", "Term", "PaymentMethod", "TaxCode", "TaxRate", "TaxAgency")


def _tz(offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=offset_minutes))


def format_time(epoch: float, offset_minutes: int, *, millis: bool = False) -> str:
    """`2015-11-16T11:43:06-08:00` (or with `.064` milliseconds)."""
    moment = datetime.fromtimestamp(epoch, _tz(offset_minutes))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if millis:
        text += f".{moment.microsecond // 1000:03d}"
    offset = moment.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str, offset_minutes: int) -> float | None:
    """Epoch seconds of a QBO date or date-time; a missing offset means the company's zone."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    day, hh, mm, ss, frac, zone = match.groups()
    tz = _tz(offset_minutes)
    if zone == "Z":
        tz = UTC
    elif zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = _tz(sign * (int(digits[:2]) * 60 + int(digits[2:])))
    try:
        moment = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=tz)
    except ValueError:
        return None
    moment += timedelta(hours=int(hh or 0), minutes=int(mm or 0), seconds=int(ss or 0))
    if frac:
        moment += timedelta(microseconds=int(frac[:6].ljust(6, "0")))
    return moment.timestamp()


@dataclass
class Realm:
    """One company: its records, the deleted stubs CDC reports, and requestid replays."""

    realm_id: str
    country: str = "US"
    offset_minutes: int = -480
    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 1
    requestids: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    names: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    links: Any = field(default=None, repr=False)
    doc_numbers: dict[tuple[str, str], set[str]] | None = field(default=None, repr=False)
    doc_max: dict[str, int] = field(default_factory=dict, repr=False)

    def table(self, entity: str) -> dict[str, dict[str, Any]]:
        return self.data.setdefault(entity, {})

    def new_id(self, entity: str) -> str:
        value = self.next_id
        self.next_id += 1
        if entity == "Attachable":
            return str(100000000004000000 + value)
        return str(value)

    def records(self, entity: str) -> Iterator[dict[str, Any]]:
        yield from self.table(entity).values()

    def find(self, entity: str, record_id: str) -> dict[str, Any] | None:
        return self.table(entity).get(str(record_id))

    @staticmethod
    def name_key(entity: str, name: str) -> tuple[str, str]:
        group = "party" if entity in PARTY_TYPES else entity
        return group, " ".join(name.split()).casefold()

    def name_owner(self, entity: str, name: str) -> tuple[str, str] | None:
        return self.names.get(self.name_key(entity, name))

    def index_name(self, entity: str, record: dict[str, Any], old_name: str | None = None) -> None:
        if old_name is not None:
            self.names.pop(self.name_key(entity, old_name), None)
        name = record.get("DisplayName") if entity in PARTY_TYPES else record.get("Name")
        if entity in PARTY_TYPES + NAMED_TYPES and name:
            self.names[self.name_key(entity, name)] = (entity, record["Id"])

    def rebuild_names(self) -> None:
        self.names.clear()
        for entity in PARTY_TYPES + NAMED_TYPES:
            for record in self.records(entity):
                self.index_name(entity, record)

    def to_json(self) -> dict[str, Any]:
        return {
            "realm_id": self.realm_id,
            "country": self.country,
            "offset_minutes": self.offset_minutes,
            "data": self.data,
            "deleted": self.deleted,
            "next_id": self.next_id,
            "requestids": self.requestids,
            "files": {k: base64.b64encode(v).decode() for k, v in self.files.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Realm:
        realm = cls(
            raw["realm_id"],
            raw["country"],
            raw["offset_minutes"],
            raw["data"],
            raw["deleted"],
            raw["next_id"],
            raw["requestids"],
            {k: base64.b64decode(v) for k, v in raw.get("files", {}).items()},
        )
        realm.rebuild_names()
        return realm


@dataclass
class Store:
    """All realms of the sandbox plus OAuth state, behind one lock."""

    now: Callable[[], float]
    realms: dict[str, Realm] = field(default_factory=dict)
    oauth: dict[str, Any] = field(default_factory=lambda: {"clients": {}, "codes": {}, "access": {}, "refresh": {}})
    webhook: dict[str, Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def realm(self, realm_id: str) -> Realm | None:
        return self.realms.get(realm_id)

    def save(self, path: Path) -> None:
        """Write the whole state to `path` atomically (0600: it holds client secrets)."""
        with self.lock:
            text = dumps(
                {"realms": [r.to_json() for r in self.realms.values()], "oauth": self.oauth, "webhook": self.webhook},
                allow_float=True,
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        raw = loads(path.read_text())
        with self.lock:
            self.realms = {r["realm_id"]: Realm.from_json(r) for r in raw["realms"]}
            self.oauth = raw["oauth"]
            self.webhook = raw.get("webhook", {})
