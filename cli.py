"""`joist`: the command line. Thin: parses, calls the engine, prints.

Exit codes: 0 ok, 1 a user error (bad rule, failed records), 2 an internal error.
A user mistake never shows a traceback; `--debug` shows it.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from engine.errors import JoistError

# Commands whose modules are heavy (uvicorn) or live with the feature they serve.
LAZY_COMMANDS = {
    "sandbox": ("terminal.sandbox_cli", "sandbox_group"),
    "reconcile": ("terminal.reconcile", "reconcile_command"),
    "serve": ("terminal.serve_cli", "serve_command"),
    "user": ("terminal.users_cli", "user_group"),
    "connections": ("terminal.connections_cli", "connections_group"),
    "worker": ("terminal.worker_cli", "worker_command"),
    "flow": ("terminal.flows_cli", "flow_group"),
}


def _available(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


class JoistGroup(click.Group):
    """Turns JoistErrors into their formatted message and exit code 1; anything else is exit 2.

    Command groups with heavy imports (the sandboxes pull in uvicorn) load on first use.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | {n for n, (m, _) in LAZY_COMMANDS.items() if _available(m)})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands and _available(LAZY_COMMANDS[name][0]):
            import importlib

            module, attr = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JoistError as exc:
            if ctx.meta.get("joist.debug"):
                raise
            click.echo(exc.format(), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # an internal error: say so, and how to see more
            if ctx.meta.get("joist.debug"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc}\n  run again with --debug for the traceback", err=True
            )
            ctx.exit(2)


@click.group(cls=JoistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=True),
    default=None,
    help="The joist.yaml (or its folder). Default: searched upward from here.",
)
@click.version_option(package_name="joist")
@click.pass_context
def main(ctx: click.Context, debug: bool, project_dir: str | None) -> None:
    """Joist keeps Procore and QuickBooks Online in sync, one YAML rule per flow.

    \b
    Start here:
      joist sandbox up --project demo --background   # local sandboxes and a ready project
      cd demo && joist plan                          # what a sync would do, field by field
      joist sync                                     # do it
    """
    ctx.meta["joist.debug"] = debug
    ctx.meta["joist.project"] = project_dir


rules_option = click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(),
    help="A rules folder or file; repeat for layers (earliest first). Default: the packs of joist.yaml, else ./rules.",
)
select_option = click.option(
    "--select",
    "-s",
    "selector",
    default=None,
    help="dbt-style: name, +name, name+, tag:x, path:dir; space = or, comma = and.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
wait_option = click.option(
    "--wait",
    "lock_wait",
    type=click.FloatRange(min=0),
    default=None,
    metavar="SECONDS",
    help="How long to wait for another run holding the project (default: runs.lock_wait in joist.yaml, 30).",
)
verbose_option = click.option("--verbose", "-v", is_flag=True, help="List every flow, also those with nothing to do.")


def _workspace(rule_paths: tuple[str, ...]) -> Any:
    """The rules a command works on: `--rules`, else the `--project` (or found) project's packs."""
    from engine.project.workspace import resolve

    ctx = click.get_current_context(silent=True)
    project = ctx.find_root().meta.get("joist.project") if ctx is not None else None
    return resolve(rule_paths, project)


def _root(ws: Any) -> Any:
    """Where `path:` selectors are relative to: the project's folder, else here."""
    return ws.project.root if ws.project is not None else None


def _param_problems(project: Any, layers: Any, ruleset: Any) -> list[Any]:
    """joist.yaml's params against the project's rules: required ones unset, unknown names."""
    from engine.language.loading import load_rules
    from engine.project.config import display_path
    from engine.project.params import check_params

    rules = ruleset if ruleset is not None else load_rules(layers)
    return check_params(rules, project.params, display_path(project.file), locations=project.param_locations)


def _echo_json(value: Any) -> None:
    from engine.language import jsonio

    click.echo(jsonio.dumps(value, indent=2))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@json_option
@click.option(
    "--explain-compile",
    is_flag=True,
    help="Also list the field and where expressions not compiled into their rule's Python, and why.",
)
def validate(paths: tuple[str, ...], as_json: bool, explain_compile: bool) -> None:
    """Check rule files (schema, entities and fields, expressions, dependencies) and their tests.

    PATHS are rule folders or files, one layer each (default: the project's packs).
    Rule tests (*.test.yaml) in them are checked too, and the fixture files they read.
    Every problem is reported, sorted by file and line; exit code 1 if there is any.

    \b
    Examples:
      joist validate
      joist validate rules/payables
      joist validate rules examples/acme/rules     # a base pack and an override layer
      joist validate --explain-compile             # which expressions run on an interpreter
    """
    from engine.errors import ErrorGroup
    from engine.language.flowcache import validation
    from engine.project.workspace import resolve_layers
    from engine.testing.plugin import check_test_files

    try:
        ctx = click.get_current_context()
        layers, _project = resolve_layers(paths, ctx.find_root().meta.get("joist.project"))
        summary, ruleset = validation(layers)
        if _project is not None:
            from engine.project.switches import check_switches

            check_switches(_project, summary["flows"])
        n_tests, problems = check_test_files([p for _, layer in layers for p in layer], summary["flows"])
        if _project is not None and not problems:
            problems = _param_problems(_project, layers, ruleset)
        if problems:
            raise ErrorGroup(problems)
        if explain_compile and ruleset is None:
            from engine.language.loading import load_rules

            ruleset = load_rules(layers)
    except ErrorGroup as group:
        if as_json:
            _echo_json({"ok": False, "errors": [e.to_dict() for e in group.errors]})
            raise click.exceptions.Exit(1)
        raise
    compiled: dict[str, Any] | None = None
    if explain_compile and ruleset is not None:
        from dataclasses import asdict

        from engine.mapping.codegen import compile_report

        total, notes = compile_report(ruleset.rules.values())
        compiled = {"expressions": total, "fallbacks": [asdict(n) for n in notes]}
    if as_json:
        out: dict[str, Any] = {
            "ok": True,
            "flows": summary["flows"],
            "warnings": [as_dict for _text, as_dict in summary["warnings"]],
        }
        if compiled is not None:
            out["compile"] = compiled
        _echo_json(out)
        return
    for text, _as_dict in summary["warnings"]:
        click.echo("warning: " + text, err=True)
    n = len(summary["flows"])
    click.echo(
        f"ok: {n} flow{'s' if n != 1 else ''} in {len(layers)} layer{'s' if len(layers) != 1 else ''}, "
        f"{summary['lookups']} lookup table(s), {n_tests} rule test file(s)"
    )
    if compiled is not None:
        fallbacks = compiled["fallbacks"]
        click.echo(
            f"compiled: {compiled['expressions'] - len(fallbacks)} of {compiled['expressions']} field and where expressions "
            f"written out as Python; {len(fallbacks)} run on their evaluator:"
        )
        for note in fallbacks:
            click.echo(f"  {note['location']}  {note['reason']}\n      {note['expression']}")


@main.command("ls")
@rules_option
@select_option
@json_option
def list_flows(rule_paths: tuple[str, ...], selector: str | None, as_json: bool) -> None:
    """List flows in run order: direction, source and target, links, tags.

    \b
    Examples:
      joist ls
      joist ls --select tag:payables
      joist ls --select +commitment_invoices_to_bills
    """
    from engine.language.graph import build_graph, select
    from terminal.rules import rule_row

    ws = _workspace(rule_paths)
    graph = build_graph(ws.ruleset)
    flows = select(graph, selector, root=_root(ws))
    rows = [rule_row(ws.ruleset.rules[f]) for f in flows]
    if as_json:
        _echo_json(rows)
        return
    import sys

    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("flow", "direction", "source", "target", "links", "tags"):
        table.add_column(column, no_wrap=True)
    for r in rows:
        table.add_row(r["flow"], r["direction"], r["source"], r["target"], r["links"], ",".join(r["tags"]))
    Console(width=None if sys.stdout.isatty() else 240).print(table)


@main.command()
@rules_option
@select_option
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "mermaid"]), default="text", show_default=True)
def graph(rule_paths: tuple[str, ...], selector: str | None, fmt: str) -> None:
    """Show the dependency graph of flows (edges from depends_on and ref()).

    \b
    Examples:
      joist graph
      joist graph --format dot | dot -Tsvg > flows.svg
      joist graph --select +commitment_invoices_to_bills --format mermaid
    """
    from engine.language.graph import build_graph, select
    from terminal.rules import graph_dot, graph_mermaid, graph_text

    ws = _workspace(rule_paths)
    g = build_graph(ws.ruleset)
    flows = select(g, selector, root=_root(ws))
    click.echo({"text": graph_text, "dot": graph_dot, "mermaid": graph_mermaid}[fmt](g, flows))


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--params")
        key, value = pair.split("=", 1)
        params[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return params


@main.command("map")
@click.argument("flow")
@click.option(
    "--input",
    "-i",
    "input_path",
    type=click.Path(allow_dash=True),
    default="-",
    show_default=True,
    help="Records as JSON lines ('-' reads standard input).",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    type=click.Path(allow_dash=True),
    default="-",
    show_default=True,
    help="Where the mapped JSON lines go.",
)
@click.option(
    "--links",
    "links_path",
    type=click.Path(exists=True, dir_okay=False),
    help='A JSON file {"link_set": {"source id": "target id"}} for ref().',
)
@click.option("--params", "-p", "param_pairs", multiple=True, metavar="KEY=VALUE", help="Set a param (repeatable).")
@rules_option
def map_command(
    flow: str,
    input_path: str,
    output_path: str,
    links_path: str | None,
    param_pairs: tuple[str, ...],
    rule_paths: tuple[str, ...],
) -> None:
    """Map records through FLOW offline: JSON lines in, one JSON line out per record.

    Nothing is read from or written to any system. Streams, so memory stays flat for
    any input size. Exit code 1 if any record failed to map. Only FLOW and the flows it
    needs are loaded and checked; what they compile to is cached by file content in
    ~/.cache/joist (or $JOIST_CACHE_DIR), so the next start skips the rule files.

    \b
    Examples:
      joist map commitment_invoices_to_bills -i requisitions.jsonl -o bills.jsonl
      joist map companies_to_vendors -i vendors.jsonl --links links.json -p owner_group=Clients
    """
    import sys
    from pathlib import Path

    from engine.mapping.stream import BadLinksFile, map_stream, parse_links
    from engine.project.workspace import resolve_flow

    ctx = click.get_current_context()
    ws = resolve_flow(flow, rule_paths, ctx.find_root().meta.get("joist.project"))
    rule = ws.ruleset[flow]
    links: dict[str, dict[str, str]] = {}
    if links_path:
        try:
            links = parse_links(Path(links_path).read_bytes(), links_path)
        except OSError as exc:
            raise BadLinksFile(f"{links_path}: cannot read it: {exc.strerror}", hint="check its permissions") from None
    params = {**ws.params, **_parse_params(param_pairs)}
    # Bytes in: each line is decoded as UTF-8 on its own, so a bad line is one error line
    # and undecodable bytes never reach the output.
    src = sys.stdin.buffer if input_path == "-" else open(input_path, "rb")
    dst = sys.stdout if output_path == "-" else open(output_path, "w", encoding="utf-8")
    try:
        counts = map_stream(
            rule, src, dst, links=links, params=params, lookups=ws.ruleset.lookups, input_name=input_path
        )
    finally:
        if src is not sys.stdin.buffer:
            src.close()
        if dst is not sys.stdout:
            dst.close()
    click.echo(
        f"{counts.total} records: {counts.mapped} mapped, {counts.skipped} skipped, "
        f"{counts.deferred} deferred, {counts.error} failed",
        err=True,
    )
    for message in counts.errors[:5]:
        click.echo(message, err=True)
    if counts.error:
        raise click.exceptions.Exit(1)


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--update", is_flag=True, help="Write new snapshots for cases whose output changed.")
@click.option("--select", "-s", "selector", default=None, help="Only the tests of these flows (a selector).")
@click.option("-k", "keyword", default=None, help="Only cases whose name matches (pytest -k).")
def test_command(paths: tuple[str, ...], update: bool, selector: str | None, keyword: str | None) -> None:
    """Run rule tests (*.test.yaml beside the rules) and compare snapshots.

    \b
    Examples:
      joist test
      joist test --select tag:payables
      joist test rules/payables --update
    """
    from pathlib import Path

    import pytest

    from engine.testing.plugin import TEST_SUFFIXES

    targets = [Path(p) for p in paths]
    if not targets:
        ws = _workspace(())
        targets = [p for _, layer_paths in ws.layers for p in layer_paths]
    if selector:
        from engine.language.graph import build_graph, select

        ws = _workspace(())
        flows = set(select(build_graph(ws.ruleset), selector, root=_root(ws)))
        files = [
            f
            for t in targets
            for f in (Path(t).rglob("*") if Path(t).is_dir() else [Path(t)])
            if f.name.endswith(TEST_SUFFIXES) and _test_flow(f) in flows
        ]
        if not files:
            raise click.ClickException(f"no rule tests for the flows selected by {selector!r}")
        targets = files
    args = [str(t) for t in targets] + ["-q", "-p", "no:cacheprovider", "--rootdir", str(Path.cwd())]
    if update:
        args.append("--snapshot-update")
    if keyword:
        args += ["-k", keyword]
    code = pytest.main(args)
    raise click.exceptions.Exit(0 if code == 0 else 1)


def _test_flow(path: Any) -> str | None:
    import yaml

    try:
        return (yaml.safe_load(path.read_text()) or {}).get("rule")
    except yaml.YAMLError:
        return None


def _session(ctx: click.Context) -> Any:
    from engine.project.session import Session

    return Session.open(ctx.find_root().meta.get("joist.project"))


def _console() -> Any:
    import sys

    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 160)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False), default=".")
@click.option("--name", default=None, help="Project name (default: the folder's name).")
@click.option(
    "--region",
    type=click.Choice(["us", "ca", "uk", "au"], case_sensitive=False),
    default=None,
    help="The QBO company's region: sets the packs' qbo_region param (docs/regions.md).",
)
def init(directory: str, name: str | None, region: str | None) -> None:
    """Write a commented starter joist.yaml into DIRECTORY (default: here).

    \b
    Examples:
      joist init
      joist init acme --name acme-construction
      joist init acme --region ca
    """
    from engine.project.writing import init_project

    path = init_project(directory, name=name, region=region)
    click.echo(
        f"wrote {path}\nnext: set the Procore company_id in it; set your OAuth apps' client ids and secrets in the "
        "environment variables it names; then `joist connect procore` and `joist connect qbo` (which fills in "
        "the realm id)"
    )


@main.command()
@select_option
@click.option(
    "--full",
    is_flag=True,
    help="Plan what `sync --full` would do: re-read everything and check that every linked twin still exists.",
)
@json_option
@verbose_option
@click.pass_context
def plan(ctx: click.Context, selector: str | None, full: bool, as_json: bool, verbose: bool) -> None:
    """Show what a sync would do, writing nothing: creates, updates field by field, skips, deferrals, errors.

    Updates a changed rule or param calls for say "rule changed"; a twin gone on the target
    shows as a create that says "twin gone" (with --full, for every linked record).

    \b
    Examples:
      joist plan
      joist plan --full
      joist plan --select tag:payables
      joist plan --select +commitment_invoices_to_bills --json
    """
    _show_waits()
    with _session(ctx) as session:
        report = session.run(selector, dry_run=True, full=full)
    if as_json:
        _echo_json(report.to_dict())
        return
    from terminal.runs import print_plan

    print_plan(report, _console(), verbose=verbose)


class _EchoWaits(logging.Handler):
    """Prints the connectors' log lines (a rate-limit wait and its reset time) on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=True)


def _show_waits() -> None:
    """Print the connectors' waits as they happen (once per process, however many commands run)."""
    logger = logging.getLogger("joist.connectors")
    if not any(isinstance(h, _EchoWaits) for h in logger.handlers):
        logger.addHandler(_EchoWaits(logging.INFO))
        logger.setLevel(logging.INFO)


def _run_with_progress(
    session: Any,
    selector: str | None,
    *,
    full: bool,
    retry_only: bool,
    quiet: bool,
    seen: list[str],
    lock_wait: float | None = None,
) -> Any:
    """Run with a progress line per flow (none when `quiet`); `seen` collects the flows as they start."""
    _show_waits()
    if quiet:

        def note(flow: str, outcome: Any) -> None:
            if not seen or seen[-1] != flow:
                seen.append(flow)

        return session.run(selector, full=full, retry_only=retry_only, listener=note, lock_wait=lock_wait)
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    flows = session.flows(selector)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description:<36}"),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=_console(), transient=False) as progress:
        tasks: dict[str, Any] = {}
        counts: dict[str, dict[str, int]] = {}

        def listener(flow: str, outcome: Any) -> None:
            if flow not in tasks:
                seen.append(flow)
                for earlier in tasks.values():  # flows run one after another: the last one is done
                    progress.update(earlier, total=1, completed=1)
                    progress.stop_task(earlier)
                tasks[flow] = progress.add_task(flow, total=None, counts="")
                counts[flow] = {}
            c = counts[flow]
            c[outcome.action] = c.get(outcome.action, 0) + 1
            progress.update(tasks[flow], counts=" ".join(f"{k} {v}" for k, v in sorted(c.items())))

        report = session.run(
            flows=flows, selector=selector, full=full, retry_only=retry_only, listener=listener, lock_wait=lock_wait
        )
        for task in tasks.values():
            progress.update(task, total=1, completed=1)
    return report


@main.command()
@select_option
@click.option(
    "--full",
    is_flag=True,
    help="Re-read everything, not only what changed since the last sync, and check that every linked twin still exists.",
)
@wait_option
@json_option
@verbose_option
@click.pass_context
def sync(
    ctx: click.Context, selector: str | None, full: bool, lock_wait: float | None, as_json: bool, verbose: bool
) -> None:
    """Sync the selected flows in dependency order. Exit code 0 only when no record failed.

    Records that wait for a link run after their dependency, in the same run when
    possible. A failed record is kept with its reason: `joist failures` shows them,
    `joist retry` runs them again once fixed. One run changes a project at a time: a
    second one waits (--wait) for the first, then stops naming it. A system that stops
    answering, or whose rate limit resets too late, is named; its records wait for the next run.

    \b
    Examples:
      joist sync
      joist sync --select tag:master
      joist sync --select +commitment_invoices_to_bills --full
    """
    import time

    seen: list[str] = []
    started = time.monotonic()
    try:
        with _session(ctx) as session:
            report = _run_with_progress(
                session, selector, full=full, retry_only=False, quiet=as_json, seen=seen, lock_wait=lock_wait
            )
    except KeyboardInterrupt:
        _interrupted("sync", seen)
    _finish(report, as_json, time.monotonic() - started, verbose)


def _interrupted(command: str, seen: list[str]) -> None:
    """Ctrl-C during a run: one line on what was finished and that running again completes it; exit 130."""
    from terminal.runs import interrupted_line

    click.echo(interrupted_line(command, seen), err=True)
    raise click.exceptions.Exit(130)


def _finish(report: Any, as_json: bool, elapsed: float, verbose: bool) -> None:
    for error in report.halted:  # on stderr, with --json too: the outage is the news of this run
        click.echo(error.format(), err=True)
    if as_json:
        _echo_json(report.to_dict())
    else:
        from terminal.runs import print_summary, run_verdict

        console = _console()
        print_summary(report, console, verbose=verbose)
        console.print(run_verdict(report, elapsed), highlight=False)
    if not report.ok:
        raise click.exceptions.Exit(1)


@main.command()
@click.option("--flow", "flows", multiple=True, help="Only this flow (repeatable).")
@wait_option
@json_option
@verbose_option
@click.pass_context
def retry(ctx: click.Context, flows: tuple[str, ...], lock_wait: float | None, as_json: bool, verbose: bool) -> None:
    """Run the failed and deferred records again (after you fixed their cause).

    \b
    Examples:
      joist retry
      joist retry --flow commitment_invoices_to_bills
    """
    import time

    selector = " ".join(flows) or None
    seen: list[str] = []
    started = time.monotonic()
    try:
        with _session(ctx) as session:
            waiting = [f for f in session.state.failures() if not flows or f.flow in flows]
            if not waiting:  # a run holding the project may be leaving some: wait for it, then look again
                with session.lock("retry", wait=lock_wait):
                    waiting = [f for f in session.state.failures() if not flows or f.flow in flows]
            if not waiting:
                if as_json:
                    _echo_json({"command": "retry", "ok": True, "flows": [], "nothing_to_retry": True})
                else:
                    click.echo("nothing to retry: no record failed or waits for a link")
                return
            report = _run_with_progress(
                session, selector, full=False, retry_only=True, quiet=as_json, seen=seen, lock_wait=lock_wait
            )
    except KeyboardInterrupt:
        _interrupted("retry", seen)
    _finish(report, as_json, time.monotonic() - started, verbose)


@main.command()
@click.option("--flow", default=None, help="Only this flow.")
@json_option
@click.pass_context
def failures(ctx: click.Context, flow: str | None, as_json: bool) -> None:
    """List failed and waiting records: what is wrong and how to fix it.

    \b
    Examples:
      joist failures
      joist failures --flow companies_to_vendors --json
    """
    import dataclasses

    with _session(ctx) as session:
        found = session.state.failures(flow)
    if as_json:
        _echo_json([dataclasses.asdict(f) for f in found])
        return
    if not found:
        click.echo("no failed records")
        return
    from terminal.runs import failures_table

    _console().print(failures_table(found))


@main.command()
@json_option
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Connection pair, who holds the project now, links per link set, locked records, failures and the last runs.

    \b
    Examples:
      joist status
      joist status --json
    """
    import dataclasses
    import time

    with _session(ctx) as session:
        state = session.state
        links = state.link_counts()
        locked = [dataclasses.asdict(l) for l in state.links() if l.locked]
        fails = state.failures()
        runs = [dataclasses.asdict(r) for r in state.runs(10)]
        holder = state.lock_holder()
        from engine.state.inbox import Inbox

        inbox = Inbox(state)
        server = inbox.server()
        served = server is not None and time.time() - float(str(server.get("at") or 0)) < 60
        doc = {
            "project": session.project.name,
            "file": str(session.project.file),
            "held_by": dataclasses.asdict(holder) if holder else None,
            "served_by": server if served else None,
            "inbox": inbox.depth(),
            "links": links,
            "locked": locked,
            "failures": len([f for f in fails if f.code != "M406"]),
            "waiting": len([f for f in fails if f.code == "M406"]),
            "runs": runs,
        }
    if as_json:
        _echo_json(doc)
        return
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{doc['project']}[/]  {doc['file']}")
    if holder is not None:
        console.print(f"held by {holder.describe()}, last heartbeat {holder.heartbeat_at}", markup=False)
    if doc["served_by"]:
        s = doc["served_by"]
        console.print(
            f"served by joist serve (pid {s['pid']} on {s['host']}, {s['url']}); inbox: {doc['inbox']} waiting"
        )
    elif doc["inbox"]:
        console.print(f"inbox: {doc['inbox']} event(s) waiting for `joist serve`")
    table = Table(title="links", header_style="bold")
    table.add_column("link set")
    table.add_column("records", justify="right")
    for name, n in sorted(links.items()):
        table.add_row(name, str(n))
    console.print(table)
    for l in locked[:20]:
        console.print(f"locked  {l['link_set']} procore {l['procore_id']} / qbo {l['qbo_id']}: {l['lock_reason']}")
    console.print(f"{doc['failures']} failed record(s), {doc['waiting']} waiting for a link")
    for r in runs[:5]:
        console.print(
            f"run {r.get('id')}  {r.get('command')}  {r.get('status')}  {r.get('started_at')}", highlight=False
        )


@main.command()
@click.argument("flow")
@click.argument("source_id")
@json_option
@click.pass_context
def explain(ctx: click.Context, flow: str, source_id: str, as_json: bool) -> None:
    """For one synced record: every target field, its layer, expression, inputs and value.

    \b
    Example:
      joist explain companies_to_vendors 5000000021
    """
    from engine.reports.explain import explain as explain_record

    with _session(ctx) as session:
        doc = explain_record(session, flow, source_id)
    if as_json:
        _echo_json(doc)
        return
    from terminal.explain import print_explanation

    print_explanation(doc, _console())


@main.command()
@click.argument("link_set", required=False)
@click.argument("procore_id", required=False)
@click.argument("qbo_id", required=False)
@click.option(
    "--import",
    "import_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Link every pair of a CSV file (columns entity, procore_id, qbo_id), e.g. another connector's export.",
)
@click.pass_context
def link(
    ctx: click.Context, link_set: str | None, procore_id: str | None, qbo_id: str | None, import_file: str | None
) -> None:
    """Link two existing records by hand (for example after a duplicate-name error), or a whole file of pairs.

    Both records are looked up first, in the entities the link set's flow syncs. An id is
    a number, or the number prefixed with its system (PROCORE:5000000021, QBO:57). With
    --import, every row of the file is checked first (file and line named for each bad
    row) and nothing is stored unless all are good.

    \b
    Examples:
      joist link vendors 5000000021 57
      joist link vendors PROCORE:5000000021 QBO:57
      joist link --import other-connector-mapping.csv
    """
    if import_file is not None:
        if link_set or procore_id or qbo_id:
            raise click.UsageError("give either --import FILE or LINK_SET PROCORE_ID QBO_ID, not both")
        from engine.onboarding.transfer import describe, import_links

        with _session(ctx) as session, session.lock("link"):
            imported = import_links(import_file, session.ruleset, session.state, session.connectors({"procore", "qbo"}))
        click.echo(f"linked {describe(imported)} from {import_file}")
        return
    if not (link_set and procore_id and qbo_id):
        raise click.UsageError(
            "give LINK_SET PROCORE_ID QBO_ID (e.g. joist link vendors 5000000021 57), or --import FILE"
        )
    from engine.project.linking import link_records

    with _session(ctx) as session, session.lock("link"):
        made = link_records(session, link_set, procore_id, qbo_id)
    click.echo(f"linked {link_set}: procore {made.procore_id} <-> qbo {made.qbo_id} (flow {made.flow})")


@main.command()
@click.option(
    "--answers",
    "answers_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Run without questions: the answers in a YAML file (select, params, threshold, review, rest, go_live).",
)
@click.option("--restart", is_flag=True, help="Start over from the first step (links already made stay).")
@click.pass_context
def onboard(ctx: click.Context, answers_file: str | None, restart: bool) -> None:
    """Set up a project step by step: connect, choose flows, answer params, match, review, preview, go live.

    Records that already exist on both sides are matched before anything is written (the
    other connector's marks, numbers, e-mails, names) and become links, so nothing is
    created twice. Each step is kept in the state store: run it again to go on where it
    stopped.

    \b
    Examples:
      joist onboard
      joist onboard --answers onboarding.yaml
      joist onboard --restart
    """
    answers = None
    if answers_file is not None:
        from engine.onboarding.answers import load_answers

        answers = load_answers(answers_file)
    from terminal.onboard import run_wizard

    _show_waits()
    with _session(ctx) as session:
        run_wizard(session, _console(), answers, restart=restart)


@main.command()
@click.argument("link_set")
@click.option("--procore", "procore_id", default=None, help="The Procore id of the link to remove.")
@click.option("--qbo", "qbo_id", default=None, help="The QBO id of the link to remove.")
@click.pass_context
def unlink(ctx: click.Context, link_set: str, procore_id: str | None, qbo_id: str | None) -> None:
    """Forget a link (the records stay). The next sync treats the record as new, or matches it.

    \b
    Example:
      joist unlink vendors --procore 5000000021
    """
    if (procore_id is None) == (qbo_id is None):
        raise click.UsageError("give exactly one of --procore and --qbo")
    with _session(ctx) as session, session.lock("unlink"):
        removed = session.state.remove_link(link_set, procore_id=procore_id, qbo_id=qbo_id)
    click.echo("unlinked" if removed else "no such link")
    if not removed:
        raise click.exceptions.Exit(1)


@main.command()
@click.argument("system", type=click.Choice(["procore", "qbo"]))
@click.option("--print-url", is_flag=True, help="Only print the sign-in address; do not open a browser.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait for the sign-in.")
@click.option(
    "--port",
    type=int,
    default=8790,
    show_default=True,
    help="Port of the redirect address http://127.0.0.1:PORT/callback (register it with the OAuth app).",
)
@click.pass_context
def connect(ctx: click.Context, system: str, print_url: bool, timeout: float, port: int) -> None:
    """Sign in to Procore or QuickBooks; the tokens go to the project's token file.

    The OAuth app's client id and secret come from the environment variables named in
    joist.yaml (JOIST_QBO_CLIENT_ID / JOIST_QBO_CLIENT_SECRET by default). Register
    http://127.0.0.1:8790/callback as a redirect address of the app (Intuit: Keys &
    credentials; Procore: the app's redirect URIs). The sign-in address is printed and
    opened in a browser; when that browser runs on another machine, paste here the
    address it is sent back to. A QBO realm id still `<realm id>` is filled in.

    \b
    Examples:
      joist connect qbo
      joist connect procore --print-url
    """
    import sys
    import webbrowser

    from engine.project.config import load_project
    from engine.project.connect import connect as run_connect

    given = ctx.find_root().meta.get("joist.project")
    project = load_project(given)

    def show(url: str) -> None:
        click.echo(f"Open this address to sign in to {system}:\n  {url}")
        click.echo(
            f"Waiting up to {int(timeout)} s. If the browser is on another machine, paste the address it "
            f"is sent back to (http://127.0.0.1:{port}/callback?...) here and press Enter."
        )
        if not print_url:
            webbrowser.open(url)

    result = run_connect(project, system, timeout=timeout, port=port, open_url=show, pasted=sys.stdin.readline)
    for change in result.get("changes", []):
        click.echo(f"joist.yaml: {change}")
    click.echo(
        result.get("note") or f"connected {system} ({result['token_key']}); tokens saved to {project.tokens_path}"
    )


if __name__ == "__main__":
    sys.exit(main())
