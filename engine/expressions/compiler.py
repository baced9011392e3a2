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

from typing import Any

import jinja2
import jmespath.exceptions
from jinja2.sandbox import SecurityError

from engine.errors import Location
from engine.expressions.base import (
    CONTEXT_NAMES,
    Compiled,
    is_template,
)
from engine.expressions.jmes import _decimal_literals, compile_jmespath
from engine.expressions.limits import MAX_NESTING, ExpressionTooDeep, nesting
from engine.expressions.templates import compile_jinja


def compile_expression(
    text: str, location: Location, style: str | None = None, allowed: tuple[str, ...] = CONTEXT_NAMES
) -> Compiled:
    """Compile `text` as Jinja when it holds `{{ }}`/`{% %}`, else as JMESPath.

    An expression nested deeper than the limits is R209 (engine.expressions.limits).
    """
    if nesting(text) > MAX_NESTING:
        raise _too_deep(location, f"brackets nested more than {MAX_NESTING} deep")
    try:
        if is_template(text):
            return compile_jinja(text, location, allowed, style)
        return compile_jmespath(text, location, style, allowed)
    except RecursionError:
        raise _too_deep(location, "too deeply nested to compile") from None


def _too_deep(location: Location, why: str) -> ExpressionTooDeep:
    return ExpressionTooDeep(
        f"expression {why}",
        location=location,
        hint="split it: compute parts in separate fields, or use a lookup table",
    )


def constant(value: Any, location: Location) -> Compiled:
    """A literal value as a compiled expression (`{const: X}`)."""
    value = _decimal_literals(value)
    return Compiled(repr(value), "const", location, evaluate=lambda ctx, rt: value)


RUNTIME_ERRORS: tuple[type[BaseException], ...] = (
    jinja2.UndefinedError,
    SecurityError,
    jmespath.exceptions.JMESPathError,
    TypeError,
    ValueError,
    ArithmeticError,
    AttributeError,
    KeyError,
    IndexError,
    RecursionError,
)
"""What an expression may raise on bad data; the mapper turns them into EvaluationError."""
