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

from decimal import Decimal
from typing import Any

from engine.errors import JoistError
from engine.language import catalog
from engine.language.tree import ListNode, ObjectNode


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
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal) and value.is_finite():
        return str(int(value)) if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return value


def ids_as_text(value: Any, shape: catalog.Shape) -> Any:
    """`value` with every number in a field that `shape` types `id` turned into its text."""
    if isinstance(shape, str):
        return _as_text(value) if shape == "id" else value
    if isinstance(value, dict) and isinstance(shape, dict):
        for key, item in value.items():
            if key in shape:
                value[key] = ids_as_text(item, shape[key])
        return value
    if isinstance(value, list) and isinstance(shape, list) and shape:
        return [ids_as_text(item, shape[0]) for item in value]
    return value


def check_items(payload: dict[str, Any], entity: catalog.Entity, mapped: list[tuple[str, ...]]) -> str | None:
    """The first list the entity needs that the rule maps to no items (None when all have some)."""
    for name in entity.needs_items:
        if (name,) in mapped and not payload.get(name):
            return name
    return None
