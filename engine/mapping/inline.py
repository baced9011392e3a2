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

Context names (`source`, `item`, ...) are local variables of the generated function (a
`Scope`); the context dict an evaluator needs is only built where one is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import jinja2
import jinja2.nodes as jn

from engine.expressions.base import CONTEXT_NAMES, Compiled
from engine.expressions.functions import CATALOGUE, to_decimal
from engine.expressions.jmes import _OPTIONS, ORDERINGS, jmes_equal
from engine.expressions.templates import _LONE, JINJA, _plain
from engine.language.tree import truthy

_PLAIN_LITERALS = (str, int, bool, type(None))
_PY_ORDER = {"lt": "<", "gt": ">", "lte": "<=", "gte": ">="}
assert set(_PY_ORDER) == set(ORDERINGS)


_UNSET = object()


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
            "_NUMBERS": (int, Decimal, float),
            "_MISS": (KeyError, TypeError, IndexError),
            "_eq": jmes_equal,
            "_builtin": _OPTIONS.custom_functions.call_function,
            "_FUNCTIONS": _OPTIONS.custom_functions,
            "_jget": JINJA.getattr,
            "_jitem": JINJA.getitem,
            "_Undefined": jinja2.Undefined,
            "_plain": _plain,
            "_Mapping": Mapping,
            "_UNSET": _UNSET,
        }
        self.count = 0
        self.fallbacks: list[tuple[Compiled, str]] = []
        # values already computed: (where, node) -> (variable, line it was set on, depth)
        self.memo: dict[tuple[str, str], tuple[str, int, int]] = {}
        self.hoisting = False  # inside the computation of a loop-invariant call

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def bind(self, value: Any, prefix: str = "e") -> str:
        name = self.name(prefix)
        self.env[name] = value
        return name

    def literal(self, value: Any) -> str:
        """Python source for a constant: its repr when that is exact, else a bound name."""
        if value.__class__ in _PLAIN_LITERALS:
            return repr(value)
        return self.bind(value, "c")

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def variable(self, value: str, depth: int) -> str:
        """`value` as a variable name (a literal is assigned to one first: `5 is None` is a SyntaxWarning)."""
        if value.isidentifier():
            return value
        var = self.name("v")
        self.emit(depth, f"{var} = {value}")
        return var

    def recall(self, key: tuple[str, str], depth: int) -> str | None:
        """A variable that already holds this value here: set earlier in this block or one around it."""
        found = self.memo.get(key)
        if found is None:
            return None
        var, line, at = found
        if depth < at or any(len(text) - len(text.lstrip()) < 4 * at for text in self.lines[line:]):
            return None  # the block that set it has closed: it may not have run
        return var

    def remember(self, key: tuple[str, str], var: str, depth: int) -> None:
        self.memo[key] = (var, len(self.lines), depth)

    def rollback(self, mark: int) -> None:
        """Drop the lines from `mark` on (an expression that falls back), and what they computed."""
        del self.lines[mark:]
        self.memo = {k: v for k, v in self.memo.items() if v[1] <= mark}


class Scope:
    """Where the context names live in generated code, and the context dict when one is needed.

    `names` maps each context name to a Python expression; `ctx` names a dict holding the
    whole context, built (by lines that are dropped when nothing uses it) only if an
    evaluator is called with it.
    """

    def __init__(self, names: dict[str, str], ctx: str, parent: Scope | None = None) -> None:
        self.names, self.ctx, self.parent = names, ctx, parent
        self.used = parent is None  # the root context is the function's argument
        self.setup: list[int] = []  # lines that build `ctx`, dropped when it is not used
        # In an `each` loop: variables holding calls that read nothing the loop changes,
        # each computed the first time the loop body reaches it (set to _UNSET before the loop).
        self.cells: list[str] | None = None if parent is None else []
        self.varying: set[str] = set()  # the variables the loop changes (item, index)

    def context(self) -> str:
        """The context dict's variable (marking it, and its parents', as needed)."""
        scope: Scope | None = self
        while scope is not None and not scope.used:
            scope.used = True
            scope = scope.parent
        return self.ctx


def root_scope(w: Writer, depth: int) -> Scope:
    w.emit(depth, "rt_links = rt.links")
    w.emit(depth, "rt_missing = rt.missing")
    names = {}
    for name in CONTEXT_NAMES:
        var = w.name("x_")
        w.emit(depth, f"{var} = ctx.get({name!r})")
        names[name] = var
    return Scope(names, "ctx")


def write_expression(w: Writer, expr: Compiled, scope: Scope, depth: int) -> str | None:
    """Emit code for `expr`'s value; returns a Python expression for it, or None (reason kept)."""
    mark = len(w.lines)
    try:
        if expr.kind == "jmespath" and expr.ast is not None:
            return _jmes(w, expr.ast, scope, depth)
        if expr.kind in ("jinja", "template"):
            return _jinja(w, expr, scope, depth)
        raise Fallback(f"a {expr.kind} expression")
    except Fallback as why:
        w.rollback(mark)
        w.fallbacks.append((expr, str(why)))
        return None


def value_shape(expr: Compiled) -> str | None:
    """What is known of an expression's value before it runs: "kept" (never null, never an
    empty list or object), "scalar" (never a list or object, maybe null), or None."""
    if expr.kind == "template":
        return "kept"  # text, possibly empty: kept
    ast = expr.ast
    if expr.kind != "jmespath" or ast is None:
        return None
    kind, name, argc = ast["type"], ast.get("value"), len(ast.get("children", []))
    if kind == "function_expression" and name in CATALOGUE:
        result = CATALOGUE[name].result
        if result == "number" or name == "concat":
            return "kept"
        if result == "string" and (name != "ref" or argc == 2):
            return "scalar"
        return None
    if kind == "function_expression" and name in ("to_string", "type", "length"):
        return "kept"  # a string, a string, an int (or a type error)
    if kind in ("comparator", "not_expression", "and_expression", "or_expression"):
        return "scalar" if kind in ("comparator", "not_expression") else None
    return None


def is_boolean(expr: Compiled) -> bool:
    """Whether the value is true, false or null (so Python truth is JMESPath truth)."""
    ast = expr.ast
    return bool(expr.kind == "jmespath" and ast is not None and ast["type"] in ("comparator", "not_expression"))


# --- JMESPath ---------------------------------------------------------------------------


def _chain(ast: dict[str, Any]) -> list[str] | None:
    if ast["type"] == "field":
        return [ast["value"]]
    if ast["type"] == "subexpression" and all(c["type"] == "field" for c in ast["children"]):
        return [c["value"] for c in ast["children"]]
    return None


# Catalogue functions whose value may be computed once and used again in the same block:
# no effect on the runtime (ref() notes missing links), and no new list made per call
# (coalesce() and the like hand back one of their arguments, shared either way).
_PURE = frozenset(n for n, f in CATALOGUE.items() if n != "ref" and f.result != "array")


def _memo_key(ast: dict[str, Any], cur: str | Scope) -> tuple[str, str] | None:
    """What identifies a value to compute once, or None when it must be computed each time."""
    if ast["type"] == "function_expression" and ast["value"] in _PURE and _pure(ast):
        pass
    elif _chain(ast) is None:
        return None
    return (str(id(cur)) if isinstance(cur, Scope) else cur, repr(ast))


def _pure(ast: dict[str, Any], also: tuple[str, ...] = ()) -> bool:
    if ast["type"] == "function_expression" and ast["value"] not in _PURE and ast["value"] not in also:
        return False
    if ast["type"] == "expref":
        return False
    return all(_pure(c, also) for c in ast.get("children", []) if isinstance(c, dict))


def _here(cur: str | Scope) -> str:
    return cur.context() if isinstance(cur, Scope) else cur


def _root_names(ast: dict[str, Any]) -> set[str] | None:
    """The context names a node reads when evaluated over the context (None: the whole context)."""
    kind, children = ast["type"], ast.get("children", [])
    if kind == "field":
        return {ast["value"]}
    if kind == "literal":
        return set()
    if kind in ("subexpression", "index_expression", "pipe", "projection", "value_projection", "flatten"):
        return _root_names(children[0])
    if kind == "filter_projection":
        return _root_names(children[0])
    if kind == "multi_select_dict":
        children = [c["children"][0] for c in children]
    elif kind not in ("function_expression", "comparator", "and_expression", "or_expression", "not_expression"):
        if kind != "multi_select_list":
            return None
    names: set[str] = set()
    for child in children:
        found = _root_names(child)
        if found is None:
            return None
        names |= found
    return names


def _loop_invariant(ast: dict[str, Any], scope: Scope) -> bool:
    """A call (pure, or ref()) whose arguments read only names the enclosing `each` leaves alone."""
    if scope.cells is None or scope.parent is None or ast["type"] != "function_expression":
        return False
    if not _pure(ast, also=("ref",)):
        return False
    names = _root_names(ast)
    return names is not None and all(n in scope.names and scope.names[n] not in scope.varying for n in names)


def _jmes(w: Writer, ast: dict[str, Any], cur: str | Scope, depth: int) -> str:
    """Emit code for JMESPath node `ast` over the value `cur` (or the context); return its value."""
    if not w.hoisting and isinstance(cur, Scope) and _loop_invariant(ast, cur):
        key = (f"cell {id(cur)}", repr(ast))
        known = w.recall(key, depth)
        if known is None:
            assert cur.cells is not None
            known = w.name("h")
            cur.cells.append(known)
            w.emit(depth, f"if {known} is _UNSET:")
            w.hoisting = True
            try:
                w.emit(depth + 1, f"{known} = {_compute(w, ast, cur, depth + 1)}")
            finally:
                w.hoisting = False
            w.remember(key, known, depth)
        return known
    shared = _memo_key(ast, cur)
    if shared is not None:
        known = w.recall(shared, depth)
        if known is None:
            known = _compute(w, ast, cur, depth)
            w.remember(shared, known, depth)
        return known
    return _compute(w, ast, cur, depth)


def _compute(w: Writer, ast: dict[str, Any], cur: str | Scope, depth: int) -> str:
    kind, children = ast["type"], ast.get("children", [])
    chain = _chain(ast)
    if chain:  # field / a.b.c: dict lookups; a missing key or a non-object on the way is null
        if isinstance(cur, Scope):
            if chain[0] not in cur.names:
                return "None"
            base, chain = cur.names[chain[0]], chain[1:]
            if not chain:
                return base
        else:
            base = cur
        var = w.name("a")
        w.emit(depth, "try:")
        w.emit(depth + 1, f"{var} = {base}" + "".join(f"[{k!r}]" for k in chain))
        w.emit(depth, "except _MISS:")
        w.emit(depth + 1, f"{var} = None")
        return var
    if kind == "literal":
        return w.literal(ast["value"])
    if kind in ("current", "identity"):
        return _here(cur)
    if kind in ("subexpression", "pipe", "index_expression"):
        value: str | Scope = cur
        for child in children:
            value = _jmes(w, child, value, depth)
        return _here(value)
    var = w.name("a")
    if kind == "index":
        here = _here(cur)
        w.emit(depth, f"{var} = None")
        w.emit(depth, f"if isinstance({here}, list):")
        w.emit(depth + 1, "try:")
        w.emit(depth + 2, f"{var} = {here}[{int(ast['value'])}]")
        w.emit(depth + 1, "except IndexError:")
        w.emit(depth + 2, "pass")
    elif kind == "slice":
        here = _here(cur)
        w.emit(depth, f"{var} = {here}[{w.bind(slice(*children), 'c')}] if isinstance({here}, list) else None")
    elif kind in ("projection", "value_projection", "filter_projection", "flatten"):
        _projection(w, ast, cur, depth, var)
    elif kind == "comparator":
        left = w.variable(_jmes(w, children[0], cur, depth), depth)
        right = w.variable(_jmes(w, children[1], cur, depth), depth)
        w.emit(depth, f"{var} = {_comparison(w, ast['value'], (children[0], left), (children[1], right))}")
    elif kind in ("and_expression", "or_expression"):
        w.emit(depth, f"{var} = {_jmes(w, children[0], cur, depth)}")
        w.emit(depth, f"if {'' if kind == 'and_expression' else 'not '}_truthy({var}):")
        w.emit(depth + 1, f"{var} = {_jmes(w, children[1], cur, depth + 1)}")
    elif kind == "not_expression":
        w.emit(depth, f"{var} = not _truthy({_jmes(w, children[0], cur, depth)})")
    elif kind in ("multi_select_list", "multi_select_dict"):
        here = _here(cur)
        w.emit(depth, f"if {here} is None:")
        w.emit(depth + 1, f"{var} = None")
        w.emit(depth, "else:")
        parts = []
        for child in children:
            part = _jmes(w, child["children"][0] if kind == "multi_select_dict" else child, here, depth + 1)
            parts.append(f"{child['value']!r}: {part}" if kind == "multi_select_dict" else part)
        opening, closing = ("{", "}") if kind == "multi_select_dict" else ("[", "]")
        w.emit(depth + 1, f"{var} = {opening}{', '.join(parts)}{closing}")
    elif kind == "function_expression":
        _function(w, ast, cur, depth, var)
    else:
        raise Fallback(f"JMESPath {kind.replace('_', ' ')} is evaluated by the interpreter")
    return var


def _comparison(w: Writer, op: str, left: tuple[dict[str, Any], str], right: tuple[dict[str, Any], str]) -> str:
    """A Python expression comparing two values as JMESPath does (literals let it be simpler)."""
    (left_ast, a), (right_ast, b) = left, right
    if op in ("eq", "ne"):
        literal = right_ast if right_ast["type"] == "literal" else left_ast if left_ast["type"] == "literal" else None
        other = a if literal is right_ast else b
        value = literal["value"] if literal is not None else None
        if literal is not None and (value is None or isinstance(value, bool)):
            test = f"{other} is {value!r}"  # `true` equals only true; null only null
        elif literal is not None and isinstance(value, (str, int, Decimal)):
            test = f"(({other}).__class__ is not bool and {a} == {b})"  # true is never 1
        else:
            test = f"_eq({a}, {b})"
        return test if op == "eq" else f"not {test}"
    both = f"({a}).__class__ in _NUMBERS and ({b}).__class__ in _NUMBERS"
    if right_ast["type"] == "literal" and right_ast["value"].__class__ in (int, Decimal):
        both = f"({a}).__class__ in _NUMBERS"
    return f"({a} {_PY_ORDER[op]} {b} if {both} else None)"


def _projection(w: Writer, ast: dict[str, Any], cur: str | Scope, depth: int, var: str) -> None:
    kind, children = ast["type"], ast["children"]
    element = w.name("el")
    base = _jmes(w, children[0], cur, depth)
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
        keep = _jmes(w, children[2], element, inner)
        w.emit(inner, f"if not _truthy({keep}):")
        w.emit(inner + 1, "continue")
    got = _jmes(w, children[1], element, inner)
    w.emit(inner, f"if {got} is not None:")
    w.emit(inner + 1, f"{var}.append({got})")


def _function(w: Writer, ast: dict[str, Any], cur: str | Scope, depth: int, var: str) -> None:
    name, children = ast["value"], ast["children"]
    if any(c["type"] == "expref" for c in children):
        raise Fallback(f"{name}() takes an &expression: evaluated by the interpreter")
    args = [_jmes(w, child, cur, depth) for child in children]
    if name == "ref" and len(args) == 2 and children[0]["type"] == "literal":
        _ref(w, args[0], w.variable(args[1], depth), depth, var)
    elif name in _WRITTEN_OUT and _written_out(w, name, children, args, depth, var):
        pass
    elif name in CATALOGUE:
        fn = w.bind(CATALOGUE[name].impl, "f")
        w.emit(depth, f"{var} = {fn}(rt{''.join(', ' + a for a in args)})")
    else:  # JMESPath's own, with its type checks (JMESPathTypeError) as the interpreter makes them
        spec = _OPTIONS.custom_functions.FUNCTION_TABLE.get(name)
        signature = spec["signature"] if spec else None
        if signature and len(signature) == len(args) and not any(a["types"] or a.get("variadic") for a in signature):
            # takes any type and a fixed number of arguments: nothing for call_function to check
            fn = w.bind(spec["function"], "f")
            w.emit(depth, f"{var} = {fn}(_FUNCTIONS{''.join(', ' + a for a in args)})")
        else:
            w.emit(depth, f"{var} = _builtin({name!r}, [{', '.join(args)}])")


# Catalogue functions written out as the body of their implementation in
# engine.expressions.functions (numbers still parsed by its to_decimal()); the
# differential test holds each to the implementation.
_WRITTEN_OUT = frozenset({"coalesce", "default", "concat", "decimal", "negate", "add", "money"})


def _written_out(w: Writer, name: str, children: list[dict[str, Any]], args: list[str], depth: int, var: str) -> bool:
    """Emit `var = name(args)` without the call; False when this call is better left as one."""
    w.env.setdefault("_td", to_decimal)
    if name == "coalesce":  # the first argument that is not null or empty text
        choices = []
        for child, arg in zip(children, args, strict=True):
            if child["type"] == "literal":
                if child["value"] is None or child["value"] == "":
                    continue
                choices.append(arg)
                break
            choices.append(f"{arg} if {arg} is not None and {arg} != '' else")
        else:
            choices.append("None")
        w.emit(depth, f"{var} = {' '.join(choices)}")
    elif name == "default":
        value, fallback = w.variable(args[0], depth), args[1]
        w.emit(depth, f"{var} = {fallback} if {value} is None or {value} == '' else {value}")
    elif name == "concat":  # text of each argument (true/false for booleans), nulls left out
        parts = []
        for child, arg in zip(children, args, strict=True):
            if child["type"] == "literal":
                value = child["value"]
                text = (
                    "" if value is None else ("true" if value else "false") if isinstance(value, bool) else str(value)
                )
                parts.append(repr(text))
            else:
                parts.append(
                    f"('' if {arg} is None else {arg} if ({arg}).__class__ is str"
                    f" else 'true' if {arg} is True else 'false' if {arg} is False else str({arg}))"
                )
        w.emit(depth, f"{var} = {' + '.join(parts)}")
    elif name == "decimal":
        if len(args) > 1:  # decimal(x, locale): the catalogue's own locale parsing
            return False
        w.emit(depth, f"{var} = _td({args[0]})")
    elif name == "negate":
        w.emit(depth, f"{var} = -_td({args[0]}, 'negate')")
    elif name == "add":
        w.emit(depth, f"{var} = _D0" + "".join(f" + _td({a}, 'add')" for a in args))
        w.env.setdefault("_D0", Decimal(0))
    elif name == "money":
        if len(args) == 2 and not (children[1]["type"] == "literal" and children[1]["value"].__class__ is int):
            return False
        places = children[1]["value"] if len(args) == 2 else 2
        exponent = w.bind(Decimal(1).scaleb(-int(places)), "c")
        w.env.setdefault("_HALF_UP", ROUND_HALF_UP)
        w.emit(depth, f"{var} = _td({args[0]}, 'money').quantize({exponent}, rounding=_HALF_UP)")
    return True


def _ref(w: Writer, link_set: str, source_id: str, depth: int, var: str) -> None:
    """`ref(link_set, id)` written out: what engine.expressions.functions.fn_ref does, without the call."""
    key = w.name("k")
    w.emit(depth, f"if {source_id} is None or {source_id} == '':")
    w.emit(depth + 1, f"{var} = None")
    w.emit(depth, "else:")
    w.emit(depth + 1, f"{key} = {source_id} if ({source_id}).__class__ is str else str({source_id})")
    w.emit(depth + 1, f"{var} = rt_links({link_set}, {key}) if rt_links is not None else None")
    w.emit(depth + 1, f"if {var} is None:")
    w.emit(depth + 2, f"rt_missing.append((str({link_set}), {key}))")


# --- Jinja ------------------------------------------------------------------------------


def _jinja(w: Writer, expr: Compiled, scope: Scope, depth: int) -> str:
    tree = JINJA.parse(expr.text)
    if len(tree.body) != 1 or not isinstance(tree.body[0], jn.Output):
        raise Fallback("a template with {% %} statements is rendered by Jinja")
    nodes = tree.body[0].nodes
    var = w.name("t")
    if _LONE.match(expr.text):
        (node,) = [n for n in nodes if not isinstance(n, jn.TemplateData)]
        w.emit(depth, f"{var} = _plain({_jinja_node(w, node, scope, depth)})")
        return var
    parts = []
    for node in nodes:
        if isinstance(node, jn.TemplateData):
            parts.append(repr(node.data))
            continue
        part = w.variable(_jinja_node(w, node, scope, depth), depth)
        text = w.name("a")
        # Jinja renders each part in turn as str(finalize(value)): null as nothing, and
        # str() of an Undefined raises before any later part is evaluated
        w.emit(depth, f"{text} = '' if {part} is None else {part} if ({part}).__class__ is str else str({part})")
        parts.append(text)
    w.emit(depth, f"{var} = {' + '.join(parts) if parts else repr('')}")
    return var


def _jinja_node(w: Writer, node: jn.Node, scope: Scope, depth: int) -> str:
    if isinstance(node, jn.Name) and node.ctx == "load" and node.name in CONTEXT_NAMES:
        return scope.names[node.name]
    if isinstance(node, jn.Const):
        return w.literal(node.value)
    var = w.name("a")
    if isinstance(node, jn.Getattr):
        obj, attr = w.variable(_jinja_node(w, node.node, scope, depth), depth), node.attr
        w.emit(
            depth,
            f"{var} = {obj}[{attr!r}] if isinstance({obj}, _Mapping) and {attr!r} in {obj} else _jget({obj}, {attr!r})",
        )
    elif isinstance(node, (jn.Call, jn.Filter)):
        name = node.name if isinstance(node, jn.Filter) else getattr(node.node, "name", None)
        if name not in CATALOGUE or node.kwargs or node.dyn_args or node.dyn_kwargs:
            what = "filter" if isinstance(node, jn.Filter) else "call"
            raise Fallback(f"Jinja {what} {name}() is rendered by Jinja")
        args = []
        for arg_node in ([node.node] if isinstance(node, jn.Filter) else []) + list(node.args):
            if arg_node is None:
                raise Fallback("a filter block is rendered by Jinja")
            args.append(_jinja_node(w, arg_node, scope, depth))
        fn = w.bind(CATALOGUE[name].impl, "f")
        w.emit(depth, f"{var} = {fn}(rt{''.join(', ' + a for a in args)})")
    elif isinstance(node, jn.Getitem) and node.ctx == "load":  # the sandbox's own getitem
        obj, key = _jinja_node(w, node.node, scope, depth), _jinja_node(w, node.arg, scope, depth)
        w.emit(depth, f"{var} = _jitem({obj}, {key})")
    elif isinstance(node, jn.Concat):  # every part evaluated, then str() of each, as Jinja's str_join
        parts = [_jinja_node(w, part, scope, depth) for part in node.nodes]
        w.emit(depth, f"{var} = ''.join(({''.join(f'str({p}), ' for p in parts)}))")
    elif isinstance(node, (jn.Or, jn.And)):  # Python's own truth, as Jinja's `or` / `and`
        w.emit(depth, f"{var} = {_jinja_node(w, node.left, scope, depth)}")
        w.emit(depth, f"if {'not ' if isinstance(node, jn.Or) else ''}{var}:")
        w.emit(depth + 1, f"{var} = {_jinja_node(w, node.right, scope, depth + 1)}")
    elif isinstance(node, jn.Not):
        w.emit(depth, f"{var} = not {_jinja_node(w, node.node, scope, depth)}")
    elif isinstance(node, jn.CondExpr) and node.expr2 is not None:
        w.emit(depth, f"if {_jinja_node(w, node.test, scope, depth)}:")
        w.emit(depth + 1, f"{var} = {_jinja_node(w, node.expr1, scope, depth + 1)}")
        w.emit(depth, "else:")
        w.emit(depth + 1, f"{var} = {_jinja_node(w, node.expr2, scope, depth + 1)}")
    elif isinstance(node, jn.Test) and node.name in ("defined", "undefined", "none") and not node.args:
        value = w.variable(_jinja_node(w, node.node, scope, depth), depth)
        test = {
            "defined": f"not isinstance({value}, _Undefined)",
            "undefined": f"isinstance({value}, _Undefined)",
            "none": f"{value} is None",
        }[node.name]
        w.emit(depth, f"{var} = {test}")
    else:
        raise Fallback(f"Jinja {type(node).__name__} is rendered by Jinja")
    return var
