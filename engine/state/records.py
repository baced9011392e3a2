"""What the state store holds and promises: records, the `StateStore` protocol, keys and hashes.

Plain dataclasses and the protocol, shared by every backend (`engine.state.store.SQLiteState`
and those to come), plus the store's own errors and the two derivations that must never change between
releases: `content_hash` (what links remember of a record) and `intent_key` (the
idempotency key of a write).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from engine.state.migrations import StateError


def canonical_json(value: Any) -> str:
    """One exact text for a JSON-like value: sorted keys, no spaces, numbers in shortest exact form.

    `Decimal("10.50")`, `Decimal("10.5")` and `10.5` all print as `10.5`, so a hash does not
    change when a system echoes an amount back with another scale. Dates print in ISO form.
    """
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise ValueError(f"cannot hash the number {value!r}")
        text = format(number.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime, date)):
        return json.dumps(value.isoformat())
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical_json(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    raise TypeError(f"cannot hash a {type(value).__name__}")


def content_hash(value: Any) -> str:
    """The SHA-256 (hex) of `canonical_json(value)`: what links keep as procore_hash / qbo_hash."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


# Fixed forever: changing it would give every in-flight create a new key after an upgrade.
INTENT_NAMESPACE = uuid.UUID("6b1f0f8e-2d4a-5c3b-9e61-4a6f6a6f6973")


def intent_key(flow: str, source_id: str, *parts: Any) -> str:
    """A deterministic 36-character key for one write: QBO `requestid`, Procore `origin_id`.

    Derivation: `uuid5(INTENT_NAMESPACE, canonical_json([flow, source_id, *parts]))`,
    printed in the usual 8-4-4-4-12 form. `canonical_json` sorts keys, drops whitespace and
    writes numbers in their shortest exact form, so equal inputs give equal keys on every
    machine and Python version. Pass what makes this write distinct from earlier writes for
    the same record (the payload hash, or a generation number after a delete); a replay
    after a crash uses the key stored in the pending intent, so it never depends on
    recomputing this.
    """
    return str(uuid.uuid5(INTENT_NAMESPACE, canonical_json([flow, str(source_id), *parts])))


@dataclass
class Link:
    """One record known on both sides, within a link set."""

    link_set: str
    procore_id: str | None
    qbo_id: str | None
    procore_hash: str | None = None  # hash of the Procore-side content we last wrote or saw
    qbo_hash: str | None = None
    procore_version: str | None = None  # Procore updated_at we last saw
    qbo_version: str | None = None  # QBO SyncToken we last saw
    origin: str | None = None  # "procore" | "qbo" | "matched" | "manual"
    flow: str | None = None
    locked: bool = False
    lock_reason: str | None = None
    updated_at: str | None = None  # ISO, set by the store
    procore_payload: str | None = None  # JSON of the fields Joist last wrote to the Procore side
    qbo_payload: str | None = None  # ... and to the QBO side: the base of a three-way merge
    procore_rule: str | None = None  # fingerprint of the rule and params behind the last write to the Procore side
    qbo_rule: str | None = None  # ... and to the QBO side (None: written before Joist kept it)


@dataclass
class Run:
    """One `joist sync` / `plan` / `retry` invocation."""

    id: int
    command: str
    selection: str
    status: str  # "running" until finished ("ok", "failed", ...); "interrupted" if its process died
    started_at: str
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    pid: int | None = None  # the process that ran it, on `host`
    host: str | None = None


@dataclass
class Failure:
    """A record that failed to sync, why, and when it may be tried again."""

    flow: str
    source_id: str
    code: str
    message: str
    hint: str | None
    attempts: int
    next_attempt: str | None
    first_failed_at: str | None = None
    last_failed_at: str | None = None
    run_id: int | None = None


@dataclass
class Intent:
    """A write announced before it is sent; `state` is "pending", "done" or "abandoned"."""

    key: str
    flow: str
    source_id: str
    action: str
    target_system: str | None
    target_entity: str | None
    payload_hash: str | None
    state: str
    target_id: str | None = None
    attempts: int = 1
    created_at: str | None = None
    updated_at: str | None = None
    batch_key: str | None = None
    batch_index: int | None = None


class LinkConflict(StateError):
    """A record on one side would be linked to two different records on the other."""

    code = "S604"

    def __init__(self, link_set: str, side: str, record_id: str, linked_to: str, wanted: str) -> None:
        other = "qbo" if side == "procore" else "procore"
        names = {"procore": "Procore", "qbo": "QBO"}
        super().__init__(
            f"{names[side]} {record_id} is already linked to {names[other]} {linked_to} "
            f"in link set '{link_set}', not to {names[other]} {wanted}",
            path=f"link set {link_set}",
            hint=f"if {names[other]} {wanted} is the right twin, remove the old link first "
            f"(`joist link`); otherwise fix the flow's `match:` so it picks one record",
        )
        self.link_set = link_set
        self.side = side
        self.record_id = record_id
        self.linked_to = linked_to
        self.wanted = wanted


class UnknownIntent(StateError):
    """An intent key the store has never seen was completed or abandoned."""

    code = "S605"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"no write intent with key {key}",
            hint="the state file may have been replaced while a sync was running; "
            "run `joist sync` again: existing records are found by their key, not re-created",
        )
        self.key = key


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or asks for) the project's run lock: the process, its command, when it began, its last sign of life.

    `started_at` and `heartbeat_at` are ISO times set by the store (empty in a request).
    """

    token: str
    pid: int
    host: str
    command: str
    started_at: str
    heartbeat_at: str

    def describe(self) -> str:
        """`pid 4242 on build-01 (joist sync, since 2026-12-06T07:41:45.123+00:00)`."""
        return f"pid {self.pid} on {self.host} (joist {self.command}, since {self.started_at})"


class StateStore(Protocol):
    """What the sync engine needs of a state backend (SQLite now, PostgreSQL later)."""

    def transaction(self) -> AbstractContextManager[None]:
        """All writes inside commit together or not at all; nested calls join the outer one."""

    def find_link(self, link_set: str, *, procore_id: str | None = None, qbo_id: str | None = None) -> Link | None: ...
    def links(self, link_set: str | None = None) -> list[Link]: ...
    def resolver(self, link_set: str, toward: str) -> Callable[[str], str | None]: ...
    def put_link(self, link: Link) -> Link: ...
    def remove_link(self, link_set: str, *, procore_id: str | None = None, qbo_id: str | None = None) -> bool: ...
    def link_counts(self) -> dict[str, int]: ...
    def cursor(self, system: str, entity: str) -> str | None: ...
    def set_cursor(self, system: str, entity: str, value: str | None) -> None: ...
    def start_run(self, command: str, selection: str) -> int: ...
    def finish_run(self, run_id: int, status: str, counts: Mapping[str, int]) -> None: ...
    def runs(self, limit: int = 20) -> list[Run]: ...
    def record_failure(
        self, flow: str, source_id: str, *, code: str, message: str, hint: str | None = None, run_id: int | None = None
    ) -> Failure: ...
    def clear_failure(self, flow: str, source_id: str) -> bool: ...
    def failures(self, flow: str | None = None, *, due: bool = False) -> list[Failure]: ...
    def begin_intent(
        self,
        flow: str,
        source_id: str,
        key: str,
        *,
        action: str,
        target_system: str,
        target_entity: str,
        payload_hash: str | None,
    ) -> Intent: ...
    def complete_intent(self, key: str, *, target_id: str | None) -> None: ...
    def abandon_intent(self, key: str) -> None: ...
    def intent(self, key: str) -> Intent | None: ...
    def pending_intents(self, flow: str | None = None) -> list[Intent]: ...
    def forget_intents(self, before: str) -> int: ...
    def load_tokens(self, key: str) -> dict[str, Any] | None: ...
    def save_tokens(self, key: str, tokens: Mapping[str, Any]) -> None: ...
    def acquire_lock(self, holder: LockHolder, *, stale_after: float) -> LockHolder | None:
        """Take the run lock for `holder` unless a live holder has it; returns that holder, or None when taken."""

    def refresh_lock(self, token: str) -> bool:
        """Renew the heartbeat of the lock taken with `token`; False when it is no longer ours."""

    def release_lock(self, token: str) -> None:
        """Give up the lock taken with `token` (a no-op when it is no longer ours)."""

    def lock_holder(self) -> LockHolder | None:
        """Who holds the run lock now (a stale holder included), or None."""

    def close(self) -> None: ...
