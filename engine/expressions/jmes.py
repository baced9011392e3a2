"""JMESPath expressions compiled to Python closures.

The shapes rules use all the time (paths, catalogue calls, comparisons, boolean logic)
become closures, so `source.vendor.id` costs a few dict lookups, not an interpreter walk;
anything rarer runs on jmespath's own interpreter over the same function catalogue, with
its built-in functions taught Decimals. Compiling also collects what the expression reads
and which link sets its `ref()` calls name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.functions
import jmespath.visitor

from engine.errors import Location
from engine.expressions.base import (
    CONTEXT_NAMES,
    Compiled,
    Evaluator,
    JMESPathSyntaxError,
    LooseNegation,
    NonLiteralRef,
    check_call,
    check_names,
    offset_location,
)
from engine.expressions.functions import CATALOGUE, Runtime, current_runtime, set_runtime
from engine.expressions.limits import MAX_AST_DEPTH, ExpressionTooDeep, tree_depth


def _jmespath_functions() -> jmespath.functions.Functions:
    methods: dict[str, Any] = {}
    for name, fn in CATALOGUE.items():

        def method(self: Any, *args: Any, _impl: Callable[..., Any] = fn.impl) -> Any:
            return _impl(current_runtime(), *args)

        spec: list[dict[str, Any]] = [{"types": []} for _ in range(max(fn.min_args, 1))]
        if fn.max_args != fn.min_args:
            spec[-1] = {"types": [], "variadic": True}
        methods["_func_" + name] = jmespath.functions.signature(*spec)(method)
    methods["_get_allowed_pytypes"] = _allowed_pytypes
    methods["_convert_to_jmespath_type"] = _jmespath_type
    methods["_func_avg"] = jmespath.functions.signature({"types": ["array-number"]})(_avg)
    methods["_func_type"] = jmespath.functions.signature({"types": []})(_type)
    methods["_func_to_number"] = jmespath.functions.signature({"types": []})(_to_number)
    methods["_func_to_string"] = jmespath.functions.signature({"types": []})(_to_string)
    return type("JoistFunctions", (jmespath.functions.Functions,), methods)()


# JMESPath's builtins check types by class name: let Decimal count as a number and the
# position-keeping PosDict/PosList (records from YAML fixtures) as objects and arrays.
_ALSO = {"float": ("Decimal",), "dict": ("PosDict",), "list": ("PosList",)}


def _widen(names: Iterable[str]) -> list[str]:
    return [n for name in names for n in (name, *_ALSO.get(name, ()))]


def _allowed_pytypes(self: Any, types: list[str]) -> tuple[list[str], list[list[str]]]:
    allowed, subtypes = jmespath.functions.Functions._get_allowed_pytypes(self, types)
    return _widen(allowed), [_widen(s) for s in subtypes]


def _jmespath_type(self: Any, python_name: str) -> str:
    for jmes_name, widened in (("number", "Decimal"), ("object", "PosDict"), ("array", "PosList")):
        if python_name == widened:
            return jmes_name
    return jmespath.functions.TYPES_MAP.get(python_name, "unknown")


def _type(self: Any, arg: Any) -> str | None:
    if isinstance(arg, Decimal):
        return "number"
    return jmespath.functions.Functions._func_type(self, arg)


def _avg(self: Any, values: list[Any]) -> Decimal | None:
    return sum((Decimal(v) for v in values), Decimal(0)) / len(values) if values else None


def _to_number(self: Any, arg: Any) -> Any:
    """to_number() that never makes a float: '1.5' is Decimal('1.5')."""
    if arg is None or isinstance(arg, (list, dict, bool)):
        return None
    if isinstance(arg, (int, Decimal)):
        return arg
    try:
        return Decimal(repr(arg)) if isinstance(arg, float) else Decimal(str(arg).strip())
    except ArithmeticError:
        return None


def _to_string(self: Any, arg: Any) -> str:
    if isinstance(arg, str):
        return arg
    if arg.__class__ is int:  # what json.dumps gives, without the encoder
        return str(arg)
    return json.dumps(arg, separators=(",", ":"), default=str) if not isinstance(arg, Decimal) else str(arg)


class _JoistInterpreter(jmespath.visitor.TreeInterpreter):
    """jmespath's interpreter with Joist's ordering rule (docs/rules.md): `<`, `<=`, `>`,
    `>=` compare numbers only and are null otherwise, as the compiled closures do."""

    def visit_comparator(self, node: dict[str, Any], value: Any) -> Any:
        if node["value"] in self._EQUALITY_OPS:
            return super().visit_comparator(node, value)
        left, right = self.visit(node["children"][0], value), self.visit(node["children"][1], value)
        return ORDERINGS[node["value"]](left, right) if is_jmes_number(left) and is_jmes_number(right) else None


_OPTIONS = jmespath.Options(custom_functions=_jmespath_functions())
_INTERPRETER = _JoistInterpreter(_OPTIONS)


def _truthy(value: Any) -> bool:
    return not (value is None or value is False or value == "" or value == [] or value == {})


def _decimal_literals(node: Any) -> Any:
    if isinstance(node, float):
        return Decimal(repr(node))
    if isinstance(node, list):
        return [_decimal_literals(v) for v in node]
    if isinstance(node, dict):
        return {k: _decimal_literals(v) for k, v in node.items()}
    return node


def _prepare(ast: dict[str, Any]) -> None:
    if ast["type"] == "literal":
        ast["value"] = _decimal_literals(ast["value"])
    for child in ast.get("children", []):
        if isinstance(child, dict):
            _prepare(child)


def _field_chain(ast: dict[str, Any]) -> list[str] | None:
    if ast["type"] == "field":
        return [ast["value"]]
    if ast["type"] == "subexpression" and all(c["type"] == "field" for c in ast["children"]):
        return [c["value"] for c in ast["children"]]
    return None


def _compile_chain(keys: list[str]) -> Evaluator:
    if len(keys) == 1:
        (k,) = keys

        def one(cur: Any, rt: Runtime) -> Any:
            return cur.get(k) if isinstance(cur, dict) else None

        return one
    if len(keys) == 2:
        k0, k1 = keys

        def two(cur: Any, rt: Runtime) -> Any:
            try:
                return cur[k0][k1]
            except (KeyError, TypeError, IndexError):
                return None

        return two
    if len(keys) == 3:
        k0, k1, k2 = keys

        def three(cur: Any, rt: Runtime) -> Any:
            try:
                return cur[k0][k1][k2]
            except (KeyError, TypeError, IndexError):
                return None

        return three
    keys_t = tuple(keys)

    def chain(cur: Any, rt: Runtime) -> Any:
        try:
            for k in keys_t:
                cur = cur[k]
        except (KeyError, TypeError, IndexError):
            return None
        return cur

    return chain


def _fallback(ast: dict[str, Any]) -> Evaluator:
    def interpret(cur: Any, rt: Runtime) -> Any:
        set_runtime(rt)
        return _INTERPRETER.visit(ast, cur)

    return interpret


ORDERINGS = {"lt": lambda a, b: a < b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b, "gte": lambda a, b: a >= b}


def is_jmes_number(v: Any) -> bool:
    """A number as JMESPath sees one (a bool is not)."""
    return isinstance(v, (int, Decimal, float)) and not isinstance(v, bool)


def jmes_equal(a: Any, b: Any) -> bool:
    """JMESPath equality: `true` never equals `1`."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def _compile_jmespath(ast: dict[str, Any]) -> Evaluator:
    kind = ast["type"]
    chain = _field_chain(ast)
    if chain is not None:
        return _compile_chain(chain)
    children = ast.get("children", [])
    if kind == "subexpression":
        parts = [_compile_jmespath(c) for c in children]

        def sub(cur: Any, rt: Runtime) -> Any:
            for part in parts:
                if cur is None:
                    return None
                cur = part(cur, rt)
            return cur

        return sub
    if kind == "literal":
        value = ast["value"]
        return lambda cur, rt: value
    if kind in ("current", "identity"):
        return lambda cur, rt: cur
    if kind == "function_expression" and ast["value"] in CATALOGUE:
        impl = CATALOGUE[ast["value"]].impl
        args = [_compile_jmespath(c) for c in children]
        if len(args) == 1:
            (a0,) = args
            return lambda cur, rt: impl(rt, a0(cur, rt))
        if len(args) == 2:
            a0, a1 = args
            if children[0]["type"] == "literal":  # ref('vendors', ...), lookup('table', ...)
                v0 = children[0]["value"]
                return lambda cur, rt: impl(rt, v0, a1(cur, rt))
            if children[1]["type"] == "literal":
                v1 = children[1]["value"]
                return lambda cur, rt: impl(rt, a0(cur, rt), v1)
            return lambda cur, rt: impl(rt, a0(cur, rt), a1(cur, rt))
        return lambda cur, rt: impl(rt, *[a(cur, rt) for a in args])
    if kind == "comparator":
        left, right = (_compile_jmespath(c) for c in children)
        op = ast["value"]
        if op == "eq":
            return lambda cur, rt: jmes_equal(left(cur, rt), right(cur, rt))
        if op == "ne":
            return lambda cur, rt: not jmes_equal(left(cur, rt), right(cur, rt))
        order = ORDERINGS[op]

        def compare(cur: Any, rt: Runtime) -> Any:
            a, b = left(cur, rt), right(cur, rt)
            if is_jmes_number(a) and is_jmes_number(b):
                return order(a, b)
            return None

        return compare
    if kind == "and_expression":
        left, right = (_compile_jmespath(c) for c in children)

        def both(cur: Any, rt: Runtime) -> Any:
            a = left(cur, rt)
            return right(cur, rt) if _truthy(a) else a

        return both
    if kind == "or_expression":
        left, right = (_compile_jmespath(c) for c in children)

        def either(cur: Any, rt: Runtime) -> Any:
            a = left(cur, rt)
            return a if _truthy(a) else right(cur, rt)

        return either
    if kind == "not_expression":
        (inner,) = (_compile_jmespath(c) for c in children)
        return lambda cur, rt: not _truthy(inner(cur, rt))
    if kind == "multi_select_dict":
        pairs = [(c["value"], _compile_jmespath(c["children"][0])) for c in children]
        return lambda cur, rt: None if cur is None else {k: f(cur, rt) for k, f in pairs}
    if kind == "multi_select_list":
        items = [_compile_jmespath(c) for c in children]
        return lambda cur, rt: None if cur is None else [f(cur, rt) for f in items]
    return _fallback(ast)


def _root_fields(ast: dict[str, Any]) -> list[str]:
    """Names looked up on the context itself (which must all be context names)."""
    kind, children = ast["type"], ast.get("children", [])
    if kind == "field":
        return [ast["value"]]
    if kind in (
        "subexpression",
        "index_expression",
        "projection",
        "value_projection",
        "filter_projection",
        "flatten",
        "pipe",
    ):
        return _root_fields(children[0]) if children else []
    if kind in (
        "function_expression",
        "comparator",
        "and_expression",
        "or_expression",
        "not_expression",
        "multi_select_list",
    ):
        return [n for c in children if c["type"] != "expref" for n in _root_fields(c)]
    if kind == "multi_select_dict":
        return [n for c in children for n in _root_fields(c["children"][0])]
    return []


def _reads(ast: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Context paths an expression reads, e.g. ("source", ("vendor", "id"))."""
    found: list[tuple[str, tuple[str, ...]]] = []

    def path_of(node: dict[str, Any]) -> list[str] | None:
        kind, children = node["type"], node.get("children", [])
        if kind == "field":
            return [node["value"]]
        if kind == "subexpression":
            out: list[str] = []
            for c in children:
                part = path_of(c)
                if part is None:
                    return out or None
                out += part
            return out
        if kind == "index_expression":
            left = path_of(children[0]) if children[0]["type"] != "identity" else []
            return None if left is None else left + ["[]"]
        if kind in ("projection", "filter_projection"):
            left = path_of(children[0]) if children[0]["type"] != "identity" else []
            if left is None:
                return None
            right = path_of(children[1]) if children[1]["type"] not in ("identity", "current") else []
            return left + ["[]"] + (right or [])
        if kind == "flatten":
            inner = path_of(children[0])
            return None if inner is None else inner + ["[]"]
        return None

    def walk(node: dict[str, Any]) -> None:
        path = path_of(node)
        if path and path[0] in CONTEXT_NAMES:
            found.append((path[0], tuple(path[1:])))
            if node["type"] not in ("function_expression",):
                return
        for c in node.get("children", []):
            if isinstance(c, dict) and not (
                node["type"] in ("projection", "filter_projection") and c is not node["children"][0]
            ):
                walk(c)

    walk(ast)
    return found


def _functions_called(ast: dict[str, Any]) -> list[dict[str, Any]]:
    calls = [ast] if ast["type"] == "function_expression" else []
    for c in ast.get("children", []):
        if isinstance(c, dict):
            calls += _functions_called(c)
    return calls


def _check_negations(ast: dict[str, Any], text: str, location: Location) -> None:
    """`!a.b` parses as `(!a).b`: null whatever `a.b` holds. Never what a rule means."""
    if ast["type"] == "subexpression" and ast["children"] and ast["children"][0]["type"] == "not_expression":
        inner = ast["children"][0]["children"][0]
        name = inner.get("value") if inner["type"] == "field" else None
        rest = ".".join(c.get("value", "?") for c in ast["children"][1:] if c["type"] == "field")
        shown = f"{name}.{rest}" if name and rest else "the path"
        raise LooseNegation(
            f"'!' applies to {name or 'the first step'} alone here, so the result is always null",
            location=location,
            hint=f"write !({shown})",
        )
    for child in ast.get("children", []):
        if isinstance(child, dict):
            _check_negations(child, text, location)


def compile_jmespath(
    text: str, location: Location, style: str | None = None, allowed: tuple[str, ...] = CONTEXT_NAMES
) -> Compiled:
    """Compile a JMESPath expression, checking names, functions and ref() link sets."""
    if not text.strip():
        raise JMESPathSyntaxError(
            "an empty expression", location=location, hint="leave the field out, or write {const: ''} for empty text"
        )
    try:
        ast = jmespath.compile(text).parsed
    except jmespath.exceptions.ParseError as exc:
        pos = exc.lex_position if isinstance(exc.lex_position, int) else 0
        if isinstance(exc, jmespath.exceptions.IncompleteExpressionError) or exc.token_value in (None, ""):
            problem = "the expression ends too early (an unclosed bracket or a missing operand?)"
        else:
            problem = f"unexpected {exc.token_value!r}"
        raise JMESPathSyntaxError(
            f"invalid JMESPath: {problem}",
            location=offset_location(location, style, pos),
            hint="a literal needs backticks (`0`) or quotes ('text'); see docs/rules.md",
        ) from None
    except jmespath.exceptions.JMESPathError as exc:
        raise JMESPathSyntaxError(f"invalid JMESPath: {exc}", location=location) from None
    if tree_depth(ast, lambda node: [c for c in node.get("children", ()) if isinstance(c, dict)]) > MAX_AST_DEPTH:
        raise ExpressionTooDeep(
            f"expression nested more than {MAX_AST_DEPTH} levels deep",
            location=location,
            hint="split it: compute parts in separate fields, or use a lookup table",
        )
    _prepare(ast)
    _check_negations(ast, text, location)
    roots = _root_fields(ast)
    check_names(roots, allowed, text, location, whole_is_bare_word=ast["type"] == "field")
    compiled = Compiled(text, "jmespath", location, roots=set(roots))
    for call in _functions_called(ast):
        check_call(call["value"], len(call["children"]), location)
        compiled.functions.add(call["value"])
        if call["value"] == "ref":
            first = call["children"][0] if call["children"] else None
            if not first or first["type"] != "literal" or not isinstance(first["value"], str):
                raise NonLiteralRef(
                    "ref() needs the link set as a quoted name",
                    location=location,
                    hint="write ref('vendors', source.vendor.id)",
                )
            compiled.refs.append(first["value"])
        if call["value"] == "lookup" and call["children"] and call["children"][0]["type"] == "literal":
            compiled.lookups.append(str(call["children"][0]["value"]))
    compiled.reads = _reads(ast)
    compiled.evaluate = _compile_jmespath(ast)
    compiled.ast = ast
    return compiled
