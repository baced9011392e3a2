"""`joist sandbox ...`: run the local Procore and QuickBooks sandboxes."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from sandbox.server import SANDBOXES, ServerThread, create


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
def up(name: str | None, port: int | None, data_dir: Path | None, project_dir: Path | None, as_json: bool) -> None:
    """Serve the sandbox NAME (procore or qbo), or both, until stopped with Ctrl-C.

    \b
    Examples:
      joist sandbox up                 # both, on 8710 and 8720
      joist sandbox up qbo --port 9000
      joist sandbox up --json --data .joist/sandbox
    """
    names = [name] if name else sorted(SANDBOXES)
    if port and len(names) > 1:
        raise click.UsageError("--port needs a sandbox name: joist sandbox up qbo --port 9000")
    if project_dir:
        from engine.project.config import sandbox_data_folder

        data_dir = sandbox_data_folder(project_dir, data_dir)
    if data_dir:
        data_dir.mkdir(parents=True, exist_ok=True)
    servers: dict[str, tuple[object, ServerThread]] = {}
    for n in names:
        box = create(n, state_file=(data_dir / f"{n}.json") if data_dir else None)
        server = ServerThread(box.app, port or SANDBOXES[n][1]).start()
        servers[n] = (box, server)
    info = {n: box.connection_info(server.base_url) for n, (box, server) in servers.items()}
    changes: list[str] = []
    if project_dir:
        from engine.project.config import update_sandbox_project

        changes = update_sandbox_project(project_dir, info)[1]
    if as_json:
        click.echo(json.dumps(info[names[0]] if len(names) == 1 else info), nl=True)
    else:
        for n, details in info.items():
            click.echo(f"{n} sandbox")
            for key, value in details.items():
                click.echo(f"  {key:14} {value}")
        if project_dir:
            click.echo(f"{project_dir / 'joist.yaml'}: " + ("; ".join(changes) if changes else "up to date"))
        click.echo("Ctrl-C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    for box, server in servers.values():
        server.stop()
        box.save()
