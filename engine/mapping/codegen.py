"""A rule's field tree as one generated Python function.

Mapping a record walks the tree of objects, lists and values once per record. Done with
nested closures, every node costs a call; generated as straight-line code (one function
per rule, compiled once when the rules load), only the expressions themselves are calls.
The semantics are exactly the tree's: a value that is null or an empty object or list is
left out, an object or list with nothing in it is null, `each` items see `item`,
`parent` and `index`, `when` keeps an item only when it is true (JMESPath truth).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.expressions.base import Compiled
from engine.expressions.functions import Runtime
from engine.language.rules import Rule
from engine.language.tree import ItemNode, ListNode, Node, ObjectNode, ValueNode, expressions
from engine.mapping.inline import Writer, write_expression

Builder = Callable[[dict[str, Any], Any], Any]


def _value(w: Writer, expr: Compiled, ctx: str, depth: int) -> str:
    """Code for an expression's value: written out into a variable, else a call to its evaluator."""
    var = w.name("w")
    if not (w.inline and write_expression(w, expr, ctx, depth, var)):
        w.emit(depth, f"{var} = {w.bind(expr.evaluate)}({ctx}, rt)")
    return var


def _keep(var: str) -> str:
    return f"{var} is not None and not ({var}.__class__ in _CONTAINERS and not {var})"


def _object(w: Writer, node: Node, ctx: str, depth: int) -> str:
    """Code that leaves the built value of `node` (or None) in a fresh variable; returns it."""
    if isinstance(node, ValueNode):
        if node.expr.kind == "const":
            var = w.name("v")
            w.emit(depth, f"{var} = {w.bind(node.expr.evaluate({}, Runtime()), 'c')}")
            return var
        return _value(w, node.expr, ctx, depth)
    if isinstance(node, ObjectNode):
        out = w.name("o")
        w.emit(depth, f"{out} = {{}}")
        for key, child in node.children.items():
            var = _object(w, child, ctx, depth)
            w.emit(depth, f"if {_keep(var)}:")
            w.emit(depth + 1, f"{out}[{key!r}] = {var}")
        w.emit(depth, f"{out} = {out} or None")
        return out
    assert isinstance(node, ListNode)
    out = w.name("l")
    w.emit(depth, f"{out} = []")
    for item in node.items:
        _item(w, item, ctx, out, depth)
    w.emit(depth, f"{out} = {out} or None")
    return out


def _item(w: Writer, item: ItemNode, ctx: str, out: str, depth: int) -> None:
    if item.each is None:
        if item.when is not None:
            w.emit(depth, f"if _truthy({_value(w, item.when, ctx, depth)}):")
            depth += 1
        var = _object(w, item.fields, ctx, depth)
        w.emit(depth, f"if {var} is not None:")
        w.emit(depth + 1, f"{out}.append({var})")
        return
    elements, inner, element, index = w.name("els"), w.name("ctx"), w.name("el"), w.name("i")
    if not (w.inline and write_expression(w, item.each, ctx, depth, elements)):
        w.emit(depth, f"{elements} = {w.bind(item.each.evaluate)}({ctx}, rt)")
    w.emit(depth, f"if {elements} is not None:")
    depth += 1
    w.emit(depth, f"if not isinstance({elements}, list):")
    w.emit(depth + 1, f"{elements} = [{elements}]")
    w.emit(depth, f"{inner} = dict({ctx})")
    w.emit(depth, f"{inner}['parent'] = {ctx}.get('item') or {ctx}.get('source')")
    w.emit(depth, f"for {index}, {element} in enumerate({elements}):")
    depth += 1
    w.emit(depth, f"{inner}['item'] = {element}")
    w.emit(depth, f"{inner}['index'] = {index}")
    if item.when is not None:
        w.emit(depth, f"if not _truthy({_value(w, item.when, inner, depth)}):")
        w.emit(depth + 1, "continue")
    var = _object(w, item.fields, inner, depth)
    w.emit(depth, f"if {var} is not None:")
    w.emit(depth + 1, f"{out}.append({var})")


def generate(node: Node, name: str = "build", *, inline: bool = True) -> Builder:
    """One Python function that builds `node`'s value for a context (and a Runtime `rt`).

    With `inline`, expressions are written out in the function itself where
    `engine.mapping.inline` can (the reasons it could not are `__joist_fallbacks__`); without (the mapper's guarded tree, which must say which field failed),
    every expression is called through its own evaluator.
    """
    w = Writer(inline)
    w.emit(0, f"def {name}(ctx, rt):")
    result = _object(w, node, "ctx", 1)
    w.emit(1, f"return {result}")
    source = "\n".join(w.lines) + "\n"
    namespace: dict[str, Any] = dict(w.env)
    exec(compile(source, f"<joist rule {name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    function = namespace[name]
    function.__joist_source__ = source
    function.__joist_fallbacks__ = w.fallbacks
    return function


def compile_tree(node: Node, *, inline: bool = True) -> Builder:
    """One generated function that builds the target payload for one context (see `generate`)."""
    return generate(node, inline=inline)


@dataclass(frozen=True)
class CompileNote:
    """One expression of a rule's fields that the generated function leaves to its evaluator."""

    flow: str
    location: str
    expression: str
    reason: str


def compile_report(rules: Iterable[Rule]) -> tuple[int, list[CompileNote]]:
    """How many field expressions the rules hold, and each one that is not written out, with why."""
    total, notes = 0, []
    for rule in rules:
        total += sum(1 for e in expressions(rule.fields) if e.kind != "const")
        built = generate(rule.fields)
        for expr, reason in built.__joist_fallbacks__:  # type: ignore[attr-defined]
            notes.append(CompileNote(rule.flow, str(expr.location), expr.text, reason))
    return total, sorted(notes, key=lambda n: (n.location, n.expression))
