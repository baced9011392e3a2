"""`joist flow enable|disable NAME`: the project's own switch of a flow (joist.yaml's `flows:`)."""

from __future__ import annotations

import click

from engine.project.session import Session
from engine.project.switches import dependents, set_switch
from web.accounts import Accounts


@click.group("flow")
def flow_group() -> None:
    """Switch a flow off or on in this project, whatever its rule's `enabled:` says.

    The switch is written to joist.yaml (`flows: {NAME: {enabled: false}}`); plan, sync,
    retry and `joist serve` skip a flow that is off. The change is written to the
    dashboard's audit log.

    \b
    Examples:
      joist flow disable bills_to_requisitions
      joist flow enable bills_to_requisitions
    """


def _switch(ctx: click.Context, flow: str, on: bool) -> None:
    with Session.open(ctx.find_root().meta.get("joist.project")) as session:
        changed = set_switch(session.project, session.ruleset, flow, on)
        if changed:
            Accounts(session.state).audit("joist flow", "flow.enable" if on else "flow.disable", flow, "joist.yaml")
        reason = None if not on else _rule_off(session, flow)
        after = dependents(session.ruleset, flow) if not on else []
    state = "on" if on else "off"
    click.echo(f"{flow} is {state}" + ("" if changed else " already") + " in joist.yaml")
    if reason:
        click.echo(f"note: its rule still keeps it off ({reason})")
    if after:
        click.echo(
            f"flows that depend on it: {', '.join(after)}; their records that need {flow}'s links wait until it is on"
        )


def _rule_off(session: Session, flow: str) -> str | None:
    """Why the rule itself keeps `flow` off with the project's params (None: it runs)."""
    from engine.sync.run import Sync

    sync = Sync(session.ruleset, {}, session.state, params=session.project.params)
    return sync.enabled(session.ruleset.rules[flow])


@flow_group.command("disable")
@click.argument("name")
@click.pass_context
def disable_flow(ctx: click.Context, name: str) -> None:
    """Switch the flow NAME off in this project."""
    _switch(ctx, name, False)


@flow_group.command("enable")
@click.argument("name")
@click.pass_context
def enable_flow(ctx: click.Context, name: str) -> None:
    """Switch the flow NAME back on (its rule's own `enabled:` decides again)."""
    _switch(ctx, name, True)
