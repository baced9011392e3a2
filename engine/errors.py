"""Every user-facing condition is one exception class with a stable code.

Codes: R1xx rule loading, R2xx expressions, R3xx graph, M4xx mapping and runtime,
C5xx connector and API, S6xx state and project. Each error formats itself as::

    rules/payables/bills.yaml:14:3  R104 unknown key 'feilds'
      at flow commitment_invoices_to_bills
      did you mean 'fields'?  allowed here: description, direction, ...
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a file something stands (1-based line and column)."""

    file: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


def suggest(word: str, choices: Iterable[str], n: int = 1) -> list[str]:
    """The closest `n` of `choices` to `word` (difflib), best first."""
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.6)


class JoistError(Exception):
    """Base of every error Joist reports to a user. Never shown with a traceback."""

    code: str = "E000"
    exit_code: int = 1

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        path: str | None = None,
        hint: str | None = None,
        allowed: Sequence[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location or Location()
        self.path = path
        self.hint = hint
        self.allowed = list(allowed) if allowed else []

    def each(self) -> list[JoistError]:
        """The conditions this error stands for, one error each: itself (a group: its errors)."""
        return [self]

    def sort_key(self) -> tuple[str, int, int, str]:
        loc = self.location
        return (loc.file or "", loc.line or 0, loc.col or 0, self.code)

    def format(self) -> str:
        """The full message: `file:line:col  CODE message`, then path, hint, allowed."""
        head = f"{self.code} {self.message}"
        if self.location.file or self.location.line:
            head = f"{self.location}  {head}"
        lines = [head]
        if self.path:
            lines.append(f"  at {self.path}")
        tail = []
        if self.hint:
            tail.append(self.hint)
        if self.allowed:
            tail.append("allowed here: " + ", ".join(self.allowed))
        if tail:
            lines.append("  " + "  ".join(tail))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "code": self.code,
            "message": self.message,
            "file": loc.file,
            "line": loc.line,
            "col": loc.col,
            "path": self.path,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        return self.format()


class ErrorGroup(JoistError):
    """Several errors found in one pass; reported together, sorted by place."""

    code = "R100"

    def __init__(self, errors: Sequence[JoistError]) -> None:
        self.errors = sorted(errors, key=lambda e: e.sort_key())
        super().__init__(f"{len(self.errors)} error(s)")

    def each(self) -> list[JoistError]:
        return list(self.errors)

    def format(self) -> str:
        return "\n".join(e.format() for e in self.errors)
