"""Jinja templates in an immutable sandbox with StrictUndefined.

A string that is exactly one `{{ expr }}` returns the native value (never
render-then-parse); templates that only interpolate field paths run as plain Python with
the same output as Jinja. Reaching for Python internals is refused at load time where it
can be seen, and by the sandbox at run time where it cannot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes as jn
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from engine.errors import Location, suggest
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
    env = _JoistJinja(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
    )
    env.globals.clear()  # range, dict, cycler, joiner, lipsum, namespace: Python objects, not record data
    for name, fn in CATALOGUE.items():

        def bound(*args: Any, _impl: Callable[..., Any] = fn.impl) -> Any:
            return _impl(current_runtime(), *args)

        env.globals[name] = bound
        env.filters[name] = bound
    return env


JINJA = _jinja_environment()
_LONE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{|\{%).)*)\}\}\s*$", re.S)


def _jinja_checks(
    tree: jn.Template, text: str, location: Location, allowed: tuple[str, ...], compiled: Compiled
) -> None:
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
            template = JINJA.from_string(text)

            def evaluate(ctx: dict[str, Any], rt: Runtime) -> Any:
                set_runtime(rt)
                return template.render(**ctx)
    except jinja2.TemplateSyntaxError as exc:
        raise JinjaSyntaxError(f"invalid Jinja: {exc.message}", location=location) from None
    compiled.evaluate = evaluate
    return compiled
