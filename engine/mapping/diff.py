"""What a mapped payload would change on its twin, and the action it calls for. Pure.

`changes(payload, twin)` compares only what the payload says: fields the rule does not
map are the target's own business (QBO's computed TotalAmt, a Procore status...) and never
count as a change. Numbers compare by value (`"12.5"` equals `12.50`), ids compare as text
(`57` equals `"57"`). Lists compare item by item, after dropping the twin's items that the
system adds on its own (`ignore_item`: QBO's subtotal line, say); an empty list equals a
list the twin leaves out (systems do not serve empty lists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.expressions.functions import LinkResolver
from engine.mapping.mapper import Mapper, MapResult

IgnoreItem = Callable[[Any], bool]


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any


@dataclass
class Decision:
    """The plan for one record: create, update, skip, defer, lock or error."""

    action: str
    payload: dict[str, Any] | None = None
    changes: list[Change] | None = None
    reason: str | None = None
    result: MapResult | None = None
    groups: list[str] = field(default_factory=list)  # a split source record's group keys (rule tests)


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def same(new: Any, old: Any) -> bool:
    """Whether a mapped scalar equals the twin's value (numbers by value, ids as text)."""
    if new == old and type(new) is type(old):
        return True
    if isinstance(new, bool) or isinstance(old, bool):
        return new == old and isinstance(new, bool) and isinstance(old, bool)
    a, b = _as_number(new), _as_number(old)
    if a is not None and b is not None and (isinstance(new, (Decimal, int)) or isinstance(old, (Decimal, int))):
        return a == b
    if isinstance(new, (str, int, Decimal)) and isinstance(old, (str, int, Decimal)):
        return str(new) == str(old)
    return new == old


def changes(payload: Any, twin: Any, path: str = "", ignore_item: IgnoreItem | None = None) -> list[Change]:
    """Every leaf of `payload` that differs from `twin`."""
    if isinstance(payload, Mapping):
        if not isinstance(twin, Mapping):
            return [Change(path or "<record>", twin, payload)]
        found: list[Change] = []
        for key, value in payload.items():
            found += changes(value, twin.get(key), f"{path}.{key}" if path else key, ignore_item)
        return found
    if isinstance(payload, list):
        if not payload and twin is None:  # an empty list and a list the twin leaves out are the same
            return []
        theirs = [t for t in twin if not (ignore_item and ignore_item(t))] if isinstance(twin, list) else None
        if theirs is None or len(theirs) != len(payload):
            return [Change(path, twin, payload)]
        found = []
        for i, (mine, other) in enumerate(zip(payload, theirs)):
            found += changes(mine, other, f"{path}[{i}]", ignore_item)
        return found
    return [] if same(payload, twin) else [Change(path, twin, payload)]


def decide(
    result: MapResult,
    twin: Mapping[str, Any] | None,
    *,
    lock: bool = False,
    lock_reason: str | None = None,
    ignore_item: IgnoreItem | None = None,
) -> Decision:
    """The action for a mapped record given its twin (None when it has none yet)."""
    if result.outcome == "skipped":
        return Decision("skip", reason=result.reason, result=result)
    if result.outcome == "deferred":
        return Decision("defer", reason=result.reason, result=result)
    if result.outcome == "error":
        return Decision("error", reason=result.error.format() if result.error else None, result=result)
    if twin is None:
        return Decision("create", payload=result.payload, result=result)
    found = changes(result.payload or {}, twin, ignore_item=ignore_item)
    if not found:
        return Decision("skip", payload=result.payload, changes=[], reason="unchanged", result=result)
    if lock:
        return Decision("lock", payload=result.payload, changes=found, reason=lock_reason or "locked", result=result)
    return Decision("update", payload=result.payload, changes=found, result=result)


def plan_record(
    mapper: Mapper,
    record: dict[str, Any],
    twin: dict[str, Any] | None,
    *,
    links: LinkResolver,
    ignore_item: IgnoreItem | None = None,
    base: Mapping[str, Any] | None = None,
) -> Decision:
    """Map `record` once against `twin`, evaluate the rule's `lock_when`, decide, and keep the
    target's own edits (`three_way` against `base`, what Joist last wrote there)."""
    result = mapper.map(record, links=links, target=twin)
    locked = result.outcome == "mapped" and mapper.locked(record, twin)
    when = mapper.rule.lock_when
    reason = f"lock_when is true: {when.text}" if locked and when is not None else None
    return three_way(decide(result, twin, lock=locked, lock_reason=reason, ignore_item=ignore_item), base)


def _top(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def three_way(decision: Decision, base: Mapping[str, Any] | None) -> Decision:
    """Keep the target's own edits: of an update, send only what changed at the source.

    `base` is what Joist last wrote to the target. A top-level field whose mapped value is
    still the base value did not change at the source; if the target differs there, someone
    edited it on the target, and that edit stays. A field changed on both sides takes the
    source's value (the flow's direction says which side leads). Without a base (a link made
    before Joist remembered what it wrote) every difference is sent, as before.
    """
    if decision.action not in ("update", "lock") or base is None or not decision.changes:
        return decision
    payload = decision.payload or {}
    moved = {key for key, value in payload.items() if changes(value, base.get(key), key)}
    kept = [c for c in decision.changes if _top(c.path) in moved]
    if kept:
        return Decision(
            decision.action,
            payload=payload,
            changes=kept,
            reason=decision.reason,
            result=decision.result,
            groups=decision.groups,
        )
    edited = sorted({_top(c.path) for c in decision.changes})
    return Decision(
        "skip",
        payload=payload,
        changes=[],
        result=decision.result,
        groups=decision.groups,
        reason="nothing changed at the source; the target's own edits are kept (" + ", ".join(edited) + ")",
    )
