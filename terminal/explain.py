"""Printing `joist explain FLOW ID` for people: one short block per target field, 80 columns wide.

A table of six columns folds every cell to a few characters on an 80-column terminal, so
each field is a block instead: the field and the value Joist would write (and the twin's,
when it differs), then where it is defined, the list element it came from, the
expression and the source values it read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from engine.language import jsonio
from engine.mapping.diff import same

__all__ = ["print_explanation", "short", "place"]

WIDTH = 70


def short(value: Any, width: int = WIDTH) -> str:
    """A value as JSON-ish text, cut to `width` characters."""
    text = value if isinstance(value, str) else jsonio.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def place(defined_at: str) -> str:
    """Where a field is defined, short: relative to the working folder, or from the pack's folder on."""
    path, _, position = defined_at.partition(":")
    try:
        shown = str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = path.rsplit("/rules/", 1)[-1] if "/rules/" in path else path
    return f"{shown}:{position}" if position else shown


def _twin_note(field: dict[str, Any], linked: bool) -> str:
    if not linked:
        return ""
    if same(field["value"], field["twin"]) or field["value"] == field["twin"]:
        return "  [dim](twin: same)[/]"
    return f"  [yellow](twin now: {escape(short(field['twin'], 30))})[/]"


def print_explanation(doc: dict[str, Any], console: Console) -> None:
    """The explanation `engine.reports.explain.explain` returns, as blocks that read well at 80 columns."""
    console.print(f"[bold]{escape(doc['flow'])}[/]  ({doc['outcome']})", highlight=False)
    console.print(f"  from {escape(doc['source'])}", highlight=False)
    console.print(f"  to   {escape(doc['target'])}", highlight=False)
    if doc.get("reason"):
        console.print(f"  [dim]{escape(str(doc['reason']))}[/]", highlight=False)
    if doc["locked"]:
        console.print(f"  [magenta]locked: {escape(str(doc['lock_reason']))}[/]", highlight=False)
    for warning in doc.get("warnings") or []:
        console.print(f"  [yellow]warning: {escape(str(warning))}[/]", highlight=False)
    linked = bool(doc.get("linked"))
    for field in doc["fields"]:
        console.print("")
        value = escape(short(field["value"], 40))
        console.print(f"[bold]{escape(field['field'])}[/] = {value}{_twin_note(field, linked)}", highlight=False)
        console.print(f"  [dim]{escape(field['layer'])}  {escape(place(field['defined_at']))}[/]", highlight=False)
        if field.get("item"):
            console.print(f"  [cyan]for {escape(field['item'])}[/]", highlight=False)
        console.print(f"  {escape(short(field['expression']))}", highlight=False)
        for name, read in field["reads"].items():
            console.print(f"  [dim]reads[/] {escape(name)} = {escape(short(read, 40))}", highlight=False)
