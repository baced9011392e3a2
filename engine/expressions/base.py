"""What every compiled expression is, the errors compiling one can raise, and the checks
JMESPath and Jinja share (context names, the function catalogue, arities)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jmespath
import jmespath.functions

from engine.errors import JoistError, Location, suggest
from engine.expressions.functions import CATALOGUE, Runtime

CONTEXT_NAMES = ("source", "item", "parent", "index", "target", "params", "links")
JMESPATH_BUILTINS = frozenset(n[len("_func_") :] for n in dir(jmespath.functions.Functions) if n.startswith("_func_"))

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


class LooseNegation(JoistError):
    """`!source.a` in JMESPath negates `source` and then reads `.a` of the result (always null)."""

    code = "R208"


class EvaluationError(JoistError):
    """An expression failed on a record. Names the flow, record, field and expression."""

    code = "M404"


@dataclass
class Compiled:
    """One compiled expression and what static analysis found in it."""

    text: str
    kind: str  # "jmespath" | "jinja" | "template"
    location: Location
    evaluate: Evaluator = field(repr=False, default=lambda ctx, rt: None)
    refs: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)
    reads: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    roots: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    ast: dict[str, Any] | None = field(default=None, repr=False)  # JMESPath: for inlining (engine.mapping.codegen)

    def __call__(self, ctx: dict[str, Any], rt: Runtime) -> Any:
        return self.evaluate(ctx, rt)


def guard_hint(expr: Compiled) -> str:
    """How to guard an expression that failed on a record's data, as docs/rules.md says for its kind.

    A JMESPath expression reads an absent field as null, so coalesce()/default() help; a
    template fails on an absent field before any function or filter runs.
    """
    if expr.kind == "jmespath":
        return "check the record's data, or guard the expression with coalesce()/default()"
    return (
        "check the record's data; in a template an absent field fails before default() or coalesce() run: "
        "guard it with {% if source.x is defined %}, or compute the value in JMESPath with coalesce()"
    )


def offset_location(location: Location, style: str | None, position: int) -> Location:
    shift = 1 if style in ("'", '"') else 0
    if location.col is None:
        return location
    return Location(location.file, location.line, location.col + shift + position)


def check_names(
    names: Iterable[str], allowed: tuple[str, ...], text: str, location: Location, whole_is_bare_word: bool
) -> None:
    for name in names:
        if name in allowed:
            continue
        if name in CONTEXT_NAMES:
            where = {
                "item": "inside an `each:` list item",
                "parent": "inside an `each:` list item",
                "index": "inside an `each:` list item",
                "target": "in lock_when and fields",
            }.get(name, "here")
            raise UnknownName(
                f"{name!r} is not available here",
                location=location,
                hint=f"{name} is only defined {where}",
                allowed=list(allowed),
            )
        if whole_is_bare_word:
            raise UnknownName(
                f"{text!r} would read a field of the context, not the word itself",
                location=location,
                hint=f"did you mean {{const: {text}}}?",
                allowed=list(allowed),
            )
        near = suggest(name, allowed)
        raise UnknownName(
            f"unknown name {name!r}: an expression starts with a context variable",
            location=location,
            hint=f"did you mean {near[0]!r}?"
            if near
            else (None if is_template(text) else f"did you mean {{const: {text}}}?"),
            allowed=list(allowed),
        )


def check_call(name: str, argc: int, location: Location) -> None:
    fn = CATALOGUE.get(name)
    if fn is None:
        if name in JMESPATH_BUILTINS:
            return
        near = suggest(name, list(CATALOGUE) + sorted(JMESPATH_BUILTINS))
        raise UnknownFunction(
            f"unknown function {name}()",
            location=location,
            hint=f"did you mean {near[0]}()?" if near else "see docs/functions.md",
            allowed=sorted(CATALOGUE),
        )
    if argc < fn.min_args or (fn.max_args is not None and argc > fn.max_args):
        want = (
            str(fn.min_args)
            if fn.min_args == fn.max_args
            else (f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
        )
        raise WrongArgumentCount(
            f"{name}() takes {want} argument(s), got {argc}", location=location, hint=f"example: {fn.example}"
        )


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text
