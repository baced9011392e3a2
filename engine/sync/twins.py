"""Records as the sync engine compares them: content hashes, matching, sparse payloads.

A record's hash leaves out what changes without anyone editing it (each connector says
which fields: QBO's SyncToken and MetaData and the balances it computes, Procore's
updated_at), so the hash of what Joist wrote equals the hash of the same record read back
later: that is how an echo on a two-way flow is recognised.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from connectors.base import Connector
from engine.expressions.base import Compiled, EvaluationError, guard_hint
from engine.expressions.compiler import RUNTIME_ERRORS
from engine.expressions.functions import Runtime
from engine.language.rules import Rule
from engine.language.tree import ItemNode, ListNode, Node, ObjectNode, ValueNode
from engine.state.records import content_hash, intent_key
from engine.state.store import State


def record_hash(connector: Connector, entity: str, record: Mapping[str, Any]) -> str:
    """The content hash of a record, without the fields its system changes on its own."""
    skip = connector.volatile_fields(entity)
    return content_hash({k: v for k, v in record.items() if k not in skip})


def _expr(expr: Compiled | None) -> list[str] | None:
    return None if expr is None else [expr.kind, expr.text]


def _shape(node: Node) -> Any:
    """The fields tree as plain data: each expression's kind and text, lists with their `each`/`when`."""
    if isinstance(node, ValueNode):
        return _expr(node.expr)
    if isinstance(node, ObjectNode):
        return {key: _shape(child) for key, child in node.children.items()}
    assert isinstance(node, ListNode)
    return [_item(item) for item in node.items]


def _item(item: ItemNode) -> dict[str, Any]:
    return {"each": _expr(item.each), "when": _expr(item.when), "fields": _shape(item.fields)}


def rule_fingerprint(rule: Rule, params: Mapping[str, Any]) -> str:
    """What produces a flow's writes, as one hash: the compiled rule (every layer merged) and
    the values of the params its expressions read.

    It covers what decides a payload: `source.where` and `split`, the target entity and its
    `entity_when`, `update`, and every field with the layer-merged expression that makes it.
    A link keeps the fingerprint of its last write; a different one makes the record an
    update candidate ("rule changed") even when its source did not move. Params the rule
    declares but never reads, descriptions, tags and `lock_when` do not count.
    """
    exprs = rule.all_expressions()
    split = rule.source.split
    if split is not None:
        exprs += [split.each, split.key]
    read = sorted({path[0] for e in exprs for root, path in e.reads if root == "params" and path})
    if any(root == "params" and not path for e in exprs for root, path in e.reads) or any(
        "params" in e.roots and not any(root == "params" for root, _ in e.reads) for e in exprs
    ):
        read = sorted(params)  # an expression reads params as a whole: every value counts
    shape = {
        "target": [rule.target.system, rule.target.entity],
        "entity_when": {name: _expr(e) for name, e in rule.target.entity_when.items()},
        "where": _expr(rule.source.where),
        "split": None if split is None else [_expr(split.each), _expr(split.key), list(split.path)],
        "update": rule.update,
        "fields": _shape(rule.fields),
        "params": {name: _param(params.get(name)) for name in read},
    }
    return content_hash(shape)


def _param(value: Any) -> Any:
    """A param value as the hash sees it (JSON-like; anything else by its text)."""
    if value is None or isinstance(value, (bool, int, float, Decimal, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _param(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_param(v) for v in value]
    return str(value)


def _norm(value: Any) -> str:
    if isinstance(value, Decimal):  # 207000.0 and 207000.00 are the same amount
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    return "" if value is None else str(value).strip().casefold()


def value_at(record: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path in a record (None where a step is missing or not an object)."""
    cur: Any = record
    for step in dotted.split("."):
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(step)
    return cur


class MatchIndex:
    """Target records by the values of a rule's `match` fields, read whole when first needed.

    A run reads it once. The service keeps one per flow across its runs: `catch_up()` marks
    it to read only what changed on the target since (one feed request, not every record
    again) before its next use."""

    def __init__(self, connector: Connector, entity: str, match: Mapping[str, Compiled]) -> None:
        self.connector, self.entity, self.match = connector, entity, match
        self._index: dict[tuple[str, ...], list[dict[str, Any]]] | None = None
        self._keys: dict[str, tuple[str, ...]] = {}  # record id -> its key in the index
        self._cursor: str | None = None
        self._behind = False

    def _put(self, record: Mapping[str, Any]) -> None:
        assert self._index is not None
        record_id = self.connector.record_id(self.entity, dict(record))
        old = self._keys.pop(record_id, None)
        if old is not None:
            self._index[old] = [
                r for r in self._index.get(old, []) if self.connector.record_id(self.entity, r) != record_id
            ]
        if self.connector.is_deleted(self.entity, dict(record)):
            return
        key = tuple(_norm(value_at(record, path)) for path in self.match)
        if all(key):
            self._index.setdefault(key, []).append(dict(record))
            self._keys[record_id] = key

    def _read(self, since: str | None) -> None:
        for page in self.connector.read(self.entity, since=since):
            for record in page.records:
                self._put(record)
            self._cursor = page.cursor or self._cursor

    def catch_up(self, connector: Connector) -> None:
        """Before the next use, read what changed on the target since the last read (through `connector`)."""
        self.connector, self._behind = connector, self._index is not None

    def key_for(self, ctx: dict[str, Any], rt: Runtime) -> tuple[str, ...] | None:
        """The match key of a source record (None when a match value is empty).

        An expression that fails on this record is an `EvaluationError` (M404) for the
        record, as it is in `fields`, not an exception that stops the run."""
        values = []
        for path, expr in self.match.items():
            try:
                values.append(_norm(expr.evaluate(ctx, rt)))
            except RUNTIME_ERRORS as exc:
                message = (str(exc).strip() or type(exc).__name__).replace("has no attribute", "has no field")
                raise EvaluationError(
                    f"match {path}: {expr.text!r} failed: {message}",
                    location=expr.location,
                    hint=guard_hint(expr),
                ) from None
        key = tuple(values)
        return key if all(key) else None

    def candidates(self, key: tuple[str, ...]) -> list[dict[str, Any]]:
        if self._index is None:
            self._index = {}
            self._read(None)
        elif self._behind:
            self._behind = False
            self._read(self._cursor)
        return self._index.get(key, [])

    def add(self, record: Mapping[str, Any]) -> None:
        """Remember a record Joist just created, so a second source record cannot adopt it."""
        if self._index is not None:
            self._put(record)


class TwinCheck:
    """Which linked twins still exist on the target: `joist sync --full` verifies every twin.

    The target entity's records are read once, page by page (not one request per link); an
    id missing from them is then read by id, so a record the listing leaves out (an
    inactive name in QBO) is not taken for gone. Gone means not found in any entity the
    flow writes (its target entity and those of `entity_when`), or deleted by the
    connector's own judgement (`is_deleted`).
    """

    def __init__(self, connector: Connector, entities: Iterable[str]) -> None:
        self.connector, self.entities = connector, list(dict.fromkeys(entities))
        self._ids: set[str] | None = None
        self._read_ahead: dict[str, dict[str, Any]] = {}

    def read_ahead(self, target_ids: Iterable[str]) -> int:
        """Read these twins many at a time (`get_many`), for the planning of the records
        they belong to; each is used once, so a later `read` asks the target again.

        Only for a flow writing one entity: ids of two entities may collide. Returns how
        many were found."""
        wanted = [i for i in dict.fromkeys(target_ids) if i not in self._read_ahead]
        if len(self.entities) != 1 or len(wanted) < 2:
            return 0
        found = self.connector.get_many(self.entities[0], wanted)
        self._read_ahead.update(found)
        return len(found)

    def read(self, target_id: str) -> dict[str, Any] | None:
        """The twin `target_id` as it is now, from the first entity holding it (None: gone)."""
        found = self.locate(target_id)
        return found[1] if found else None

    def locate(self, target_id: str, first: str | None = None) -> tuple[str, dict[str, Any]] | None:
        """The entity holding the twin `target_id` and the twin as it is now (None: gone);
        `first` is the entity to look in before the others (the one the twin was made as)."""
        ahead = self._read_ahead.pop(target_id, None)
        if ahead is not None and first in (None, self.entities[0]):
            return self.entities[0], ahead
        order = [first] if first in self.entities else []
        for entity in [*order, *(e for e in self.entities if e != first)]:
            twin = self.connector.get(entity, target_id)
            if twin is not None and not self.connector.is_deleted(entity, twin):
                return entity, twin
        return None

    def gone(self, target_id: str) -> bool:
        """Whether the twin `target_id` no longer exists on the target."""
        if self._ids is None:
            self._ids = set()
            for entity in self.entities:
                for page in self.connector.read(entity, since=None):
                    for record in page.records:
                        if not self.connector.is_deleted(entity, record):
                            self._ids.add(self.connector.record_id(entity, record))
        return target_id not in self._ids and self.read(target_id) is None


def made_as(state: State, flow: str, sid: str, twin_id: str) -> str | None:
    """The entity the flow created `twin_id` as for the source record `sid`, from its done
    create intent (None: Joist did not make it, it adopted or brought it back)."""
    intent = state.intent(intent_key(flow, sid))
    while intent is not None and intent.state in ("done", "abandoned"):
        if intent.state == "done" and intent.target_id == twin_id:
            return intent.target_entity
        tail = (intent.target_id or "") if intent.state == "done" else intent.key
        intent = state.intent(intent_key(flow, sid, "again", tail))
    return None


def sparse_payload(payload: Mapping[str, Any], changed_paths: Iterable[str]) -> dict[str, Any]:
    """The top-level fields of `payload` that hold a change (a list or object is sent whole)."""
    tops = {p.split(".")[0].split("[")[0] for p in changed_paths}
    return {k: v for k, v in payload.items() if k in tops}
