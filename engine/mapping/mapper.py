"""Apply a rule to one source record: the target payload, or why there is none.

Pure but for `source_record()`: the record, the links (as a resolver), params, lookup
tables and a reader of the source system's records (`Mapper.records`, set by a run) in;
a `MapResult` out. Outcomes:

- `mapped`: `payload` is what the target should hold;
- `skipped`: `source.where` is false (the reason names the expression);
- `deferred`: some `ref()` has no link yet (`missing` names each link set and id); the
  record runs again after the flow that makes those links;
- `error`: an expression failed on this record (`error` names the flow, the record, the
  field and the expression).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from engine.errors import JoistError
from engine.expressions.base import Compiled, EvaluationError, guard_hint
from engine.expressions.compiler import RUNTIME_ERRORS
from engine.expressions.functions import LinkResolver, RecordReader, Runtime
from engine.language import catalog
from engine.language.rules import Rule
from engine.language.tree import ItemNode, ListNode, Node, ObjectNode, ValueNode, truthy
from engine.mapping.codegen import compile_tree, generate
from engine.mapping.shape import (
    NeedsItems,
    check_items,
    id_paths,
    ids_as_text,
    list_paths,
    params_as_text,
    with_empty_lists,
)

# What a rule's expressions may raise on a record: reported against the field, never raised.
_CAUGHT: tuple[type[BaseException], ...] = (JoistError, *RUNTIME_ERRORS)


@dataclass(slots=True)
class MapResult:
    outcome: str  # mapped | skipped | deferred | error
    payload: dict[str, Any] | None = None
    reason: str | None = None
    missing: list[tuple[str, str]] = field(default_factory=list)
    error: JoistError | None = None
    entity: str | None = None  # the target entity (entity_when may change it)


@dataclass
class FieldTrace:
    """For `explain`: how one target field got its value."""

    path: str
    expression: str
    kind: str
    layer: str
    location: str
    reads: dict[str, Any]
    value: Any
    item: str | None = None  # inside a list: the element it came from (`source.items[2]`)


class _Failed(Exception):
    def __init__(self, path: str, expr: Compiled, cause: BaseException) -> None:
        self.path, self.expr, self.cause = path, expr, cause


def _guard(path: str, expr: Compiled) -> Callable[[dict[str, Any], Runtime], Any]:
    evaluate = expr.evaluate

    def guarded(ctx: dict[str, Any], rt: Runtime) -> Any:
        try:
            return evaluate(ctx, rt)
        except _CAUGHT as exc:
            raise _Failed(path, expr, exc) from exc

    return guarded


def _guarded_tree(node: Node, path: str = "") -> Node:
    """A copy of the tree whose expressions say which field failed."""
    if isinstance(node, ValueNode):
        return ValueNode(
            Compiled(node.expr.text, node.expr.kind, node.expr.location, evaluate=_guard(path, node.expr)), node.origin
        )
    if isinstance(node, ObjectNode):
        return ObjectNode(
            {k: _guarded_tree(c, f"{path}.{k}" if path else k) for k, c in node.children.items()}, node.origin
        )
    items = []
    for item in node.items:
        each = (
            Compiled(item.each.text, item.each.kind, item.each.location, evaluate=_guard(f"{path}[].each", item.each))
            if item.each
            else None
        )
        when = (
            Compiled(item.when.text, item.when.kind, item.when.location, evaluate=_guard(f"{path}[].when", item.when))
            if item.when
            else None
        )
        items.append(ItemNode(cast(ObjectNode, _guarded_tree(item.fields, f"{path}[]")), each, when, item.origin))
    return ListNode(items, node.origin)


_OBJECT_NAME = re.compile(r"'[\w.]*(?:PosDict|dict) object'")


def record_id(rule: Rule, record: Mapping[str, Any]) -> str:
    """The source record's id as a string."""
    value = record.get(rule.source_entity.id_field)
    return "" if value is None else str(value)


class Mapper:
    """A rule ready to map many records: expressions compiled once, the tree as closures."""

    def __init__(
        self,
        rule: Rule,
        params: Mapping[str, Any] | None = None,
        lookups: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.rule = rule
        self.params = {**rule.default_params(), **(params or {})}
        self.lookups = lookups or {}
        self.records: RecordReader | None = None  # source_record(): set by a run that has the source system
        # The fast tree runs unguarded; only when it raises is the record mapped again
        # through the guarded tree, which says which field and expression failed.
        self._fast = compile_tree(rule.fields)
        self._build = compile_tree(_guarded_tree(rule.fields), inline=False)
        self._where = _guard("source.where", rule.source.where) if rule.source.where else None
        self._where_fast = generate(ValueNode(rule.source.where, rule.fields.origin)) if rule.source.where else None  # type: ignore[arg-type]
        self._entity_when = [
            (name, _guard(f"target.entity_when.{name}", e)) for name, e in rule.target.entity_when.items()
        ]
        self._id_field = rule.source_entity.id_field
        self._entity = rule.target.entity
        self._lists = list_paths(rule.fields)  # sent as [] when they map to no items (engine.mapping.shape)
        # Per target entity: its catalogue entry and the id fields to send as text (engine.mapping.shape).
        self._targets: dict[str, tuple[catalog.Entity, list[tuple[str, ...]]]] = {}
        for name in dict.fromkeys([rule.target.entity, *rule.target.entity_when]):
            spec = catalog.entity(rule.target.system, name)
            paths, id_params = id_paths(rule.fields, spec)
            params_as_text(self.params, id_params)
            self._targets[name] = (spec, paths)

    def context(self, record: Mapping[str, Any], target: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "source": record,
            "target": target,
            "params": self.params,
            "links": None,
            "item": None,
            "parent": None,
            "index": None,
        }

    def runtime(self, links: LinkResolver | None = None) -> Runtime:
        """A fresh runtime for one record: the links, the lookup tables, the source reader."""
        return Runtime(links, self.lookups, records=self.records)

    def locked(self, record: Mapping[str, Any], target: Mapping[str, Any] | None) -> bool:
        """Whether the rule's `lock_when` freezes this twin."""
        if target is None or self.rule.lock_when is None:
            return False
        return truthy(self.rule.lock_when.evaluate(self.context(record, target), self.runtime()))

    def kept(self, record: Mapping[str, Any], *, links: LinkResolver | None = None) -> bool:
        """Whether `source.where` lets the record in (True when it fails: `map` reports why)."""
        if self._where is None:
            return True
        try:
            return truthy(self._where(self.context(record), Runtime(links, self.lookups)))
        except Exception:  # noqa: BLE001 - the same expression fails again in map(), which names the field
            return True

    def map(
        self, record: Mapping[str, Any], *, links: LinkResolver | None = None, target: Mapping[str, Any] | None = None
    ) -> MapResult:
        """Map one record. Never raises for bad data: a failure is an `error` outcome."""
        rt = self.runtime(links)
        ctx = {
            "source": record,
            "target": target,
            "params": self.params,
            "links": None,
            "item": None,
            "parent": None,
            "index": None,
        }  # = self.context(record, target), without the call: this runs once a record
        try:
            if self._where_fast is not None:
                try:
                    keep = truthy(self._where_fast(ctx, rt))
                except _CAUGHT:  # again through the guarded evaluator, which names the field
                    rt.missing.clear()
                    keep = truthy(self._where(ctx, rt))  # type: ignore[misc]
                if not keep:
                    return MapResult("skipped", reason=f"source.where is false: {self.rule.source.where.text}")  # type: ignore[union-attr]
            entity = self._entity
            for name, test in self._entity_when:
                if truthy(test(ctx, rt)):
                    entity = name
                    break
            try:
                payload = self._fast(ctx, rt) or {}
            except _CAUGHT:
                rt.missing.clear()
                rt.steps = 0  # the guarded run gets the whole budget again
                payload = self._build(ctx, rt) or {}
        except _Failed as failed:
            if rt.missing:
                return MapResult("deferred", missing=_unique(rt.missing), reason=_missing_reason(rt.missing))
            return MapResult("error", error=self._error(record, failed))
        if rt.missing:
            return MapResult("deferred", missing=_unique(rt.missing), reason=_missing_reason(rt.missing))
        return self._shaped(record, with_empty_lists(payload, self._lists), entity)

    def _shaped(self, record: Mapping[str, Any], payload: dict[str, Any], entity: str) -> MapResult:
        """The payload as the target's catalogue wants it: ids as text, needed lists not empty."""
        spec, ids = self._targets[entity]
        if ids:
            ids_as_text(payload, ids)
        empty = check_items(payload, spec, self._lists) if spec.needs_items else None
        if empty is not None:
            node = self.rule.fields.children[empty]
            error = NeedsItems(
                f"{self.rule.target.system} {entity} needs at least one {empty} item, and this record maps to none",
                location=node.origin.location if node.origin else self.rule.location,
                path=f"flow {self.rule.flow}, record {record.get(self._id_field)}, field {empty}",
                hint=f"give the record a {empty} item that the rule's `when:` keeps, or skip such records "
                "with `source.where`; it is tried again on the next sync",
            )
            return MapResult("error", error=error, entity=entity)
        return MapResult("mapped", payload=payload, entity=entity)

    def _error(self, record: Mapping[str, Any], failed: _Failed) -> JoistError:
        cause = failed.cause
        source_id = record.get(self._id_field)
        where = f"flow {self.rule.flow}, record {source_id}, field {failed.path}"
        if isinstance(cause, JoistError):
            cause.path = f"{where}, in {failed.expr.text}"
            cause.location = failed.expr.location
            return cause
        message = str(cause).strip() or type(cause).__name__
        message = _OBJECT_NAME.sub("the record", message).replace("has no attribute", "has no field")
        return EvaluationError(
            f"{failed.expr.text!r} failed: {message}",
            location=failed.expr.location,
            path=where,
            hint=guard_hint(failed.expr),
        )

    def explain(
        self, record: Mapping[str, Any], *, links: LinkResolver | None = None, target: Mapping[str, Any] | None = None
    ) -> list[FieldTrace]:
        """Per target field: the layer and expression that made it, the values it read, the value."""
        rt = self.runtime(links)
        traces: list[FieldTrace] = []
        self._explain(self.rule.fields, self.context(record, target), rt, "", traces, "")
        return traces

    def _explain(
        self, node: Node, ctx: dict[str, Any], rt: Runtime, path: str, out: list[FieldTrace], origin: str
    ) -> None:
        if isinstance(node, ValueNode):
            expr = node.expr
            try:
                value: Any = expr.evaluate(ctx, rt)
            except _CAUGHT as exc:
                value = f"<error: {exc}>"
            reads = {f"{root}.{'.'.join(p)}".replace(".[]", "[]"): _read(ctx, root, p) for root, p in expr.reads}
            out.append(
                FieldTrace(
                    path,
                    expr.text,
                    expr.kind,
                    node.origin.layer,
                    str(node.origin.location),
                    reads,
                    value,
                    origin or None,
                )
            )
            return
        if isinstance(node, ObjectNode):
            for key, child in node.children.items():
                self._explain(child, ctx, rt, f"{path}.{key}" if path else key, out, origin)
            return
        position = 0  # where the item lands in the payload's list
        for item in node.items:
            elements: list[Any] = [None]
            if item.each is not None:
                found = item.each.evaluate(ctx, rt)
                elements = found if isinstance(found, list) else ([] if found is None else [found])
            for index, element in enumerate(elements):
                inner = dict(ctx)
                if item.each is not None:
                    inner.update(item=element, parent=ctx.get("item") or ctx.get("source"), index=index)
                if item.when is not None and not truthy(item.when.evaluate(inner, rt)):
                    continue
                here = f"{item.each.text}[{index}]" if item.each is not None else origin
                if item.each is not None and origin:
                    here = f"{origin} > {here}"
                self._explain(item.fields, inner, rt, f"{path}[{position}]", out, here)
                position += 1


def _read(ctx: Mapping[str, Any], root: str, path: tuple[str, ...]) -> Any:
    cur: Any = ctx.get(root)
    for i, step in enumerate(path):
        if step == "[]":
            rest = path[i + 1 :]
            return [_read({"x": v}, "x", rest) for v in cur] if isinstance(cur, list) else None
        cur = cur.get(step) if isinstance(cur, Mapping) else None
    return cur


def _unique(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(pairs))


def _missing_reason(pairs: list[tuple[str, str]]) -> str:
    return "waiting for link " + ", ".join(f"{s}:{i}" for s, i in _unique(pairs))
