"""Jinja templates in an immutable sandbox with StrictUndefined.

A string that is exactly one `{{ expr }}` returns the native value (never
render-then-parse); templates that only interpolate field paths run as plain Python with
the same output as Jinja. Reaching for Python internals is refused at load time where it
can be seen, and by the sandbox at run time where it cannot.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes as jn
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from engine.errors import Location, suggest
from engine.expressions import limits
from engine.expressions.base import (
    CONTEXT_NAMES,
    Compiled,
    Evaluator,
    JinjaSyntaxError,
    NonLiteralRef,
    UnknownFunction,
    UnsafeExpression,
    check_call,
    check_names,
)
from engine.expressions.functions import CATALOGUE, Runtime, current_runtime, set_runtime
from engine.expressions.limits import charge, check_format, check_number, check_replace, check_size


def _finalize(value: Any) -> Any:
    # A null field renders as nothing, not as the word "None".
    return "" if value is None else value


class _JoistJinja(ImmutableSandboxedEnvironment):
    """`a.b` reads the field `b` of a record first (so `source.items` is the field, not dict.items).

    Bounded (engine.expressions.limits): `**`, `*` and `%` refuse results over the size
    limits, every call and operator is charged to the record's budget, and so is every
    `{% for %}` step (loops iterate through the `_steps` filter, see `_count_loops`).
    """

    intercepted_binops = frozenset({"**", "*", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        if isinstance(obj, str) and attribute in ("format", "format_map"):
            check_format(obj)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        charge(current_runtime())
        return limits.binop(operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        charge(current_runtime())
        if __obj not in _CATALOGUE_CALLS:  # a catalogue function takes ids and amounts of any size
            for value in list(args) + list(kwargs.values()):
                check_number(value, "an argument")
            owner = getattr(__obj, "__self__", None)
            if isinstance(owner, str) and getattr(__obj, "__name__", "") == "replace" and len(args) >= 2:
                check_replace(owner, str(args[0]), str(args[1]), args[2] if len(args) > 2 else -1)
        return check_size(
            ImmutableSandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs), "a call made a value"
        )


def _jinja_environment() -> ImmutableSandboxedEnvironment:
    env = _JoistJinja(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
    )
    env.globals.clear()  # range, dict, cycler, joiner, lipsum, namespace: Python objects, not record data
    for name, builtin in list(env.filters.items()):  # Jinja's own; the catalogue's are added below
        env.filters[name] = functools.wraps(builtin)(limits.bounded(builtin, name, current_runtime))
    env.filters[_STEPS] = lambda values: limits.counted(values, current_runtime())
    for name, fn in CATALOGUE.items():

        def bound(*args: Any, _impl: Callable[..., Any] = fn.impl) -> Any:
            return _impl(current_runtime(), *args)

        env.globals[name] = bound
        env.filters[name] = bound
        _CATALOGUE_CALLS.add(bound)
    return env


_STEPS = "joist_steps"
_CATALOGUE_CALLS: set[Callable[..., Any]] = set()
JINJA = _jinja_environment()
_LONE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%).)*)\}\}\s*$", re.S)


class _NotStatic(Exception):
    pass


_STATIC_OPS = {jn.Pow: "**", jn.Mul: "*", jn.Mod: "%"}


def _static(node: jn.Node) -> Any:
    """The value of a constant part of a template, computed within the limits (or _NotStatic)."""
    if isinstance(node, jn.Const):
        return node.value
    if isinstance(node, (jn.List, jn.Tuple)):
        return [_static(item) for item in node.items]
    if isinstance(node, jn.Neg):
        return -_static(node.node)
    if isinstance(node, jn.Pos):
        return _static(node.node)
    if isinstance(node, jn.BinExpr) and type(node) in _STATIC_OPS:
        return limits.binop(_STATIC_OPS[type(node)], _static(node.left), _static(node.right))
    if isinstance(node, (jn.Add, jn.Sub)):
        left, right = _static(node.left), _static(node.right)
        try:
            return left + right if isinstance(node, jn.Add) else left - right
        except TypeError:
            raise _NotStatic from None
    raise _NotStatic


def _check_limits(tree: jn.Template, location: Location) -> None:
    """R209 for a template nested too deeply, R210 for a constant part that breaks a limit."""
    if limits.tree_depth(tree, lambda node: list(node.iter_child_nodes())) > limits.MAX_AST_DEPTH:
        raise limits.ExpressionTooDeep(
            f"expression nested more than {limits.MAX_AST_DEPTH} levels deep",
            location=location,
            hint="split it: compute parts in separate fields, or use a lookup table",
        )
    for node in tree.find_all(tuple(_STATIC_OPS)):
        try:
            _static(node)
        except limits.LimitExceeded as exc:
            raise limits.StaticLimit(
                exc.message, location=location, hint="no record needs a value that large: write the value itself"
            ) from None
        except (_NotStatic, TypeError, ValueError, ArithmeticError):
            continue


def _count_loops(tree: jn.Template) -> jn.Template:
    """Every `{% for %}` iterates through the budget-counting filter."""
    for loop in tree.find_all(jn.For):
        counted = jn.Filter(loop.iter, _STEPS, [], [], None, None, lineno=loop.iter.lineno)
        counted.set_environment(JINJA)
        loop.iter = counted
    return tree


def _render(template: jinja2.Template, ctx: dict[str, Any]) -> str:
    """Render, refusing more than MAX_OUTPUT characters."""
    parts: list[str] = []
    size = 0
    for chunk in template.generate(**ctx):
        size += len(chunk)
        if size > limits.MAX_OUTPUT:
            raise limits.LimitExceeded(
                f"the template renders more than {limits.MAX_OUTPUT:,} characters",
                hint="check the record's data: a loop over a long list?",
            )
        parts.append(chunk)
    return "".join(parts)


def _jinja_checks(
    tree: jn.Template, text: str, location: Location, allowed: tuple[str, ...], compiled: Compiled
) -> None:
    _check_limits(tree, location)
    for node in tree.find_all((jn.Getattr, jn.Getitem)):
        attr = node.attr if isinstance(node, jn.Getattr) else getattr(getattr(node, "arg", None), "value", None)
        if isinstance(attr, str) and attr.startswith("_"):
            raise UnsafeExpression(
                f"templates may not reach {attr!r}",
                location=location,
                hint="only record fields and catalogue functions are available",
            )
    for name_node in tree.find_all(jn.Name):
        if name_node.name == "self":
            raise UnsafeExpression(
                "templates may not reach 'self'",
                location=location,
                hint="only record fields and catalogue functions are available",
            )
    for flt in tree.find_all(jn.Filter):
        named = [a.value for a in flt.args if isinstance(a, jn.Const)]
        named += [kw.value.value for kw in flt.kwargs if isinstance(kw.value, jn.Const)]
        for attr in named:
            if isinstance(attr, str) and any(part.startswith("_") for part in attr.split(".")):
                raise UnsafeExpression(
                    f"templates may not reach {attr!r}",
                    location=location,
                    hint="only record fields and catalogue functions are available",
                )
        if flt.name not in JINJA.filters:
            near = suggest(flt.name, JINJA.filters)
            raise UnknownFunction(
                f"unknown filter {flt.name!r}", location=location, hint=f"did you mean {near[0]!r}?" if near else None
            )
    for call in tree.find_all(jn.Call):
        if isinstance(call.node, jn.Name):
            check_call(call.node.name, len(call.args), location)
            compiled.functions.add(call.node.name)
            if call.node.name == "ref":
                if not call.args or not isinstance(call.args[0], jn.Const):
                    raise NonLiteralRef(
                        "ref() needs the link set as a quoted name",
                        location=location,
                        hint="write {{ ref('vendors', source.vendor.id) }}",
                    )
                compiled.refs.append(call.args[0].value)
            if call.node.name == "lookup" and call.args and isinstance(call.args[0], jn.Const):
                compiled.lookups.append(str(call.args[0].value))
    # after the calls, so a misspelt function gets "did you mean decimal()?", not "unknown name"
    names = sorted(jinja2.meta.find_undeclared_variables(tree) - set(CATALOGUE))
    check_names(names, allowed, text, location, whole_is_bare_word=False)
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
    longest = [
        r
        for r in compiled.reads
        if not any(o != r and o[0] == r[0] and o[1][: len(r[1])] == r[1] for o in compiled.reads)
    ]
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


def _fast_path(path: list[str], lone: bool = False) -> Evaluator:
    """A field path read as Jinja reads it: a record field, else the sandbox's own getattr
    (an Undefined that fails when used, or an object a lone `{{ }}` refuses)."""
    root, rest = path[0], tuple(path[1:])

    def read(ctx: Any, rt: Runtime) -> Any:
        cur = ctx[root]
        for n, step in enumerate(rest):
            if isinstance(cur, Mapping) and step in cur:
                cur = cur[step]
            else:
                cur = JINJA.getattr(cur, step)
                for later in rest[n + 1 :]:
                    cur = JINJA.getattr(cur, later)
                return _plain(cur) if lone else cur
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
        parts.append(_fast_path(path, lone))
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
                out.append("" if value is None else str(value))  # str(Undefined) raises, as in Jinja
        return "".join(out)

    return render


def compile_jinja(
    text: str, location: Location, allowed: tuple[str, ...] = CONTEXT_NAMES, style: str | None = None
) -> Compiled:
    """Compile a Jinja template; a lone `{{ expr }}` evaluates to its native value."""
    lone = _LONE.match(text)
    try:
        tree = JINJA.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        # a literal block's text starts on the line after its `|`
        line = (location.line or 1) + (exc.lineno or 1) - (0 if style == "|" else 1)
        raise JinjaSyntaxError(
            f"invalid Jinja: {exc.message}",
            location=Location(location.file, line, location.col),
            hint="templates use {{ expression }}; see docs/rules.md",
        ) from None
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
            template = JINJA.from_string(_count_loops(tree))

            def evaluate(ctx: dict[str, Any], rt: Runtime) -> Any:
                set_runtime(rt)
                return _render(template, ctx)
    except jinja2.TemplateSyntaxError as exc:
        raise JinjaSyntaxError(f"invalid Jinja: {exc.message}", location=location) from None
    compiled.evaluate = evaluate
    return compiled
