"""`source.split`: one source record becomes one record per group of its lines.

A QBO expense whose lines name two projects becomes two Procore direct costs, one per
project. Each group is the source record with only that group's items in the split list;
its id is `<record id>#<group key>`, so links, failures and retries work per group. A
record with a single group keeps its own id.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from engine.expressions.functions import Runtime
from engine.language.rules import Rule

SEPARATOR = "#"
NO_GROUP = "split: no element of the list has a key"


def groups(
    rule: Rule, record: dict[str, Any], record_id: str, *, lookups: Any = None, params: Any = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(group id, group record) for each non-empty key, in order of first appearance.

    Without a split, the record itself under its own id.
    """
    split = rule.source.split
    if split is None:
        yield record_id, record
        return
    rt = Runtime(lookups=lookups or {})
    ctx: dict[str, Any] = {
        "source": record,
        "params": params or {},
        "target": None,
        "links": None,
        "item": None,
        "parent": record,
        "index": None,
    }
    items = split.each.evaluate(ctx, rt) or []
    grouped: dict[str, list[Any]] = {}
    for index, item in enumerate(items if isinstance(items, list) else [items]):
        key = split.key.evaluate({**ctx, "item": item, "index": index}, rt)
        if key is None or key == "":
            continue
        grouped.setdefault(str(key), []).append(item)
    for key, members in grouped.items():
        part = copy.copy(record)
        _replace(part, split.path, members)
        # A record with one group keeps its own id: it stays the same record as on the other
        # side (where a reverse flow links it by that id) and splits only when it must.
        yield (record_id if len(grouped) == 1 else f"{record_id}{SEPARATOR}{key}"), part


def _replace(record: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    cur = record
    for step in path[:-1]:
        cur[step] = dict(cur.get(step) or {})
        cur = cur[step]
    cur[path[-1]] = value


def parent_id(rule: Rule, group_id: str) -> str:
    """The source record id a group id belongs to."""
    if rule.source.split is None:
        return group_id
    return group_id.split(SEPARATOR, 1)[0]
