"""Compile rule expressions once, evaluate them per record.

A plain string is JMESPath over the context `{source, item, parent, index, target, params,
links}`; a string holding `{{ }}` or `{% %}` is a Jinja template in an immutable sandbox
with `StrictUndefined`, and a string that is exactly one `{{ expr }}` returns the native
value (never render-then-parse: `"478"` stays a string, `12.50` stays a Decimal).

JMESPath is compiled to Python closures for the shapes rules use all the time (paths,
catalogue calls, comparisons, boolean logic), so `source.vendor.id` costs a few dict
lookups, not an interpreter walk; anything rarer is evaluated by jmespath's own
interpreter over the same function catalogue. Every compile also collects what the
expression reads (for catalogue checks and `explain`) and which link sets its `ref()`
calls name (for the dependency graph).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import jinja2
import jinja2.meta
import jinja2.nodes as jn
import jmespath
import jmespath.exceptions
import jmespath.functions
import jmespath.visitor
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from engine.errors import JoistError, Location, suggest
from engine.functions import CATALOGUE, FunctionError, Runtime, current_runtime, set_runtime

CONTEXT_NAMES = ("source", "item", "parent", "index", "target", "params", "links")
JMESPATH_BUILTINS = frozenset(n[len("_func_"):] for n in dir(jmespath.functions.Functions) if n.startswith("_func_"))

Evaluator = Callable[[Any, Runtime], Any]


class JMESPathSyntaxError(JoistError):
    """A JMESPath expression that does not parse."""

    code = "R201"


class JinjaSyntaxError(JoistError):
    """A Jinja template that does not parse."""

    code = "R202"


class UnknownFunction(JoistError):
    """A call to a function that is not in the catalogue."""

    code = "R203"


class UnknownName(JoistError):
    """An expression starts with a name that is not a context variable (often a missing const:)."""

    code = "R204"


class UnsafeExpression(JoistError):
    """A template reaches for Python internals (`__class__`, `_private`): refused."""

    code = "R205"


class WrongArgumentCount(JoistError):
    """A function called with too few or too many arguments."""

    code = "R206"


class NonLiteralRef(JoistError):
    """`ref()` must name its link set literally, so the dependency graph can be built."""

    code = "R207"


class EvaluationError(JoistError):
    """An expression failed on a record. Names the flow, record, field and expression."""

    code = "M404"


@dataclass
class Compiled:
    """One compiled expression and what static analysis found in it."""

    text: str
    kind: str                                   # "jmespath" | "jinja" | "template"
    location: Location
    evaluate: Evaluator = field(repr=False, default=lambda ctx, rt: None)
    refs: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    reads: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    roots: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)

    def __call__(self, ctx: dict[str, Any], rt: Runtime) -> Any:
        return self.evaluate(ctx, rt)


# ---------------------------------------------------------------- JMESPath

def _jmespath_functions() -> jmespath.functions.Functions:
    methods: dict[str, Any] = {}
    for name, fn in CATALOGUE.items():
        def method(self: Any, *args: Any, _impl: Callable[..., Any] = fn.impl) -> Any:
            return _impl(current_runtime(), *args)
        spec = [{"types": []} for _ in range(max(fn.min_args, 1))]
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
    return json.dumps(arg, separators=(",", ":"), default=str) if not isinstance(arg, Decimal) else str(arg)


_OPTIONS = jmespath.Options(custom_functions=_jmespath_functions())
_INTERPRETER = jmespath.visitor.TreeInterpreter(_OPTIONS)


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


_ORDER = {"lt": lambda a, b: a < b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b, "gte": lambda a, b: a >= b}


def _number(v: Any) -> bool:
    return isinstance(v, (int, Decimal, float)) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool:
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
            return lambda cur, rt: _equal(left(cur, rt), right(cur, rt))
        if op == "ne":
            return lambda cur, rt: not _equal(left(cur, rt), right(cur, rt))
        order = _ORDER[op]

        def compare(cur: Any, rt: Runtime) -> Any:
            a, b = left(cur, rt), right(cur, rt)
            if _number(a) and _number(b):
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
    if kind in ("subexpression", "index_expression", "projection", "value_projection",
                "filter_projection", "flatten", "pipe"):
        return _root_fields(children[0]) if children else []
    if kind in ("function_expression", "comparator", "and_expression", "or_expression",
                "not_expression", "multi_select_list"):
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
            if isinstance(c, dict) and not (node["type"] in ("projection", "filter_projection") and c is not node["children"][0]):
                walk(c)

    walk(ast)
    return found


def _functions_called(ast: dict[str, Any]) -> list[dict[str, Any]]:
    calls = [ast] if ast["type"] == "function_expression" else []
    for c in ast.get("children", []):
        if isinstance(c, dict):
            calls += _functions_called(c)
    return calls


def _offset(location: Location, style: str | None, position: int) -> Location:
    shift = 1 if style in ("'", '"') else 0
    if location.col is None:
        return location
    return Location(location.file, location.line, location.col + shift + position)


def _check_names(names: Iterable[str], allowed: tuple[str, ...], text: str, location: Location,
                 whole_is_bare_word: bool) -> None:
    for name in names:
        if name in allowed:
            continue
        if name in CONTEXT_NAMES:
            where = {"item": "inside an `each:` list item", "parent": "inside an `each:` list item",
                     "index": "inside an `each:` list item", "target": "in lock_when and fields"}.get(name, "here")
            raise UnknownName(f"{name!r} is not available here", location=location,
                              hint=f"{name} is only defined {where}", allowed=list(allowed))
        if whole_is_bare_word:
            raise UnknownName(f"{text!r} would read a field of the context, not the word itself",
                              location=location, hint=f"did you mean {{const: {text}}}?", allowed=list(allowed))
        near = suggest(name, allowed)
        raise UnknownName(f"unknown name {name!r}: an expression starts with a context variable",
                          location=location, hint=f"did you mean {near[0]!r}?" if near else
                          (None if is_template(text) else f"did you mean {{const: {text}}}?"), allowed=list(allowed))


def _check_call(name: str, argc: int, location: Location) -> None:
    fn = CATALOGUE.get(name)
    if fn is None:
        if name in JMESPATH_BUILTINS:
            return
        near = suggest(name, list(CATALOGUE) + sorted(JMESPATH_BUILTINS))
        raise UnknownFunction(f"unknown function {name}()", location=location,
                              hint=f"did you mean {near[0]}()?" if near else "see docs/functions.md",
                              allowed=sorted(CATALOGUE))
    if argc < fn.min_args or (fn.max_args is not None and argc > fn.max_args):
        want = str(fn.min_args) if fn.min_args == fn.max_args else (
            f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
        raise WrongArgumentCount(f"{name}() takes {want} argument(s), got {argc}", location=location,
                                 hint=f"example: {fn.example}")


def compile_jmespath(text: str, location: Location, style: str | None = None,
                     allowed: tuple[str, ...] = CONTEXT_NAMES) -> Compiled:
    """Compile a JMESPath expression, checking names, functions and ref() link sets."""
    if not text.strip():
        raise JMESPathSyntaxError("an empty expression", location=location,
                                  hint="leave the field out, or write {const: ''} for empty text")
    try:
        ast = jmespath.compile(text).parsed
    except jmespath.exceptions.ParseError as exc:
        pos = exc.lex_position if isinstance(exc.lex_position, int) else 0
        if isinstance(exc, jmespath.exceptions.IncompleteExpressionError) or exc.token_value in (None, ""):
            problem = "the expression ends too early (an unclosed bracket or a missing operand?)"
        else:
            problem = f"unexpected {exc.token_value!r}"
        raise JMESPathSyntaxError(f"invalid JMESPath: {problem}",
                                  location=_offset(location, style, pos),
                                  hint="a literal needs backticks (`0`) or quotes ('text'); see docs/rules.md") from None
    except jmespath.exceptions.JMESPathError as exc:
        raise JMESPathSyntaxError(f"invalid JMESPath: {exc}", location=location) from None
    _prepare(ast)
    roots = _root_fields(ast)
    _check_names(roots, allowed, text, location, whole_is_bare_word=ast["type"] == "field")
    compiled = Compiled(text, "jmespath", location, roots=set(roots))
    for call in _functions_called(ast):
        _check_call(call["value"], len(call["children"]), location)
        compiled.functions.add(call["value"])
        if call["value"] == "ref":
            first = call["children"][0] if call["children"] else None
            if not first or first["type"] != "literal" or not isinstance(first["value"], str):
                raise NonLiteralRef("ref() needs the link set as a quoted name", location=location,
                                    hint="write ref('vendors', source.vendor.id)")
            compiled.refs.append(first["value"])
        if call["value"] == "lookup" and call["children"] and call["children"][0]["type"] == "literal":
            compiled.lookups.append(str(call["children"][0]["value"]))
    compiled.reads = _reads(ast)
    compiled.evaluate = _compile_jmespath(ast)
    return compiled


# ---------------------------------------------------------------- Jinja

def _finalize(value: Any) -> Any:
    # A null field renders as nothing, not as the word "None".
    return "" if value is None else value


class _JoistJinja(ImmutableSandboxedEnvironment):
    """`a.b` reads the field `b` of a record first (so `source.items` is the field, not dict.items)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def _jinja_environment() -> ImmutableSandboxedEnvironment:
    env = _JoistJinja(undefined=jinja2.StrictUndefined, autoescape=False,
                                        keep_trailing_newline=True, finalize=_finalize)
    env.globals.clear()  # range, dict, cycler, joiner, lipsum, namespace: Python objects, not record data
    for name, fn in CATALOGUE.items():
        def bound(*args: Any, _impl: Callable[..., Any] = fn.impl) -> Any:
            return _impl(current_runtime(), *args)
        env.globals[name] = bound
        env.filters[name] = bound
    return env


JINJA = _jinja_environment()
_LONE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%).)*)\}\}\s*$", re.S)


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _jinja_checks(tree: jn.Template, text: str, location: Location, allowed: tuple[str, ...],
                  compiled: Compiled) -> None:
    for node in tree.find_all((jn.Getattr, jn.Getitem)):
        attr = node.attr if isinstance(node, jn.Getattr) else (
            node.arg.value if isinstance(node.arg, jn.Const) else None)
        if isinstance(attr, str) and attr.startswith("_"):
            raise UnsafeExpression(f"templates may not reach {attr!r}", location=location,
                                   hint="only record fields and catalogue functions are available")
    for name_node in tree.find_all(jn.Name):
        if name_node.name == "self":
            raise UnsafeExpression("templates may not reach 'self'", location=location,
                                   hint="only record fields and catalogue functions are available")
    for flt in tree.find_all(jn.Filter):
        named = [a.value for a in flt.args if isinstance(a, jn.Const)]
        named += [kw.value.value for kw in flt.kwargs if isinstance(kw.value, jn.Const)]
        for attr in named:
            if isinstance(attr, str) and any(part.startswith("_") for part in attr.split(".")):
                raise UnsafeExpression(f"templates may not reach {attr!r}", location=location,
                                       hint="only record fields and catalogue functions are available")
        if flt.name not in JINJA.filters:
            near = suggest(flt.name, JINJA.filters)
            raise UnknownFunction(f"unknown filter {flt.name!r}", location=location,
                                  hint=f"did you mean {near[0]!r}?" if near else None)
    for call in tree.find_all(jn.Call):
        if isinstance(call.node, jn.Name):
            _check_call(call.node.name, len(call.args), location)
            compiled.functions.add(call.node.name)
            if call.node.name == "ref":
                if not call.args or not isinstance(call.args[0], jn.Const):
                    raise NonLiteralRef("ref() needs the link set as a quoted name", location=location,
                                        hint="write {{ ref('vendors', source.vendor.id) }}")
                compiled.refs.append(call.args[0].value)
            if call.node.name == "lookup" and call.args and isinstance(call.args[0], jn.Const):
                compiled.lookups.append(str(call.args[0].value))
    # after the calls, so a misspelt function gets "did you mean decimal()?", not "unknown name"
    names = sorted(jinja2.meta.find_undeclared_variables(tree) - set(CATALOGUE))
    _check_names(names, allowed, text, location, whole_is_bare_word=False)
    compiled.roots = set(names)
    for node in tree.find_all(jn.Getattr):
        chain: list[str] = []
        cur: jn.Node = node
        while isinstance(cur, jn.Getattr):
            chain.insert(0, cur.attr)
            cur = cur.node
        if isinstance(cur, jn.Name) and cur.name in CONTEXT_NAMES:
            compiled.reads.append((cur.name, tuple(chain)))
    # keep only the longest chains
    longest = [r for r in compiled.reads if not any(o != r and o[0] == r[0] and o[1][: len(r[1])] == r[1]
                                                   for o in compiled.reads)]
    compiled.reads = sorted(set(longest))


_DATA = (str, int, float, Decimal, bool, type(None))


def _plain(value: Any) -> Any:
    """A lone `{{ expr }}` result, checked to be record data all the way down.

    An Undefined (a missing field, or an attribute the sandbox refused) raises its reason
    (UndefinedError, SecurityError) instead of landing in a payload; Python objects
    (classes, methods, template references) are refused too.
    """
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, _DATA):
        return value
    if isinstance(value, (list, tuple)):
        for v in value:
            _plain(v)
        return value
    if isinstance(value, dict):
        for v in value.values():
            _plain(v)
        return value
    raise SecurityError(f"a template produced a {type(value).__name__} object, not record data")


def _path_of(node: jn.Node) -> list[str] | None:
    chain: list[str] = []
    while isinstance(node, jn.Getattr):
        chain.insert(0, node.attr)
        node = node.node
    if isinstance(node, jn.Name) and node.ctx == "load" and node.name in CONTEXT_NAMES:
        return [node.name] + chain
    return None


def _fast_path(path: list[str]) -> Evaluator:
    root, rest = path[0], tuple(path[1:])

    def read(ctx: Any, rt: Runtime) -> Any:
        cur = ctx[root]
        for step in rest:
            if isinstance(cur, Mapping) and step in cur:
                cur = cur[step]
            else:
                raise jinja2.UndefinedError(f"{type(cur).__name__ if cur is not None else 'None'} object "
                                            f"has no attribute {step!r}")
        return cur
    return read


def _fast_template(tree: jn.Template, lone: bool) -> Evaluator | None:
    """Templates that only interpolate field paths, as plain Python (same output as Jinja)."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], jn.Output):
        return None
    parts: list[Any] = []
    for node in tree.body[0].nodes:
        if isinstance(node, jn.TemplateData):
            parts.append(node.data)
            continue
        path = _path_of(node)
        if path is None:
            return None
        parts.append(_fast_path(path))
    if lone:
        readers = [p for p in parts if not isinstance(p, str)]
        if len(readers) != 1 or any(isinstance(p, str) and p.strip() for p in parts):
            return None
        return readers[0]

    def render(ctx: Any, rt: Runtime) -> str:
        out = []
        for part in parts:
            if part.__class__ is str:
                out.append(part)
            else:
                value = part(ctx, rt)
                out.append("" if value is None else str(value))
        return "".join(out)
    return render


def compile_jinja(text: str, location: Location, allowed: tuple[str, ...] = CONTEXT_NAMES,
                  style: str | None = None) -> Compiled:
    """Compile a Jinja template; a lone `{{ expr }}` evaluates to its native value."""
    lone = _LONE.match(text)
    try:
        tree = JINJA.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        # a literal block's text starts on the line after its `|`
        line = (location.line or 1) + (exc.lineno or 1) - (0 if style == "|" else 1)
        raise JinjaSyntaxError(f"invalid Jinja: {exc.message}", location=Location(location.file, line, location.col),
                               hint="templates use {{ expression }}; see docs/rules.md") from None
    compiled = Compiled(text, "jinja" if lone else "template", location)
    _jinja_checks(tree, text, location, allowed, compiled)
    fast = _fast_template(tree, bool(lone))
    if fast is not None:
        compiled.evaluate = fast
        return compiled
    try:
        if lone:
            native = JINJA.compile_expression(lone.group("expr"), undefined_to_none=False)

            def evaluate(ctx: dict[str, Any], rt: Runtime) -> Any:
                set_runtime(rt)
                return _plain(native(**ctx))
        else:
            template = JINJA.from_string(text)

            def evaluate(ctx: dict[str, Any], rt: Runtime) -> Any:
                set_runtime(rt)
                return template.render(**ctx)
    except jinja2.TemplateSyntaxError as exc:
        raise JinjaSyntaxError(f"invalid Jinja: {exc.message}", location=location) from None
    compiled.evaluate = evaluate
    return compiled


def compile_expression(text: str, location: Location, style: str | None = None,
                       allowed: tuple[str, ...] = CONTEXT_NAMES) -> Compiled:
    """Compile `text` as Jinja when it holds `{{ }}`/`{% %}`, else as JMESPath."""
    if is_template(text):
        return compile_jinja(text, location, allowed, style)
    return compile_jmespath(text, location, style, allowed)


def constant(value: Any, location: Location) -> Compiled:
    """A literal value as a compiled expression (`{const: X}`)."""
    value = _decimal_literals(value)
    return Compiled(repr(value), "const", location, evaluate=lambda ctx, rt: value)


RUNTIME_ERRORS: tuple[type[BaseException], ...] = (
    jinja2.UndefinedError, SecurityError, jmespath.exceptions.JMESPathError, TypeError, ValueError,
    ArithmeticError, AttributeError, KeyError, IndexError,
)
"""What an expression may raise on bad data; the mapper turns them into EvaluationError."""
