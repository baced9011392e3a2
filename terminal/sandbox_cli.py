"""`joist sandbox ...`: run the local Procore and QuickBooks sandboxes."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import click

from sandbox.server import SANDBOXES, Sandbox, ServerThread, create, free_port, port_is_free

SECRET_KEYS = frozenset({"client_id", "client_secret", "refresh_token", "access_token"})


@click.group("sandbox")
def sandbox_group() -> None:
    """Local Procore and QuickBooks Online sandboxes: real HTTP on 127.0.0.1, seeded demo data."""


@sandbox_group.command("up")
@click.argument("name", required=False, type=click.Choice(sorted(SANDBOXES)))
@click.option("--port", type=int, help="Port (one sandbox only). Defaults: procore 8710, qbo 8720.")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the sandboxes' data in this folder across restarts (with --project: PROJECT/.joist/sandbox).",
)
@click.option(
    "--project",
    "project_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write a ready joist.yaml (and its secrets) into this folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the connection details first.")
@click.option("--show-secrets", is_flag=True, help="Print the client secrets and tokens too (--json always does).")
@click.option(
    "--background", is_flag=True, help="Serve from a background process and return; `joist sandbox down` stops it."
)
@click.option(
    "--lenient-company-header",
    is_flag=True,
    help="Procore: accept a company_id parameter without the Procore-Company-Id header, as older clients send.",
)
@click.option(
    "--scenario",
    type=click.Choice(["demo", "transfer"]),
    default="demo",
    show_default=True,
    help="transfer: add a firm that used another connector for a year (both sandboxes; see docs/onboarding.md).",
)
@click.option(
    "--scale",
    type=click.FloatRange(min=0.01, max=1.0),
    default=1.0,
    show_default=True,
    help="Size of the transfer firm.",
)
@click.option(
    "--region",
    type=click.Choice(["us", "ca", "uk", "au"], case_sensitive=False),
    default="us",
    show_default=True,
    help="Connect to the QBO company of this region (and seed Procore's tax codes to match); "
    "with --project, sets the qbo_region param.",
)
@click.option("--pid-file", type=click.Path(dir_okay=False, path_type=Path), hidden=True)
def up(
    name: str | None,
    port: int | None,
    data_dir: Path | None,
    project_dir: Path | None,
    as_json: bool,
    show_secrets: bool,
    background: bool,
    lenient_company_header: bool,
    scenario: str,
    scale: float,
    region: str,
    pid_file: Path | None,
) -> None:
    """Serve the sandbox NAME (procore or qbo), or both, until stopped with Ctrl-C.

    \b
    Examples:
      joist sandbox up                 # both, on 8710 and 8720
      joist sandbox up qbo --port 9000
      joist sandbox up --json --data .joist/sandbox
      joist sandbox up --show-secrets  # client ids, secrets and refresh tokens too
      joist sandbox up --project demo --background   # then: joist sandbox down --project demo
      joist sandbox up --project firm --scenario transfer   # a firm moving from another connector
      joist sandbox up --project demo --region uk    # a UK company: VAT and the CIS reverse charge
    """
    names = [name] if name else sorted(SANDBOXES)
    if port and len(names) > 1:
        raise click.UsageError("--port needs a sandbox name: joist sandbox up qbo --port 9000")
    if scenario == "transfer" and len(names) < 2:
        raise click.UsageError("--scenario transfer seeds both sandboxes: leave the sandbox name out")
    if lenient_company_header and "procore" not in names:
        raise click.UsageError("--lenient-company-header is an option of the procore sandbox")
    if port and not port_is_free(port):
        raise _port_busy(port)
    if project_dir:
        from engine.project.writing import sandbox_data_folder

        data_dir = sandbox_data_folder(project_dir, data_dir)
    if background and not data_dir:
        raise click.UsageError("--background needs --project or --data (the folder that keeps its data and pid)")
    if data_dir:
        data_dir.mkdir(parents=True, exist_ok=True)
    if background and data_dir:
        extra = ["--lenient-company-header"] if lenient_company_header else []
        extra += ["--show-secrets"] if show_secrets else []
        extra += ["--scenario", scenario, "--scale", str(scale)] if scenario != "demo" else []
        extra += ["--region", region]
        _up_in_background(name, port, data_dir, project_dir, as_json, extra)
        return
    servers: dict[str, tuple[Sandbox, ServerThread]] = {}
    notes: list[str] = []
    boxes: dict[str, Sandbox] = {}
    fresh = {n: not (data_dir and (data_dir / f"{n}.json").exists()) for n in names}
    for n in names:
        options: dict[str, object] = {"region": region.upper()}
        if n == "procore" and lenient_company_header:
            options["strict_company_header"] = False
        boxes[n] = create(n, state_file=(data_dir / f"{n}.json") if data_dir else None, **options)
    if scenario == "transfer" and all(fresh.values()):
        from terminal.transfer_scenario import seed_firm

        notes.append(seed_firm(boxes, scale))
    for n in names:
        box = boxes[n]
        chosen = port or SANDBOXES[n][1]
        if not port and not port_is_free(chosen):
            notes.append(f"port {chosen} is busy: the {n} sandbox serves on another (`--port` chooses one)")
            chosen = free_port()
        try:
            server = ServerThread(box.app, chosen).start()
        except RuntimeError:
            if port_is_free(chosen):
                raise
            raise _port_busy(chosen) from None
        servers[n] = (box, server)
    info = {n: box.connection_info(server.base_url) for n, (box, server) in servers.items()}
    changes: list[str] = []
    if project_dir:
        from engine.project.writing import update_sandbox_project

        changes = update_sandbox_project(project_dir, info, region.upper())[1]
    # Before anything says "Ctrl-C to stop": a Ctrl-C from then on stops cleanly and saves the data.
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if as_json:
        click.echo(json.dumps(info[names[0]] if len(names) == 1 else info), nl=True)
    else:
        for note in notes:
            click.echo(note)
        for n, details in info.items():
            click.echo(f"{n} sandbox")
            for key, value in details.items():
                shown = value if show_secrets or key not in SECRET_KEYS else "(hidden: --show-secrets or --json)"
                click.echo(f"  {key:14} {shown}")
        if project_dir:
            for change in changes or ["up to date"]:
                click.echo(change if change.startswith("wrote ") else f"{project_dir / 'joist.yaml'}: {change}")
        click.echo("Ctrl-C to stop.")
    if pid_file:
        pid_file.write_text(f"{os.getpid()}\n")
    stop.wait()
    for box, server in servers.values():
        server.stop()
        box.save()
    if pid_file:
        pid_file.unlink(missing_ok=True)


def _port_busy(port: int) -> click.ClickException:
    return click.ClickException(
        f"port {port} on 127.0.0.1 is busy (another sandbox, or another program listens there): "
        "choose another with --port, or leave --port out to take the default or a free one"
    )


def _up_in_background(
    name: str | None, port: int | None, data_dir: Path, project_dir: Path | None, as_json: bool, extra: list[str]
) -> None:
    from sandbox.background import LOG_FILE, BackgroundError, start_background

    args = [*([name] if name else []), *(["--port", str(port)] if port else []), "--data", str(data_dir)]
    args += [*(["--project", str(project_dir)] if project_dir else []), *(["--json"] if as_json else []), *extra]
    try:
        pid, printed = start_background(args, data_dir)
    except BackgroundError as exc:
        click.echo(exc.message, err=True)
        raise click.exceptions.Exit(exc.exit_code)
    click.echo(printed.replace("Ctrl-C to stop.\n", "").rstrip())
    if not as_json:
        click.echo(f"serving in the background (pid {pid}, log {data_dir / LOG_FILE}); `joist sandbox down` stops it")


@sandbox_group.command("down")
@click.option("--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), help="The project folder.")
@click.option(
    "--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), help="The sandboxes' data folder."
)
@click.pass_context
def down(ctx: click.Context, project_dir: Path | None, data_dir: Path | None) -> None:
    """Stop sandboxes started with `joist sandbox up --background`; their data is kept.

    Without options: the sandboxes of the project joist runs in (searched upward from here).

    \b
    Examples:
      joist sandbox down
      joist sandbox down --project demo
    """
    from engine.project.config import SANDBOX_DATA, find_project
    from sandbox.background import BackgroundError, stop_background

    if data_dir is None:
        given = project_dir or ctx.find_root().meta.get("joist.project")
        folder = Path(given) if given else find_project().parent
        data_dir = (folder.parent if folder.is_file() else folder) / SANDBOX_DATA
    try:
        pid = stop_background(data_dir)
    except BackgroundError as exc:
        raise click.ClickException(exc.message)
    if pid is None:
        click.echo(f"no sandboxes run in the background for {data_dir}")
    else:
        click.echo(f"stopped the sandboxes (pid {pid}); their data is kept in {data_dir}")
