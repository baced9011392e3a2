"""`joist reconcile` in the terminal: the command, and the reports drawn as rich tables."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from engine.language import jsonio
from engine.project.session import Session, session_params
from engine.reports.figures import money_text
from engine.reports.job_cost import CostReconciliation, reconcile_session_costs
from engine.reports.reconcile import Figure, Reconciliation, reconcile


def _verdict(fig: Figure) -> str:
    if fig.not_compared is not None:
        return f"[yellow]not compared[/]: {fig.not_compared}"
    return "equal" if fig.equal else "[red]DIFFERS[/]"


def render(report: Reconciliation, console: Console) -> None:
    """The report as tables, one per project, then the documents whose totals differ."""
    for project in report.projects:
        foreign = project.currency != project.home_currency
        title = f"{project.name}  (QBO customer {project.customer_id or 'not linked'})"
        if foreign:
            title += f"  in {project.currency}, QBO's home currency {project.home_currency}"
        table = Table(title=title, header_style="bold")
        columns = [("figure", "left"), ("Procore", "right"), ("QBO", "right"), ("difference", "right")]
        if foreign:
            columns.append((f"QBO ({project.home_currency})", "right"))
        for column, justify in (*columns, ("", "left")):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for fig in project.figures:
            home = [money_text(fig.qbo_home) if fig.qbo_home is not None else ""] if foreign else []
            table.add_row(
                fig.name,
                money_text(fig.procore),
                money_text(fig.qbo),
                money_text(fig.difference),
                *home,
                _verdict(fig),
            )
        console.print(table)
    for m in report.mismatches:
        console.print(
            f"[red]{m.label}[/] (link set {m.link_set}, procore {m.procore_id}): QBO total "
            f"{money_text(m.qbo)}, Procore {money_text(m.procore)}, difference {money_text(m.difference)}",
            highlight=False,
        )
    for warning in report.warnings:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    console.print("[green]every total matches to the cent[/]" if report.ok else "[red]totals differ: see above[/]")


def render_costs(report: CostReconciliation, console: Console) -> None:
    """The section as one table (project, cost code, Procore, QBO, difference), then the leftovers."""
    table = Table(title="Job cost per project and cost code", header_style="bold")
    for column, justify in (
        ("project", "left"),
        ("cost code", "left"),
        ("Procore", "right"),
        ("QBO", "right"),
        ("difference", "right"),
        ("", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in report.rows:
        table.add_row(
            r.project,
            r.cost_code or "(none)",
            money_text(r.procore),
            money_text(r.qbo),
            money_text(r.difference),
            "equal" if r.equal else "[red]DIFFERS[/]",
        )
    console.print(table)
    for u in report.unassigned:
        console.print(
            f"[red]QBO {u.entity} {u.qbo_id}[/]: {money_text(u.amount)} on customer {u.customer_id}, "
            f"which is not linked to a Procore project (joist link projects <procore id> {u.customer_id})",
            highlight=False,
        )
    console.print("[green]job cost matches to the cent[/]" if report.ok else "[red]job cost differs: see above[/]")


@click.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.pass_context
def reconcile_command(ctx: click.Context, as_json: bool) -> None:
    """Per project: contract value, billed, retainage held and paid in Procore and QBO, side by side.

    Also committed, billed by subcontractors and retainage payable, every linked document
    whose QBO total differs from its Procore total, and, when the project syncs job costs
    (a flow tagged `costs`), job cost per project and cost code. Exits with 1 when anything
    differs, so a scheduled job can alert on it.

    \b
    Example:
      joist reconcile
      joist reconcile --json > month-end.json
    """
    with Session.open(ctx.find_root().meta.get("joist.project")) as session:
        connectors = session.connectors({"procore", "qbo"})
        report = reconcile(connectors["procore"], connectors["qbo"], session.state, session_params(session))
        costs = None
        if any("costs" in rule.tags for rule in session.ruleset.rules.values()):
            costs = reconcile_session_costs(session)
    ok = report.ok and (costs is None or costs.ok)
    if as_json:
        doc = report.to_dict()
        if costs is not None:
            doc["costs"] = costs.to_dict()
        doc["ok"] = ok
        click.echo(jsonio.dumps(doc, indent=2))
    else:
        console = Console(width=None if sys.stdout.isatty() else 160)
        render(report, console)
        if costs is not None:
            render_costs(costs, console)
    ctx.exit(0 if ok else 1)
