"""A rule's field tree as one generated Python function.

Mapping a record walks the tree of objects, lists and values once per record. Done with
nested closures, every node costs a call; generated as straight-line code (one function
per rule, compiled once when the rules load), only the expressions themselves are calls.
The semantics are exactly the tree's: a value that is null or an empty object or list is
left out, an object or list with nothing in it is null, `each` items see `item`,
`parent` and `index`, `when` keeps an item only when it is true (JMESPath truth).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.expressions.base import Compiled
from engine.expressions.functions import Runtime
from engine.language.rules import Rule
from engine.language.tree import ItemNode, ListNode, Node, ObjectNode, ValueNode, expressions
from engine.mapping.inline import Scope, Writer, is_boolean, root_scope, value_shape, write_expression

Builder = Callable[[dict[str, Any], Any], Any]


def _value(w: Writer, expr: Compiled, scope: Scope, depth: int) -> str:
    """A Python expression for an expression's value: written out, else a call to its evaluator."""
    if w.inline:
        written = write_expression(w, expr, scope, depth)
        if written is not None:
            return written
    var = w.name("w")
    w.emit(depth, f"{var} = {w.bind(expr.evaluate)}({scope.context()}, rt)")
    return var


def _keep(value: str) -> str:
    """Kept in the payload: not null, and not an empty list or object."""
    return f"{value} is not None and ({value} or ({value}).__class__ not in _CONTAINERS)"


def _child(w: Writer, node: Node, scope: Scope, depth: int) -> tuple[str, str | None]:
    """Emit code for `node`'s value: (a Python expression, the test that keeps it or None for always)."""
    if isinstance(node, ValueNode):
        if node.expr.kind == "const":
            value = node.expr.evaluate({}, Runtime())
            if value is None or (value.__class__ in (dict, list) and not value):
                return "None", "False"
            return w.literal(value), None
        value_code = w.variable(_value(w, node.expr, scope, depth), depth)
        shape = value_shape(node.expr) if w.inline else None
        if shape == "kept":
            return value_code, None
        return value_code, f"{value_code} is not None" if shape == "scalar" else _keep(value_code)
    if isinstance(node, ObjectNode):
        out = w.name("o")
        leading: list[str] = []  # the first children, always kept: one dict display
        started = False
        for key, child in node.children.items():
            value, test = _child(w, child, scope, depth)
            if test == "False":
                continue
            if test is None and not started:
                leading.append(f"{key!r}: {value}")
                continue
            if not started:
                w.emit(depth, f"{out} = {{{', '.join(leading)}}}")
                started = True
            if test is None:
                w.emit(depth, f"{out}[{key!r}] = {value}")
            else:
                w.emit(depth, f"if {test}:")
                w.emit(depth + 1, f"{out}[{key!r}] = {value}")
        if not started:
            w.emit(depth, f"{out} = {{{', '.join(leading)}}}")
        return out, None if leading else out  # an object with nothing in it is left out
    assert isinstance(node, ListNode)
    out = w.name("l")
    w.emit(depth, f"{out} = []")
    for item in node.items:
        _item(w, item, scope, out, depth)
    return out, out


def _test(w: Writer, expr: Compiled, scope: Scope, depth: int) -> str:
    """A Python condition that is JMESPath truth of `expr`."""
    value = _value(w, expr, scope, depth)
    return value if w.inline and is_boolean(expr) else f"_truthy({value})"


def _append(w: Writer, item: ItemNode, scope: Scope, out: str, depth: int) -> None:
    value, test = _child(w, item.fields, scope, depth)
    if test is None:
        w.emit(depth, f"{out}.append({value})")
    else:
        w.emit(depth, f"if {test}:")
        w.emit(depth + 1, f"{out}.append({value})")


def _item(w: Writer, item: ItemNode, scope: Scope, out: str, depth: int) -> None:
    if item.each is None:
        if item.when is not None:
            w.emit(depth, f"if {_test(w, item.when, scope, depth)}:")
            depth += 1
        _append(w, item, scope, out, depth)
        return
    elements = w.name("els")
    w.emit(depth, f"{elements} = {_value(w, item.each, scope, depth)}")
    w.emit(depth, f"if {elements} is not None:")
    depth += 1
    w.emit(depth, f"if not isinstance({elements}, list):")
    w.emit(depth + 1, f"{elements} = [{elements}]")
    element, index, parent = w.name("el"), w.name("i"), w.name("par")
    w.emit(depth, f"{parent} = {scope.names['item']} or {scope.names['source']}")
    inner = Scope({**scope.names, "item": element, "index": index, "parent": parent}, w.name("ctx"), scope)
    inner.varying = {element, index}
    inner.setup.append(len(w.lines))
    w.emit(depth, f"{inner.ctx} = dict({scope.ctx}, parent={parent})")
    cells_line = len(w.lines)
    w.emit(depth, "")  # where the loop's invariant calls are reset (engine.mapping.inline.Scope.cells)
    w.emit(depth, f"for {index}, {element} in enumerate({elements}):")
    depth += 1
    inner.setup.append(len(w.lines))
    w.emit(depth, f"{inner.ctx}['item'], {inner.ctx}['index'] = {element}, {index}")
    if item.when is not None:
        w.emit(depth, f"if not {_test(w, item.when, inner, depth)}:")
        w.emit(depth + 1, "continue")
    _append(w, item, inner, out, depth)
    cells = inner.cells or []
    w.lines[cells_line] = "    " * (depth - 1) + " = ".join([*cells, "_UNSET"]) if cells else ""
    if inner.used:
        scope.context()  # the inner dict is built from this scope's
    else:
        for line in inner.setup:
            w.lines[line] = ""


def generate(node: Node, name: str = "build", *, inline: bool = True) -> Builder:
    """One Python function that builds `node`'s value for a context (and a Runtime `rt`).

    With `inline`, expressions are written out in the function itself where
    `engine.mapping.inline` can (the reasons it could not are `__joist_fallbacks__`);
    without (the mapper's guarded tree, which must say which field failed), every
    expression is called through its own evaluator.
    """
    w = Writer(inline)
    w.emit(0, f"def {name}(ctx, rt):")
    scope = root_scope(w, 1)
    value, test = _child(w, node, scope, 1)
    if isinstance(node, ValueNode):
        w.emit(1, f"return {value}")
    else:
        w.emit(1, f"return {value} or None")
    body = "\n".join(w.lines)
    for context_name, var in scope.names.items():  # context names the function never reads: not fetched
        if len(re.findall(rf"\b{var}\b", body)) == 1:
            w.lines.remove(f"    {var} = ctx.get({context_name!r})")
    for var, line in (("rt_links", "    rt_links = rt.links"), ("rt_missing", "    rt_missing = rt.missing")):
        if len(re.findall(rf"\b{var}\b", body)) == 1:
            w.lines.remove(line)
    source = "\n".join(line for line in w.lines if line) + "\n"
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
    """How many field (and `source.where`) expressions the rules hold, and each one not written out, with why."""
    total, notes = 0, []
    for rule in rules:
        total += sum(1 for e in expressions(rule.fields) if e.kind != "const")
        built = [generate(rule.fields)]
        if rule.source.where is not None:  # the Mapper generates `source.where` too
            total += 1
            built.append(generate(ValueNode(rule.source.where, rule.fields.origin)))  # type: ignore[arg-type]
        for function in built:
            for expr, reason in function.__joist_fallbacks__:  # type: ignore[attr-defined]
                notes.append(CompileNote(rule.flow, str(expr.location), expr.text, reason))
    return total, sorted(notes, key=lambda n: (n.location, n.expression))
