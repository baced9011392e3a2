"""What the target's catalogue says about a mapped payload. Pure.

Three rules, applied to every payload the mapper makes:

- **An empty list is a value.** A list field of the rule that maps to no items (every line
  filtered by its `when`) is in the payload as `[]`, so an update empties the twin's list
  instead of leaving its old items in place (a list is always replaced whole). Lists inside
  list items keep the older rule: empty is left out.
- **Lists the entity cannot do without.** Where the catalogue says an entity `needs_items`
  (a QBO Bill, Invoice, Estimate, PurchaseOrder, Purchase... needs at least one `Line`), a
  payload whose list is empty is refused with `NeedsItems` (M412), on create and on update:
  the record is recorded as a failure and retried later, the rest of the run goes on.
- **Ids are text where the system says so.** A value written into a field the catalogue
  types `id` (`VendorRef.value`, `TxnId`...) of a system whose ids are strings (QBO) is sent
  as a string, whatever type the YAML or `-p` gave it (`88` becomes `"88"`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from engine.errors import JoistError
from engine.expressions.functions import Runtime
from engine.language import catalog
from engine.language.tree import ListNode, ObjectNode, walk_values


class NeedsItems(JoistError):
    """A record maps to no items in a list its target entity cannot be saved without."""

    code = "M412"


def list_paths(node: ObjectNode, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The paths of the rule's list fields outside any list item (`("Line",)`)."""
    found: list[tuple[str, ...]] = []
    for key, child in node.children.items():
        if isinstance(child, ListNode):
            found.append(prefix + (key,))
        elif isinstance(child, ObjectNode):
            found += list_paths(child, prefix + (key,))
    return found


def with_empty_lists(payload: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """`payload` with `[]` at each list path it leaves out (parents made as needed)."""
    for path in paths:
        here = payload
        for step in path[:-1]:
            nxt = here.get(step)
            if not isinstance(nxt, dict):
                nxt = here[step] = {}
            here = nxt
        if here.get(path[-1]) is None:
            here[path[-1]] = []
    return payload


def _as_text(value: Any) -> Any:
    if value.__class__ is str or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite():
        return str(int(value)) if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


_PARAM = re.compile(r"params\.([A-Za-z_][A-Za-z0-9_]*)")


def id_paths(tree: ObjectNode, entity: catalog.Entity) -> tuple[list[tuple[str, ...]], set[str]]:
    """Where the rule writes into fields the entity's catalogue types `id`, where the system
    sends ids as text (nowhere elsewhere). Worked out once per rule and entity: the paths
    (`[]` for list items) to turn into text after mapping, and the params that are the
    whole of such a field's expression (turned into text once, in the mapper's params). An
    expression that is a `ref()` or a text constant always makes text, so it is not listed."""
    if not entity.ids_as_text:
        return [], set()
    paths: list[tuple[str, ...]] = []
    params: set[str] = set()
    for path, node in walk_values(tree):
        try:
            shape = catalog.walk(entity.fields, path, what="target")
        except JoistError:
            continue
        if shape != "id":
            continue
        expr = node.expr
        whole = _PARAM.fullmatch(expr.text.strip()) if expr.kind == "jmespath" else None
        if whole:
            params.add(whole.group(1))
        elif expr.kind == "const" and isinstance(expr.evaluate({}, Runtime()), str):
            continue
        elif (
            expr.kind == "jmespath"
            and (expr.ast or {}).get("type") == "function_expression"
            and (expr.ast or {}).get("value") == "ref"
        ):
            continue
        else:
            paths.append(path)
    return paths, params


def params_as_text(params: dict[str, Any], names: set[str]) -> None:
    """Turn the numbers among these params into their text, in place (the mapper's own copy)."""
    for name in names:
        if params.get(name) is not None:
            params[name] = _as_text(params[name])


def ids_as_text(payload: Any, paths: list[tuple[str, ...]]) -> None:
    """Turn the numbers at `paths` (from `id_paths`) of a payload into their text, in place."""
    for path in paths:
        _set_text(payload, path, 0)


def _set_text(node: Any, path: tuple[str, ...], at: int) -> None:
    last = len(path) - 1
    while at < last:
        step = path[at]
        if step == "[]":
            if isinstance(node, list):
                for item in node:
                    _set_text(item, path, at + 1)
            return
        if not isinstance(node, dict):
            return
        node = node.get(step)
        at += 1
    if isinstance(node, dict):
        value = node.get(path[last])
        if value is not None and value.__class__ is not str:
            node[path[last]] = _as_text(value)


def check_items(payload: dict[str, Any], entity: catalog.Entity, mapped: list[tuple[str, ...]]) -> str | None:
    """The first list the entity needs that the rule maps to no items (None when all have some)."""
    for name in entity.needs_items:
        if (name,) in mapped and not payload.get(name):
            return name
    return None
