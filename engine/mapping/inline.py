"""Expressions written out as straight-line Python inside a rule's generated function.

`engine.mapping.codegen` writes one function per rule; this module writes each expression
into it, so mapping a record makes no call per expression node. Each JMESPath node type is
written with the meaning jmespath's own interpreter gives it (with Joist's two documented
changes: a number literal with a fraction is a Decimal, and `<` `<=` `>` `>=` compare
numbers only); a Jinja template that only interpolates values (fields, constants, catalogue
calls and filters) is written as Jinja renders it, reading fields through the sandbox's own
`getattr` whenever a value is not a record field. Anything else is left to the expression's
own evaluator, and the reason is kept (`joist validate --explain-compile` lists them).
`tests/engine/test_compile_differential.py` holds the two to the reference evaluators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2.nodes as jn

from engine.expressions.base import CONTEXT_NAMES, Compiled
from engine.expressions.functions import CATALOGUE
from engine.expressions.jmes import _OPTIONS, ORDERINGS, is_jmes_number, jmes_equal
from engine.expressions.templates import _LONE, JINJA, _plain
from engine.language.tree import truthy


class Fallback(Exception):
    """An expression (or a part of it) that is not written out; the message says why."""


class Writer:
    """Lines of generated Python, the objects they name, and what fell back and why."""

    def __init__(self, inline: bool) -> None:
        self.inline = inline
        self.lines: list[str] = []
        self.env: dict[str, Any] = {
            "_truthy": truthy,
            "_CONTAINERS": (dict, list),
            "_MISS": (KeyError, TypeError, IndexError),
            "_eq": jmes_equal,
            "_num": is_jmes_number,
            "_builtin": _OPTIONS.custom_functions.call_function,
            "_jget": JINJA.getattr,
            "_plain": _plain,
            "_Mapping": Mapping,
        }
        self.count = 0
        self.fallbacks: list[tuple[Compiled, str]] = []

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def bind(self, value: Any, prefix: str = "e") -> str:
        name = self.name(prefix)
        self.env[name] = value
        return name

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def write_expression(w: Writer, expr: Compiled, ctx: str, depth: int, var: str) -> bool:
    """Emit `var = <value of expr>` over the context `ctx`; False (reason kept) if it cannot be."""
    mark = len(w.lines)
    try:
        if expr.kind == "jmespath" and expr.ast is not None:
            _jmes(w, expr.ast, ctx, depth, var)
            return True
        if expr.kind in ("jinja", "template"):
            _jinja(w, expr, ctx, depth, var)
            return True
        raise Fallback(f"a {expr.kind} expression")
    except Fallback as why:
        del w.lines[mark:]
        w.fallbacks.append((expr, str(why)))
        return False


# --- JMESPath ---------------------------------------------------------------------------


def _chain(ast: dict[str, Any]) -> list[str] | None:
    if ast["type"] == "field":
        return [ast["value"]]
    if ast["type"] == "subexpression" and all(c["type"] == "field" for c in ast["children"]):
        return [c["value"] for c in ast["children"]]
    return None


def _jmes(w: Writer, ast: dict[str, Any], cur: str, depth: int, var: str) -> None:
    """Emit code leaving the value of JMESPath node `ast` over the value `cur` in `var`."""
    kind, children = ast["type"], ast.get("children", [])
    chain = _chain(ast)
    if chain:  # field / a.b.c: dict lookups; a missing key or a non-object on the way is null
        w.emit(depth, "try:")
        w.emit(depth + 1, f"{var} = {cur}" + "".join(f"[{k!r}]" for k in chain))
        w.emit(depth, "except _MISS:")
        w.emit(depth + 1, f"{var} = None")
    elif kind in ("subexpression", "pipe", "index_expression"):
        value = cur
        for child in children:
            step = w.name("s")
            _jmes(w, child, value, depth, step)
            value = step
        w.emit(depth, f"{var} = {value}")
    elif kind == "index":
        w.emit(depth, f"{var} = None")
        w.emit(depth, f"if isinstance({cur}, list):")
        w.emit(depth + 1, "try:")
        w.emit(depth + 2, f"{var} = {cur}[{int(ast['value'])}]")
        w.emit(depth + 1, "except IndexError:")
        w.emit(depth + 2, "pass")
    elif kind == "slice":
        bounds = w.bind(slice(*children), "c")
        w.emit(depth, f"{var} = {cur}[{bounds}] if isinstance({cur}, list) else None")
    elif kind == "literal":
        w.emit(depth, f"{var} = {w.bind(ast['value'], 'c')}")
    elif kind in ("current", "identity"):
        w.emit(depth, f"{var} = {cur}")
    elif kind in ("projection", "value_projection", "filter_projection", "flatten"):
        _projection(w, ast, cur, depth, var)
    elif kind == "comparator":
        left, right = w.name("a"), w.name("a")
        _jmes(w, children[0], cur, depth, left)
        _jmes(w, children[1], cur, depth, right)
        op = ast["value"]
        if op in ("eq", "ne"):
            w.emit(depth, f"{var} = {'' if op == 'eq' else 'not '}_eq({left}, {right})")
        else:
            py = {"lt": "<", "gt": ">", "lte": "<=", "gte": ">="}[op]
            assert op in ORDERINGS
            w.emit(depth, f"{var} = {left} {py} {right} if _num({left}) and _num({right}) else None")
    elif kind in ("and_expression", "or_expression"):
        _jmes(w, children[0], cur, depth, var)
        w.emit(depth, f"if {'' if kind == 'and_expression' else 'not '}_truthy({var}):")
        _jmes(w, children[1], cur, depth + 1, var)
    elif kind == "not_expression":
        inner = w.name("a")
        _jmes(w, children[0], cur, depth, inner)
        w.emit(depth, f"{var} = not _truthy({inner})")
    elif kind in ("multi_select_list", "multi_select_dict"):
        parts = []
        w.emit(depth, f"if {cur} is None:")
        w.emit(depth + 1, f"{var} = None")
        w.emit(depth, "else:")
        for child in children:
            part = w.name("a")
            _jmes(w, child["children"][0] if kind == "multi_select_dict" else child, cur, depth + 1, part)
            parts.append(f"{child['value']!r}: {part}" if kind == "multi_select_dict" else part)
        opening, closing = ("{", "}") if kind == "multi_select_dict" else ("[", "]")
        w.emit(depth + 1, f"{var} = {opening}{', '.join(parts)}{closing}")
    elif kind == "function_expression":
        _function(w, ast, cur, depth, var)
    else:
        raise Fallback(f"JMESPath {kind.replace('_', ' ')} is evaluated by the interpreter")


def _projection(w: Writer, ast: dict[str, Any], cur: str, depth: int, var: str) -> None:
    kind, children = ast["type"], ast["children"]
    base, element, got = w.name("b"), w.name("el"), w.name("r")
    _jmes(w, children[0], cur, depth, base)
    test = f"isinstance({base}, dict)" if kind == "value_projection" else f"isinstance({base}, list)"
    w.emit(depth, f"{var} = None")
    w.emit(depth, f"if {test}:")
    w.emit(depth + 1, f"{var} = []")
    values = f"{base}.values()" if kind == "value_projection" else base
    w.emit(depth + 1, f"for {element} in {values}:")
    inner = depth + 2
    if kind == "flatten":
        w.emit(inner, f"if isinstance({element}, list):")
        w.emit(inner + 1, f"{var}.extend({element})")
        w.emit(inner, "else:")
        w.emit(inner + 1, f"{var}.append({element})")
        return
    if kind == "filter_projection":
        keep = w.name("k")
        _jmes(w, children[2], element, inner, keep)
        w.emit(inner, f"if not _truthy({keep}):")
        w.emit(inner + 1, "continue")
    _jmes(w, children[1], element, inner, got)
    w.emit(inner, f"if {got} is not None:")
    w.emit(inner + 1, f"{var}.append({got})")


def _function(w: Writer, ast: dict[str, Any], cur: str, depth: int, var: str) -> None:
    name, children = ast["value"], ast["children"]
    if any(c["type"] == "expref" for c in children):
        raise Fallback(f"{name}() takes an &expression: evaluated by the interpreter")
    args = []
    for child in children:
        arg = w.name("a")
        _jmes(w, child, cur, depth, arg)
        args.append(arg)
    if name in CATALOGUE:
        fn = w.bind(CATALOGUE[name].impl, "f")
        w.emit(depth, f"{var} = {fn}(rt{''.join(', ' + a for a in args)})")
    else:  # JMESPath's own, with its type checks (JMESPathTypeError) as the interpreter makes them
        w.emit(depth, f"{var} = _builtin({name!r}, [{', '.join(args)}])")


# --- Jinja ------------------------------------------------------------------------------


def _jinja(w: Writer, expr: Compiled, ctx: str, depth: int, var: str) -> None:
    tree = JINJA.parse(expr.text)
    if len(tree.body) != 1 or not isinstance(tree.body[0], jn.Output):
        raise Fallback("a template with {% %} statements is rendered by Jinja")
    nodes = tree.body[0].nodes
    if _LONE.match(expr.text):
        (node,) = [n for n in nodes if not isinstance(n, jn.TemplateData)]
        _jinja_node(w, node, ctx, depth, var)
        w.emit(depth, f"{var} = _plain({var})")
        return
    parts = []
    for node in nodes:
        if isinstance(node, jn.TemplateData):
            parts.append(w.bind(node.data, "c"))
            continue
        part = w.name("a")
        _jinja_node(w, node, ctx, depth, part)
        # Jinja renders each part in turn as str(finalize(value)): null as nothing, and
        # str() of an Undefined raises before any later part is evaluated
        w.emit(depth, f"{part} = '' if {part} is None else str({part})")
        parts.append(part)
    w.emit(depth, f"{var} = ''.join(({', '.join(parts)},))")


def _jinja_node(w: Writer, node: jn.Node, ctx: str, depth: int, var: str) -> None:
    if isinstance(node, jn.Name) and node.ctx == "load" and node.name in CONTEXT_NAMES:
        w.emit(depth, f"{var} = {ctx}[{node.name!r}]")
    elif isinstance(node, jn.Getattr):
        obj = w.name("a")
        _jinja_node(w, node.node, ctx, depth, obj)
        attr = node.attr
        w.emit(
            depth,
            f"{var} = {obj}[{attr!r}] if isinstance({obj}, _Mapping) and {attr!r} in {obj} else _jget({obj}, {attr!r})",
        )
    elif isinstance(node, jn.Const):
        w.emit(depth, f"{var} = {w.bind(node.value, 'c')}")
    elif isinstance(node, (jn.Call, jn.Filter)):
        name = node.node.name if isinstance(node, jn.Call) and isinstance(node.node, jn.Name) else None
        if isinstance(node, jn.Filter):
            name = node.name
        if name not in CATALOGUE or node.kwargs or node.dyn_args or node.dyn_kwargs:
            raise Fallback(f"Jinja {'filter' if isinstance(node, jn.Filter) else 'call'} {name}() is rendered by Jinja")
        args = []
        for arg_node in ([node.node] if isinstance(node, jn.Filter) else []) + list(node.args):
            if arg_node is None:
                raise Fallback("a filter block is rendered by Jinja")
            arg = w.name("a")
            _jinja_node(w, arg_node, ctx, depth, arg)
            args.append(arg)
        fn = w.bind(CATALOGUE[name].impl, "f")
        w.emit(depth, f"{var} = {fn}(rt{''.join(', ' + a for a in args)})")
    else:
        raise Fallback(f"Jinja {type(node).__name__} is rendered by Jinja")
