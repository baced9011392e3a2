"""Printing plans, sync summaries, status and failures for people (rich)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.language import jsonio
from engine.sync.report import ACTIONS, FlowReport, RunReport

MAX_LISTED = 50


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else jsonio.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def print_plan(report: RunReport, console: Console) -> None:
    """Per flow: every create, update (field by field), lock, deferral and error; skips counted."""
    for flow in report.flows:
        if flow.disabled:
            console.print(f"[bold]{flow.flow}[/]  [dim]off ({flow.disabled})[/]")
            continue
        counts = ", ".join(f"{flow.counts[a]} {a}" for a in ACTIONS if flow.counts[a])
        console.print(f"[bold]{flow.flow}[/]  {counts or 'nothing to do'}")
        for outcome in flow.outcomes[:MAX_LISTED]:
            tag = {
                "create": "[green]+ create[/]",
                "update": "[yellow]~ update[/]",
                "lock": "[magenta]# locked[/]",
                "defer": "[cyan]… defer[/]",
                "error": "[red]! error[/]",
                "delete": "[red]- delete[/]",
                "adopt": "[blue]= adopt[/]",
            }.get(outcome.action, outcome.action)
            target = (
                f" -> {outcome.entity or ''} {outcome.target_id or ''}".rstrip()
                if (outcome.entity or outcome.target_id)
                else ""
            )
            console.print(
                f"  {tag} {outcome.source_id}{target}" + (f"  [dim]{outcome.reason}[/]" if outcome.reason else ""),
                highlight=False,
            )
            if outcome.action == "create" and outcome.payload:
                for path, value in list(_flatten(outcome.payload))[:12]:
                    console.print(f"      {path} = {_short(value)}", highlight=False)
            for change in outcome.changes[:20]:
                console.print(f"      {change.path}: {_short(change.old)} -> {_short(change.new)}", highlight=False)
        if len(flow.outcomes) > MAX_LISTED:
            console.print(f"  ... and {len(flow.outcomes) - MAX_LISTED} more (use --json for all)")
        for reason, n in flow.skip_reasons.most_common():
            console.print(f"  [dim]{n} skipped: {reason}[/]", highlight=False)


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flatten(sub, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, sub in enumerate(value):
            yield from _flatten(sub, f"{prefix}[{i}]")
    else:
        yield prefix, value


def summary_table(report: RunReport) -> Table:
    """One row per flow: counts by action."""
    table = Table(
        title=f"{report.command} summary" + (f" (run {report.run_id})" if report.run_id else ""), header_style="bold"
    )
    table.add_column("flow")
    for action in ACTIONS:
        table.add_column(action, justify="right")
    for flow in report.flows:
        if flow.disabled:
            table.add_row(flow.flow, *["-" for _ in ACTIONS])
            continue
        table.add_row(flow.flow, *[_cell(flow, a) for a in ACTIONS])
    totals = report.totals()
    table.add_row("[bold]total[/]", *[f"[bold]{totals[a]}[/]" if totals[a] else "" for a in ACTIONS])
    return table


def _cell(flow: FlowReport, action: str) -> str:
    n = flow.counts[action]
    if not n:
        return ""
    return f"[red]{n}[/]" if action == "error" else str(n)


def interrupted_line(command: str, started: list[str]) -> str:
    """The one line a Ctrl-C during `sync` or `retry` leaves: what was finished, and that a re-run completes it."""
    if not started:
        done = "before any flow had started"
    else:
        finished = len(started) - 1
        done = f"in flow {started[-1]}" + (
            f", after {finished} flow{'s' if finished != 1 else ''} had finished" if finished else ""
        )
    return (
        f"interrupted {done}; every write so far is recorded: `joist {command}` again completes the rest "
        "without duplicating anything"
    )


def failures_table(failures: Iterable[Any]) -> Table:
    table = Table(header_style="bold", show_lines=False)
    for column in ("flow", "record", "code", "tries", "what is wrong", "how to fix it"):
        table.add_column(column, overflow="fold")
    for f in failures:
        table.add_row(f.flow, f.source_id, f.code, str(f.attempts), f.message, f.hint or "")
    return table
