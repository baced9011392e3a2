"""`joist onboard`: the onboarding wizard in the terminal, over `engine.onboarding.steps`.

Interactive (click prompts) or scripted (`--answers FILE`, `engine.onboarding.answers`);
both run the same steps, and a step already settled is not asked again: stop at any
point and `joist onboard` goes on from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from connectors.base import AuthError
from connectors.oauth_redirect import REDIRECT_PORT
from engine.onboarding.answers import Answers
from engine.onboarding.decisions import Stored
from engine.onboarding.questions import Question
from engine.onboarding.steps import STEPS, Onboarding

Ask = Callable[..., Any]
SIGN_IN_PORT = REDIRECT_PORT  # the redirect address registered with the OAuth apps (0 in tests: any free port)


def _sign_in(wizard: Onboarding, system: str) -> None:
    """The browser sign-in of `joist connect SYSTEM`, from inside the wizard."""
    import sys
    import webbrowser

    from engine.project.connect import connect

    def show(url: str) -> None:
        click.echo(f"Open this address to sign in to {system}:\n  {url}")
        webbrowser.open(url)

    result = connect(wizard.session.project, system, open_url=show, pasted=sys.stdin.readline, port=SIGN_IN_PORT)
    click.echo(result.get("note") or f"connected {system}")
    wizard.session.fresh_connectors()


def _connect(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    signed_in: set[str] = set()
    company = answers.procore_company_id if answers else None
    while True:
        try:
            found = wizard.connect(company)
            break
        except AuthError as exc:  # not signed in yet, or the sign-in was revoked
            if answers is not None or exc.system in signed_in:
                raise
            if not click.confirm(f"{exc.system} needs a sign-in ({exc.message}). Sign in now?", default=True):
                raise
            _sign_in(wizard, exc.system)
            signed_in.add(exc.system)
    others = [c for c in found["procore_companies"] if c[0] != found["procore_company_id"]]
    if answers is None and others:
        listed = ", ".join(f"{cid} ({name})" for cid, name in found["procore_companies"])
        picked = click.prompt(
            f"The sign-in sees these Procore companies: {listed}. Which one to onboard?",
            default=found["procore_company_id"],
            type=click.Choice([str(cid) for cid, _ in found["procore_companies"]]),
            show_choices=False,
        )
        if picked != found["procore_company_id"]:
            found = wizard.connect(picked)
    for change in found.get("changes") or []:
        console.print(f"  joist.yaml: {change}")
    console.print(
        f"[bold]connected[/]: Procore company {found['procore_company']} ({found['procore_company_id']}), "
        f"QBO {found['qbo_company']} (realm {found['qbo_realm_id']})"
    )
    console.print(
        f"  region {found['region']}, tax model: {found['tax_model']}, home currency {found['home_currency']}"
        + (", multicurrency on" if found["multicurrency"] else "")
    )


def _flows(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    select = answers.select if answers else None
    if answers is None:
        text = click.prompt("Flows to run (a selector such as 'tag:master tag:payables'; Enter for all)", default="")
        select = text.strip() or None
    chosen = wizard.flows(select)
    console.print(f"[bold]flows[/]: {len(chosen['flows'])} from packs {', '.join(chosen['packs'])}")


def asks(q: Question) -> bool:
    """Whether the terminal asks this param: required, or with choices, and not answered yet."""
    return not q.answered and (q.required or bool(q.choices))


def _ask_param(q: Question) -> Any:
    click.echo(f"\n{q.name} ({'required' if q.required else 'optional'}; flows {', '.join(q.flows)})")
    if q.description:
        click.echo(f"  {q.description}")
    for record_id, label in q.choices[:30]:
        click.echo(f"    {record_id:>12}  {label}")
    if len(q.choices) > 30:
        click.echo(f"    ... {len(q.choices) - 30} more")
    default = "" if q.current in (None, []) else str(q.current)
    value = click.prompt("  answer (an id; Enter keeps the current value)", default=default, show_default=bool(default))
    return value.strip() or None


def _params(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    if answers is not None:
        given = answers.params
    else:
        given = {}
        asked = wizard.questions()
        for name, value in wizard.regional(asked).items():
            console.print(f"  the QBO company's region sets {name}: {value}")
        for q in asked:
            if asks(q):
                value = _ask_param(q)
                if value is not None:
                    given[q.name] = value
    done = wizard.params(given)
    for change in done["changes"] or ["params: nothing to change"]:
        console.print(f"  joist.yaml: {change}")


def _match(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    threshold = answers.threshold if answers else click.prompt("Accept matches at least this sure", default=0.9)
    found = wizard.match(float(threshold))
    table = Table("link set", "not linked", "with a candidate", "accepted", "to review", "one side only")
    for link_set, n in found["link_sets"].items():
        table.add_row(
            link_set,
            *(str(n[k]) for k in ("unlinked", "with_candidate", "accepted", "to_review", "one_sided")),
        )
    console.print(table)


def _ask_decision(item: Stored) -> dict[str, Any]:
    p = item.proposal
    click.echo(f"\n{p.link_set} {p.source_system} {p.source_id}: {p.label}")
    for n, c in enumerate(p.candidates, 1):
        click.echo(f"  {n}. {c.target_id} {c.label!r}  {c.confidence:.2f}  {c.reason}")
    choice = click.prompt(
        "  a = accept 1, a number = that one, p ID = another record, c = create new, i = ignore",
        default="a",
    ).strip()
    answer: dict[str, Any] = {"link_set": p.link_set, "source_id": p.source_id}
    if choice.isdigit() and 1 <= int(choice) <= len(p.candidates):
        return answer | {"decision": "pick", "target_id": p.candidates[int(choice) - 1].target_id}
    if choice.startswith("p ") and choice[2:].strip():
        return answer | {"decision": "pick", "target_id": choice[2:].strip()}
    return answer | {"decision": {"c": "create", "i": "ignore"}.get(choice, "accept")}


def _review(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    if answers is not None:
        done = wizard.review(answers.review, rest=answers.rest)
    else:
        decided = [_ask_decision(item) for item in wizard.to_review()]
        done = wizard.review(decided, rest="create")
    if done["undecided"]:
        raise click.ClickException(
            f"{done['undecided']} proposed matches are still undecided: decide them under `review:` or set "
            "`rest: create` (or accept, ignore) in the answers file, then run `joist onboard` again"
        )
    console.print(f"[bold]review[/]: {done['decided']} decided")


def _preview(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    found = wizard.preview()
    table = Table("flow", "create", "update", "skip", "other", "sample")
    for flow, data in found["flows"].items():
        c = data["counts"]
        other = sum(n for a, n in c.items() if a not in ("create", "update", "skip"))
        sample = "; ".join(
            f"{action} {row['source_id']}" for action, rows in data["sample"].items() for row in rows[:1]
        )
        table.add_row(flow, str(c.get("create", 0)), str(c.get("update", 0)), str(c.get("skip", 0)), str(other), sample)
    console.print(table)


def _reconcile(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    found = wizard.reconcile()
    console.print(
        f"[bold]reconcile[/] (before going live): {found['equal']} of {found['projects']} linked projects equal, "
        f"{found['mismatched_documents']} linked documents with different totals"
    )
    for p in found["differing"]:
        console.print(f"  differs: {p['name']} ({p['project_id']})")


def _go_live(wizard: Onboarding, console: Console, answers: Answers | None) -> None:
    if answers is not None and not answers.go_live:
        console.print("go_live: false: stopping before the first sync (`joist onboard` runs it later)")
        raise click.exceptions.Exit(0)
    if answers is None and not click.confirm("Run the first sync now?", default=True):
        raise click.exceptions.Exit(0)
    counts: dict[str, int] = {}
    seen: list[str] = []

    def listener(flow: str, outcome: Any) -> None:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
        if not seen or seen[-1] != flow:
            seen.append(flow)
            console.print(f"  {flow} ... ({sum(counts.values())} records so far)")

    found = wizard.go_live(listener)
    totals = ", ".join(f"{a} {n}" for a, n in sorted(found["totals"].items()))
    console.print(f"[bold]first sync[/] {'done' if found['ok'] else 'finished with failures'}: {totals}")
    if not found["ok"]:
        raise click.ClickException("some records failed: `joist failures` lists them; then `joist onboard` again")
    console.print("live: `joist serve` keeps both sides in sync from now on")


RUNNERS: dict[str, Callable[[Onboarding, Console, Answers | None], None]] = {
    "connect": _connect,
    "flows": _flows,
    "params": _params,
    "match": _match,
    "review": _review,
    "preview": _preview,
    "reconcile": _reconcile,
    "go_live": _go_live,
}


def run_wizard(session: Any, console: Console, answers: Answers | None, *, restart: bool = False) -> None:
    """Run every step not settled yet, in order."""
    wizard = Onboarding(session)
    if restart:
        wizard.reset(STEPS[0])
    settled = wizard.settled()
    for step in STEPS:
        if step in settled:
            console.print(f"[dim]{step}: settled earlier[/]")
            continue
        console.rule(step)
        RUNNERS[step](wizard, console, answers)
    console.print("onboarding complete")
