"""The compiled shape of a rule's `fields`: a tree of objects, values and lists.

Each node knows where it was written (`origin`: file, line, and the layer it came from),
so `explain` can say which pack produced a field. `engine.mapping.codegen.compile_tree()` turns the tree into
nested closures once; mapping a record is then a walk over plain Python functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Location
from engine.expressions.base import Compiled
from engine.expressions.functions import Runtime


@dataclass(frozen=True)
class Origin:
    """Where a field's definition stands: its file, line and layer (pack) name."""

    location: Location
    layer: str = ""


@dataclass
class ValueNode:
    expr: Compiled
    origin: Origin


@dataclass
class ObjectNode:
    children: dict[str, Node] = field(default_factory=dict)
    origin: Origin | None = None


@dataclass
class ItemNode:
    fields: ObjectNode
    each: Compiled | None = None
    when: Compiled | None = None
    origin: Origin | None = None


@dataclass
class ListNode:
    items: list[ItemNode]
    origin: Origin | None = None


Node = ValueNode | ObjectNode | ListNode
Builder = Callable[[dict[str, Any], Runtime], Any]


def truthy(value: Any) -> bool:
    """JMESPath truth: false, null and empty strings, lists and objects are false; 0 is true."""
    return not (value is None or value is False or value == "" or value == [] or value == {})


def walk_values(node: Node, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], ValueNode]]:
    """Every value node with its target path (list items as `[]`)."""
    if isinstance(node, ValueNode):
        return [(path, node)]
    if isinstance(node, ObjectNode):
        return [pv for key, child in node.children.items() for pv in walk_values(child, path + (key,))]
    return [pv for item in node.items for pv in walk_values(item.fields, path + ("[]",))]


def expressions(node: Node) -> list[Compiled]:
    """Every compiled expression in the tree, `each` and `when` included."""
    if isinstance(node, ValueNode):
        return [node.expr]
    if isinstance(node, ObjectNode):
        return [e for child in node.children.values() for e in expressions(child)]
    out: list[Compiled] = []
    for item in node.items:
        out += [e for e in (item.each, item.when) if e is not None]
        out += expressions(item.fields)
    return out
