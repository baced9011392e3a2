"""A rule's field tree as one generated Python function.

Mapping a record walks the tree of objects, lists and values once per record. Done with
nested closures, every node costs a call; generated as straight-line code (one function
per rule, compiled once when the rules load), only the expressions themselves are calls.
The semantics are exactly the tree's: a value that is null or an empty object or list is
left out, an object or list with nothing in it is null, `each` items see `item`,
`parent` and `index`, `when` keeps an item only when it is true (JMESPath truth).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.expressions.functions import CATALOGUE, Runtime
from engine.expressions.jmes import ORDERINGS, is_jmes_number, jmes_equal
from engine.language.tree import ItemNode, ListNode, Node, ObjectNode, ValueNode, truthy

Builder = Callable[[dict[str, Any], Any], Any]


class _Writer:
    def __init__(self, inline: bool) -> None:
        self.inline = inline
        self.lines: list[str] = []
        self.env: dict[str, Any] = {}
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def bind(self, value: Any, prefix: str = "e") -> str:
        name = self.name(prefix)
        self.env[name] = value
        return name

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def _inline(w: _Writer, ast: dict[str, Any] | None, ctx: str, depth: int, var: str) -> bool:
    """Emit `var = <value of ast>` without a call for the commonest shapes; False if it cannot."""
    if ast is None:
        return False
    kind, children = ast["type"], ast.get("children", [])
    chain = (
        [ast["value"]]
        if kind == "field"
        else (
            [c["value"] for c in children]
            if kind == "subexpression" and all(c["type"] == "field" for c in children)
            else None
        )
    )
    if chain:
        w.emit(depth, "try:")
        w.emit(depth + 1, f"{var} = {ctx}" + "".join(f"[{k!r}]" for k in chain))
        w.emit(depth, "except _MISS:")
        w.emit(depth + 1, f"{var} = None")
        return True
    if kind == "literal":
        w.emit(depth, f"{var} = {w.bind(ast['value'], 'c')}")
        return True
    if kind == "comparator":
        left, right = w.name("a"), w.name("a")
        if not (_inline(w, children[0], ctx, depth, left) and _inline(w, children[1], ctx, depth, right)):
            return False
        if ast["value"] in ("eq", "ne"):
            eq = w.bind(jmes_equal, "f")
            w.emit(depth, f"{var} = {'' if ast['value'] == 'eq' else 'not '}{eq}({left}, {right})")
        else:
            order, number = w.bind(ORDERINGS[ast["value"]], "f"), w.bind(is_jmes_number, "f")
            w.emit(depth, f"{var} = {order}({left}, {right}) if {number}({left}) and {number}({right}) else None")
        return True
    if kind == "function_expression" and ast["value"] in CATALOGUE:
        args = []
        for child in children:
            arg = w.name("a")
            if not _inline(w, child, ctx, depth, arg):
                return False
            args.append(arg)
        fn = w.bind(CATALOGUE[ast["value"]].impl, "f")
        w.emit(depth, f"{var} = {fn}(rt{''.join(', ' + a for a in args)})")
        return True
    return False


def _value(w: _Writer, expr: Any, ctx: str, depth: int) -> str:
    """Code for an expression's value: inlined into a variable, else a call to its evaluator."""
    var = w.name("w")
    if w.inline and _inline(w, expr.ast, ctx, depth, var):
        return var
    return f"{w.bind(expr.evaluate)}({ctx}, rt)"


def _keep(var: str) -> str:
    return f"{var} is not None and not ({var}.__class__ in _CONTAINERS and not {var})"


def _object(w: _Writer, node: Node, ctx: str, depth: int) -> str:
    """Code that leaves the built value of `node` (or None) in a fresh variable; returns it."""
    if isinstance(node, ValueNode):
        var = w.name("v")
        if node.expr.kind == "const":
            w.emit(depth, f"{var} = {w.bind(node.expr.evaluate({}, Runtime()), 'c')}")
        elif not (w.inline and _inline(w, node.expr.ast, ctx, depth, var)):
            w.emit(depth, f"{var} = {w.bind(node.expr.evaluate)}({ctx}, rt)")
        return var
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


def _item(w: _Writer, item: ItemNode, ctx: str, out: str, depth: int) -> None:
    if item.each is None:
        if item.when is not None:
            w.emit(depth, f"if _truthy({_value(w, item.when, ctx, depth)}):")
            depth += 1
        var = _object(w, item.fields, ctx, depth)
        w.emit(depth, f"if {var} is not None:")
        w.emit(depth + 1, f"{out}.append({var})")
        return
    elements, inner, element, index = w.name("els"), w.name("ctx"), w.name("el"), w.name("i")
    if not (w.inline and _inline(w, item.each.ast, ctx, depth, elements)):
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

    With `inline`, plain paths and catalogue calls over them are written out in the
    function itself; without (the mapper's guarded tree, which must say which field failed),
    every expression is called through its own evaluator.
    """
    w = _Writer(inline)
    w.env.update(_truthy=truthy, _CONTAINERS=(dict, list), _MISS=(KeyError, TypeError, IndexError))
    w.emit(0, f"def {name}(ctx, rt):")
    result = _object(w, node, "ctx", 1)
    w.emit(1, f"return {result}")
    source = "\n".join(w.lines) + "\n"
    namespace: dict[str, Any] = dict(w.env)
    exec(compile(source, f"<joist rule {name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    function = namespace[name]
    function.__joist_source__ = source
    return function


def compile_tree(node: Node, *, inline: bool = True) -> Builder:
    """One generated function that builds the target payload for one context (see `generate`)."""
    return generate(node, inline=inline)
