"""`joist explain FLOW SOURCE_ID`: where every target field of one record came from.

For each target field: the layer (pack) and file:line of its definition, the expression,
the source values it read, the value Joist would write now, and the twin's current value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from engine.errors import JoistError
from engine.mapping.mapper import Mapper
from engine.project.session import Session
from engine.sync.run import source_reader


class RecordNotFound(JoistError):
    """The source record to explain does not exist."""

    code = "M408"


def twin_value(twin: Any, path: str, is_system_line: Callable[[Any], bool] = lambda item: False) -> Any:
    """The twin's value at a field path (`Line[1].Amount`), its lists aligned as the diff aligns them.

    Items the system adds on its own (QBO's subtotal line: the connector's `is_system_line`)
    are left out before indexing, so `Line[1]` is the twin line compared with the payload's
    second line.
    """
    cur = twin
    for part in path.replace("]", "").split("."):
        name, _, index = part.partition("[")
        if not isinstance(cur, dict):
            return None
        cur = cur.get(name)
        for step in index.split("[") if index else []:
            items = [x for x in cur if not is_system_line(x)] if isinstance(cur, list) else None
            if items is None or int(step) >= len(items):
                return None
            cur = items[int(step)]
    return cur


def explain(session: Session, flow: str, source_id: str) -> dict[str, Any]:
    """The explanation as a JSON-ready document."""
    rule = session.ruleset[flow]
    conns = session.connectors({rule.source.system, rule.target.system})
    src, tgt = conns[rule.source.system], conns[rule.target.system]
    from engine.mapping.split import groups, parent_id

    record = src.get(rule.source.entity, parent_id(rule, source_id))
    if record is not None and rule.source.split is not None:
        record = dict(
            groups(
                rule, record, parent_id(rule, source_id), lookups=session.ruleset.lookups, params=session.project.params
            )
        ).get(source_id)
    if record is None:
        raise RecordNotFound(
            f"{rule.source.system} has no {rule.source.entity} {source_id}",
            hint=f"check the id; `joist ls --select {flow}` shows what the flow reads",
        )
    from engine.sync.links import link_columns

    src_col, tgt_col = link_columns(rule.source.system, rule.target.system)
    link = session.state.find_link(rule.links, **{f"{src_col}_id": str(source_id)})
    twin = None
    twin_id = getattr(link, f"{tgt_col}_id") if link else None
    warnings: list[str] = []
    if twin_id:
        twin = tgt.get(rule.target.entity, twin_id)
        if twin is None or tgt.is_deleted(rule.target.entity, twin):
            twin = None
            then = (
                "the next sync reports it (on_delete: report)"
                if rule.on_delete == "report"
                else "the next sync that reads this record makes it again (`joist sync --full` checks every twin)"
            )
            warnings.append(
                f"its twin {rule.target.system} {rule.target.entity} {twin_id} is gone "
                f"(deleted there, or the company was reset): {then}"
            )
    mapper = Mapper(rule, session.project.params, session.ruleset.lookups)
    mapper.records = source_reader(src)
    resolvers: dict[str, Any] = {}

    def links(link_set: str, key: str) -> str | None:
        if link_set not in resolvers:
            resolvers[link_set] = session.state.resolver(link_set, toward=rule.target.system)
        return resolvers[link_set](key)

    result = mapper.map(record, links=links, target=twin)
    fields = []
    for trace in mapper.explain(record, links=links, target=twin):
        fields.append(
            {
                "field": trace.path,
                "layer": trace.layer,
                "defined_at": trace.location,
                "expression": trace.expression,
                "kind": trace.kind,
                "reads": trace.reads,
                "value": trace.value,
                "twin": twin_value(twin, trace.path, partial(tgt.is_system_line, rule.target.entity)) if twin else None,
                "item": trace.item,
            }
        )
    return {
        "flow": flow,
        "source": f"{rule.source.system}.{rule.source.entity} {source_id}",
        "target": f"{rule.target.system}.{result.entity or rule.target.entity} {twin_id or '(not linked)'}",
        "outcome": result.outcome,
        "linked": twin is not None,
        "reason": result.reason,
        "locked": bool(link and link.locked),
        "lock_reason": link.lock_reason if link else None,
        "fields": fields,
        "warnings": warnings,
    }
