"""The Procore sandbox's data: tables of records, ids, timestamps, origin ids, persistence.

Records are kept in their stored form: money and quantities as `Decimal`, dates as ISO
strings, timestamps as `YYYY-MM-DDTHH:MM:SSZ` taken from the sandbox clock. Every change
goes through `insert`, `update` or `delete`, which stamp `updated_at`, keep `origin_id`
unique per company and type, honour record locking and tell listeners (webhooks).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sandbox.control import Clock
from sandbox.procore.resources import RESOURCES, Resource

Record = dict[str, Any]
FIRST_ID = 5_000_000_001  # ids beyond 32 bits, as newer Procore regions issue them


class ValidationFailed(Exception):
    """A write broke a rule; `errors` is the Rails-style `{field: [message]}` body."""

    def __init__(self, errors: dict[str, list[str]], status: int = 422) -> None:
        super().__init__(json.dumps(errors))
        self.errors = errors
        self.status = status


class RecordNotFound(Exception):
    """No such record (or not visible in this company / project)."""


@dataclass
class Change:
    """One create/update/delete, as webhooks need to hear about it."""

    resource: Resource
    record: Record
    event_type: str
    source_application_id: str | None
    source_user_id: int | None


def iso_timestamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_decimal(value: Any) -> Decimal | None:
    """A money/quantity value from a request: string, int or Decimal; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidOperation
    result = Decimal(str(value).strip().replace(",", ""))
    if not result.is_finite():
        raise InvalidOperation
    return result


def parse_date(value: Any) -> str | None:
    """A YYYY-MM-DD date, or None when malformed (Procore stores malformed dates as null)."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


class Store:
    """All tables of one sandbox company universe. Thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, Record]] = {name: {} for name in RESOURCES}
        self.companies: dict[int, Record] = {}
        self.files: dict[int, tuple[str, str, bytes]] = {}  # attachment id -> (filename, type, bytes)
        self.next_id = FIRST_ID
        self.listeners: list[Callable[[Change], None]] = []
        self._children: dict[tuple[Any, Any], dict[int, Record]] = {}  # line items by (holder_type, holder_id)

    def children(self, holder_type: str, holder_id: int) -> list[Record]:
        """The line items of one holder (indexed: contracts and direct costs list them on every read)."""
        return list(self._children.get((holder_type, holder_id), {}).values())

    def _index(self, record: Record, add: bool) -> None:
        key = (record.get("holder_type"), record.get("holder_id"))
        if add:
            self._children.setdefault(key, {})[record["id"]] = record
        else:
            self._children.get(key, {}).pop(record["id"], None)

    # ---- basics -------------------------------------------------------------------------
    def new_id(self) -> int:
        with self.lock:
            self.next_id += 1
            return self.next_id

    def now_iso(self) -> str:
        return iso_timestamp(self.clock.now())

    def coerce(self, resource: Resource, data: Record) -> Record:
        """Request values in stored form; raises ValidationFailed for bad numbers/enums."""
        errors: dict[str, list[str]] = {}
        clean: Record = {}
        for key, value in data.items():
            if key in resource.money or key in resource.numbers:
                try:
                    clean[key] = parse_decimal(value)
                except (InvalidOperation, ValueError):
                    errors.setdefault(key, []).append("is not a number")
            elif key in resource.dates:
                clean[key] = parse_date(value)
            elif key in resource.enums and value is not None and value not in resource.enums[key]:
                errors.setdefault(key, []).append("is not included in the list")
            elif key == "origin_id" and value is not None:
                clean[key] = self._origin_value(resource, value, errors)
            else:
                clean[key] = value
        if errors:
            raise ValidationFailed(errors)
        return clean

    @staticmethod
    def _origin_value(resource: Resource, value: Any, errors: dict[str, list[str]]) -> Any:
        if resource.name == "timecard_entries":  # the one resource whose origin_id is an integer
            try:
                return int(str(value))
            except ValueError:
                errors.setdefault("origin_id", []).append("is not a number")
                return None
        return str(value)

    # ---- reads --------------------------------------------------------------------------
    def get(
        self,
        resource: str,
        record_id: Any,
        *,
        company_id: int | None = None,
        project_id: int | None = None,
        include_deleted: bool = False,
    ) -> Record:
        try:
            key = int(record_id)
        except (TypeError, ValueError):
            raise RecordNotFound(record_id) from None
        record = self.tables[resource].get(key)
        if record is None or (record.get("deleted_at") and not include_deleted):
            raise RecordNotFound(record_id)
        if company_id is not None and record.get("company_id") != company_id:
            raise RecordNotFound(record_id)
        if project_id is not None and record.get("project_id") not in (None, project_id):
            raise RecordNotFound(record_id)
        return record

    def rows(self, resource: str, **match: Any) -> list[Record]:
        """Every stored row of `resource` whose fields equal `match` (deleted ones included)."""
        table = self.tables[resource].values()
        return [r for r in table if all(r.get(k) == v for k, v in match.items())]

    def find_origin(self, resource: Resource, company_id: int, origin_id: Any) -> Record | None:
        if origin_id is None:
            return None
        for row in self.tables[resource.name].values():
            if row.get("company_id") == company_id and row.get("origin_id") == origin_id and not row.get("deleted_at"):
                return row
        return None

    # ---- writes -------------------------------------------------------------------------
    def insert(
        self,
        resource: Resource,
        data: Record,
        *,
        company_id: int,
        project_id: int | None = None,
        source: tuple[str | None, int | None] = (None, None),
        coerce: bool = True,
    ) -> Record:
        with self.lock:
            clean = self.coerce(resource, data) if coerce else dict(data)
            missing = [f for f in resource.required if clean.get(f) in (None, "")]
            if missing:
                raise ValidationFailed({f: ["can't be blank"] for f in missing})
            if resource.has_origin and clean.get("origin_id") is not None:
                if self.find_origin(resource, company_id, clean["origin_id"]):
                    raise ValidationFailed({"origin_id": ["has already been taken"]})
            record: Record = copy.deepcopy(resource.defaults)
            for money in resource.money & set(record):
                record[money] = parse_decimal(record[money])
            record.update(clean)
            now = self.now_iso()
            record.update(id=self.new_id(), company_id=company_id, created_at=now, updated_at=now)
            if resource.scope == "project":
                record["project_id"] = project_id
            if resource.has_origin:
                record.setdefault("origin_id", None)
            if resource.soft_delete:
                record.setdefault("deleted_at", None)
            self.tables[resource.name][record["id"]] = record
            if resource.name == "line_items":
                self._index(record, True)
            self._tell(Change(resource, record, "create", *source))
            return record

    def update(
        self,
        resource: Resource,
        record: Record,
        changes: Record,
        *,
        source: tuple[str | None, int | None] = (None, None),
        locked_check: bool = True,
    ) -> Record:
        with self.lock:
            clean = self.coerce(resource, changes)
            if locked_check and resource.lock_on_origin and record.get("origin_id") is not None:
                if set(clean) - {"origin_data"}:
                    raise ValidationFailed(
                        {
                            "base": [
                                "This record cannot be edited because it has been synced with ERP (origin_id is set)."
                            ]
                        }
                    )
            if "origin_id" in clean and clean["origin_id"] is not None and resource.has_origin:
                other = self.find_origin(resource, record["company_id"], clean["origin_id"])
                if other is not None and other["id"] != record["id"]:
                    raise ValidationFailed({"origin_id": ["has already been taken"]})
            for key in ("id", "company_id", "project_id", "created_at", "updated_at"):
                clean.pop(key, None)
            record.update(clean)
            record["updated_at"] = self.now_iso()
            self._tell(Change(resource, record, "update", *source))
            return record

    def touch(self, resource: Resource, record: Record, source: tuple[str | None, int | None]) -> None:
        """Stamp `updated_at` on a parent whose children changed (line items, items)."""
        record["updated_at"] = self.now_iso()
        self._tell(Change(resource, record, "update", *source))

    def delete(
        self, resource: Resource, record: Record, *, source: tuple[str | None, int | None] = (None, None)
    ) -> None:
        with self.lock:
            if resource.lock_on_origin and record.get("origin_id") is not None:
                raise ValidationFailed(
                    {"base": ["This record cannot be deleted because it has been synced with ERP (origin_id is set)."]}
                )
            now = self.now_iso()
            if resource.soft_delete:
                record["deleted_at"] = now
                record["updated_at"] = now
            else:
                self.tables[resource.name].pop(record["id"], None)
                if resource.name == "line_items":
                    self._index(record, False)
            self._tell(Change(resource, record, "delete", *source))

    def _tell(self, change: Change) -> None:
        for listener in self.listeners:
            listener(change)

    # ---- persistence --------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return {"$decimal": str(value)}
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        with self.lock:
            return {
                "next_id": self.next_id,
                "companies": list(self.companies.values()),
                "tables": {name: [plain(r) for r in rows.values()] for name, rows in self.tables.items()},
                "files": {str(k): [n, t, v.hex()] for k, (n, t, v) in self.files.items()},
            }

    def load(self, data: dict[str, Any]) -> None:
        def typed(value: Any) -> Any:
            if isinstance(value, dict):
                if set(value) == {"$decimal"}:
                    return Decimal(value["$decimal"])
                return {k: typed(v) for k, v in value.items()}
            if isinstance(value, list):
                return [typed(v) for v in value]
            return value

        with self.lock:
            self.next_id = data["next_id"]
            self.companies = {c["id"]: c for c in data["companies"]}
            for name, rows in data["tables"].items():
                self.tables[name] = {r["id"]: typed(r) for r in rows}
            self._children = {}
            for line in self.tables["line_items"].values():
                self._index(line, True)
            self.files = {int(k): (n, t, bytes.fromhex(v)) for k, (n, t, v) in data.get("files", {}).items()}

    def save_to(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.dump()))
        tmp.replace(path)
