"""Printing plans, sync summaries, status and failures for people (rich)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from engine.language import jsonio
from engine.sync.report import ACTIONS, FlowReport, RunReport

MAX_LISTED = 50


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else jsonio.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def upstream_note(flow: FlowReport) -> str:
    """Why a flow's records may wait: flows it depends on are off."""
    names = ", ".join(flow.upstream_off)
    return f"{flow.flow} depends on {names}, which {'is' if len(flow.upstream_off) == 1 else 'are'} off: its records that need their links wait."


def print_plan(report: RunReport, console: Console, *, verbose: bool = False) -> None:
    """Per flow: every create, update (field by field), lock, deferral and error; skips counted.

    Flows with nothing to do (or off) are one line at the end unless `verbose`; the last
    line is the total, as Terraform prints it.
    """
    idle: list[str] = []
    for flow in report.flows:
        if flow.disabled:
            if verbose:
                console.print(f"[bold]{flow.flow}[/]  [dim]off ({flow.disabled})[/]", highlight=False)
            else:
                idle.append(flow.flow)
            continue
        counts = ", ".join(f"{flow.counts[a]} {a}" for a in ACTIONS if flow.counts[a])
        if not verbose and not _did_something(flow):
            idle.append(flow.flow)
            continue
        console.print(f"[bold]{flow.flow}[/]  {counts or 'nothing to do'}", highlight=False)
        if flow.upstream_off:
            console.print(f"  [dim]{upstream_note(flow)}[/]", highlight=False)
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
    if idle:
        console.print(
            f"[dim]{len(idle)} flow{'s' if len(idle) != 1 else ''} with nothing to do or off (--verbose lists them)[/]",
            highlight=False,
        )
    console.print(f"[bold]{plan_total_line(report)}[/]", highlight=False)


def _flatten(value: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _flatten(sub, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for i, sub in enumerate(value):
            yield from _flatten(sub, f"{prefix}[{i}]")
    else:
        yield prefix, value


ACTIVE = tuple(a for a in ACTIONS if a != "skip")  # what counts as a flow doing something
LEGEND = "blank: none.  -: the flow is off (its `enabled:` is false)."


def _did_something(flow: FlowReport) -> bool:
    return flow.disabled is None and any(flow.counts[a] for a in ACTIVE)


SHORT = {"create": "new", "update": "upd", "delete": "del", "defer": "wait", "error": "err"}


def _columns(names: list[str], totals: Any, actions: list[str], width: int) -> tuple[list[str], dict[str, str]]:
    """The action columns and their headers that fit `width` next to the full flow names.

    Full headers when they fit, else short ones (`new`, `upd`, ...), else without the
    skip column: the flow names themselves are never cut.
    """
    name_width = max([len(n) for n in names] + [5])

    def needed(cols: list[str], heads: dict[str, str]) -> int:
        return name_width + sum(max(len(heads.get(a, a)), len(str(totals[a]))) + 1 for a in cols)

    if needed(actions, {}) <= width:
        return actions, {}
    if needed(actions, SHORT) <= width or "skip" not in actions:
        return actions, SHORT
    return [a for a in actions if a != "skip"], SHORT


def summary_table(report: RunReport, *, verbose: bool = False, width: int = 80) -> Table | None:
    """One row per flow that did something (every flow with `verbose`), counts by action.

    Only the actions some flow had get a column, and flow names are never cut: the table
    fits `width` columns (80 for a plain terminal). None when no flow did anything.
    """
    shown = [f for f in report.flows if verbose or _did_something(f)]
    if not shown:
        return None
    totals = report.totals()
    wanted = [a for a in ACTIONS if totals[a]] or ["create"]
    actions, heads = _columns([f.flow for f in shown], totals, wanted, width)
    table = Table(
        title=f"{report.command} summary" + (f" (run {report.run_id})" if report.run_id else ""),
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=0,
    )
    table.add_column("flow", no_wrap=True, min_width=max(len(f.flow) for f in shown))
    for action in actions:
        table.add_column(heads.get(action, action), justify="right", no_wrap=True)
    for flow in shown:
        if flow.disabled:
            table.add_row(flow.flow, *["-" for _ in actions])
            continue
        table.add_row(flow.flow, *[_cell(flow, a) for a in actions])
    table.add_row("[bold]total[/]", *[f"[bold]{totals[a]}[/]" if totals[a] else "" for a in actions])
    return table


def print_summary(report: RunReport, console: Console, *, verbose: bool = False) -> None:
    """The summary table, what blank and `-` mean in it, and how many flows it leaves out."""
    table = summary_table(report, verbose=verbose, width=console.width)
    quiet = len(report.flows) - sum(1 for f in report.flows if verbose or _did_something(f))
    if table is None:
        console.print(
            f"{report.command}: nothing to do in {len(report.flows)} flow{'s' if len(report.flows) != 1 else ''} "
            "(--verbose lists them)",
            highlight=False,
        )
        return
    console.print(table)
    totals = report.totals()
    notes = [LEGEND if verbose and any(f.disabled for f in report.flows) else "blank: none."]
    if any(c.header in SHORT.values() for c in table.columns):
        notes.append("new/upd/del: created/updated/deleted; wait: waiting for a link; err: failed.")
    if "skip" in [a for a in ACTIONS if totals[a]] and not any(c.header == "skip" for c in table.columns):
        notes.append(f"{totals['skip']} skipped (unchanged or filtered out) in all.")
    notes += [upstream_note(f) for f in report.flows if f.upstream_off and not f.disabled]
    if quiet:
        notes.append(f"{quiet} more flow{'s' if quiet != 1 else ''} had nothing to do (--verbose lists them).")
    for note in notes:
        console.print(f"[dim]{note}[/]", highlight=False)


def _cell(flow: FlowReport, action: str) -> str:
    n = flow.counts[action]
    if not n:
        return ""
    return f"[red]{n}[/]" if action == "error" else str(n)


def plan_total_line(report: RunReport) -> str:
    """Terraform's last line for a plan: `Plan: 12 to create, 3 to update, 0 to delete, 2 locked.`"""
    t = report.totals()
    parts = [f"{t['create']} to create", f"{t['update']} to update", f"{t['delete']} to delete", f"{t['lock']} locked"]
    extra = {"adopt": "to adopt", "defer": "waiting for a link", "error": "with errors"}
    parts += [f"{t[a]} {words}" for a, words in extra.items() if t[a]]
    return "Plan: " + ", ".join(parts) + "."


def run_verdict(report: RunReport, elapsed: float) -> str:
    """The last line of a sync or retry: how long it took, what it wrote, and whether all went well."""
    t = report.totals()
    written = t["create"] + t["update"] + t["adopt"] + t["delete"]
    head = f"{report.command} finished in {elapsed:.1f} s: {written} record{'s' if written != 1 else ''} written"
    if t["defer"]:
        head += f", {t['defer']} waiting for a link"
    if t["error"]:
        return f"{head}; {t['error']} failed: `joist failures` says why and how to fix each, `joist retry` reruns them."
    return f"{head}; nothing failed."


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
