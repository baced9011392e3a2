"""Resource limits of expressions: how deep one may nest, how big a value one step may make,
how many steps one record may take.

Found when the rules load where they can be seen: an expression nested too deeply is R209
(instead of a RecursionError), a constant that breaks a limit (`{{ 9**(9**9) }}`) is R210.
At run time a breach fails that record only, with M411. The per-record budget is a counter
on the record's `Runtime` (each template loop step, call, filter and intercepted operator
costs one), not a wall-clock timer: the same record always fails the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from engine.errors import JoistError

MAX_NESTING = 25
"""Brackets, parentheses and braces one expression may nest."""
MAX_AST_DEPTH = 60
"""Levels the parsed expression may have (a chain of 3000 `||` is 3000 levels)."""
MAX_SIZE = 100_000
"""Characters of a text, or items of a list, that one operation may make; also the largest
whole number a width, count or repetition argument may be."""
MAX_OUTPUT = 1_000_000
"""Characters one template may render."""
MAX_INT_BITS = 4_096
"""Bits of a whole number a power may make (about 1,200 digits)."""
MAX_STEPS = 100_000
"""Template loop steps, calls, filters and operators one record may take, all expressions together."""


class ExpressionTooDeep(JoistError):
    """An expression nested so deeply that compiling it would exhaust Python's stack."""

    code = "R209"


class StaticLimit(JoistError):
    """A constant part of an expression breaks a resource limit (`{{ 9**(9**9) }}`)."""

    code = "R210"


class LimitExceeded(JoistError):
    """An expression breaks a resource limit on this record (a huge power, repetition, loop)."""

    code = "M411"


_HINT = "check the record's data; docs/errors.md (M411) lists the limits"


def _too_big(message: str) -> LimitExceeded:
    return LimitExceeded(message, hint=_HINT)


def charge(rt: Any, steps: int = 1) -> None:
    """Count `steps` against the record's budget; LimitExceeded once it is spent."""
    rt.steps += steps
    if rt.steps > MAX_STEPS:
        raise _too_big(f"more than {MAX_STEPS:,} evaluation steps for one record (loops inside loops?)")


def check_size(value: Any, what: str = "a value") -> Any:
    """`value`, unless it is a text or list longer than MAX_SIZE."""
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_SIZE:
        raise _too_big(f"{what} of {len(value):,} {'characters' if isinstance(value, str) else 'items'}")
    return value


def check_number(value: Any, what: str = "an argument") -> None:
    """Refuse a whole number larger than MAX_SIZE where it sets a width, count or repetition."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE:
        raise _too_big(f"{what} of {value:,} is over the limit of {MAX_SIZE:,}")


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\d+|\*)?(?:\.(\d+|\*))?")
_BRACES = re.compile(r"\{[^{}]*\}")


def check_format(text: str) -> None:
    """Refuse a `%` or `str.format` pattern whose width or precision is over MAX_SIZE."""
    numbers = [n for m in _PERCENT.finditer(text) for n in m.groups() if n and n != "*"]
    for field in _BRACES.findall(text):
        spec = field[1:-1].partition(":")[2]
        numbers += re.findall(r"\d+", spec)
    for n in numbers:
        check_number(int(n), "a width")


def check_replace(text: str, old: str, new: str, count: int = -1) -> None:
    """Refuse a replacement whose result would be longer than MAX_SIZE."""
    times = text.count(old) if old else len(text) + 1
    if count >= 0:
        times = min(times, count)
    size = len(text) + times * (len(new) - len(old))
    if size > MAX_SIZE:
        raise _too_big(f"a replacement making {size:,} characters")


def binop(operator: str, left: Any, right: Any) -> Any:
    """`left <operator> right` for `**`, `*` and `%`, refusing results over the limits."""
    if operator == "**":
        if _whole(left) and _whole(right) and right > 0 and abs(left) > 1:
            if right * abs(left).bit_length() > MAX_INT_BITS:
                raise _too_big(f"{left} ** {right} has more than {MAX_INT_BITS:,} bits")
        return left**right
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, (str, list, tuple)) and _whole(times) and len(seq) * times > MAX_SIZE:
                raise _too_big(
                    f"repeating {len(seq):,} {'characters' if isinstance(seq, str) else 'items'} {times:,} times"
                )
        return left * right
    if operator == "%":
        if isinstance(left, str):
            check_format(left)
            return check_size(left % right, "a formatted text")
        return left % right
    raise ValueError(f"operator {operator!r} is not bounded here")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


SIZE_FILTERS = frozenset({"center", "indent", "wordwrap", "truncate", "batch", "slice"})
"""Jinja filters whose number arguments set how big the result is."""


def bounded(fn: Callable[..., Any], name: str, rt_of: Callable[[], Any]) -> Callable[..., Any]:
    """A Jinja filter or callable, charged to the budget and kept within the size limits."""

    def call(*args: Any, **kwargs: Any) -> Any:
        charge(rt_of())
        if name in SIZE_FILTERS:
            for value in list(args[1:]) + list(kwargs.values()):
                check_number(value, f"{name}() argument")
        if args and isinstance(args[0], str):
            if name == "format":
                check_format(args[0])
            elif name == "replace" and len(args) >= 3 and isinstance(args[1], str) and isinstance(args[2], str):
                check_replace(args[0], args[1], args[2], args[3] if len(args) > 3 and _whole(args[3]) else -1)
        return check_size(fn(*args, **kwargs), f"{name}() made a value")

    return call


def counted(values: Iterable[Any], rt: Any) -> Iterator[Any]:
    """`values`, one budget step each: what a template's `{% for %}` loops over."""
    for value in values:
        charge(rt)
        yield value


def nesting(text: str) -> int:
    """The deepest bracket nesting of `text`, not counting brackets inside quotes."""
    depth = deepest = 0
    quote = ""
    for ch in text:
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def tree_depth(root: Any, children: Callable[[Any], Iterable[Any]]) -> int:
    """The depth of a parsed expression (iteratively: a deep one must not exhaust the stack)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children(node))
    return deepest
