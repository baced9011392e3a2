"""`make demo`: both sandboxes on 127.0.0.1, a ready project in ./demo, a real sync, the result.

Run it again and the second sync writes nothing: the sandboxes keep their data in
demo/.joist/sandbox and Joist its state in demo/.joist/state.db. `rm -rf demo` starts over.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sandbox.server import SANDBOXES, ServerThread, create, free_port


def _port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def _joist(project: Path, *args: str) -> int:
    exe = Path(sys.executable).parent / "joist"
    return subprocess.call([str(exe), "--project", str(project), *args])


def main(folder: str = "demo") -> int:
    from engine.project.config import load_project, update_sandbox_project

    console = Console()
    project = Path(folder).resolve()
    data = project / ".joist" / "sandbox"
    data.mkdir(parents=True, exist_ok=True)
    again = (project / ".joist" / "state.db").exists()
    boxes = {name: create(name, state_file=data / f"{name}.json") for name in sorted(SANDBOXES)}
    servers = {name: ServerThread(box.app, _port(SANDBOXES[name][1])).start() for name, box in boxes.items()}
    try:
        info = {name: box.connection_info(servers[name].base_url) for name, box in boxes.items()}
        changes = update_sandbox_project(project, info)[1]
        for name, server in servers.items():
            console.print(f"{name} sandbox on {server.base_url}")
        for change in changes:
            console.print(f"joist.yaml: {change}", highlight=False)
        console.print(
            f"project: {project / 'joist.yaml'}" + ("  (second run: nothing should be written)" if again else "")
        )
        for box in boxes.values():
            box.control.log.clear()
        code = _joist(project, "sync")
        writes = {name: len(box.control.log.writes()) for name, box in boxes.items()}
        reads = {name: len(box.control.log.entries) - writes[name] for name, box in boxes.items()}
        state = load_project(project).open_state()
        table = Table(title="what is linked now", header_style="bold")
        table.add_column("link set")
        table.add_column("records", justify="right")
        for link_set, n in sorted(state.link_counts().items()):
            table.add_row(link_set, str(n))
        console.print(table)
        failed = state.failures()
        state.close()
        console.print(
            f"requests this run: QBO {reads['qbo']} reads, {writes['qbo']} writes; "
            f"Procore {reads['procore']} reads, {writes['procore']} writes"
        )
        if failed:
            console.print(f"{len(failed)} record(s) did not sync; `joist --project {folder} failures` says why.")
        console.print(
            f"\nWhere to look (the sandboxes stop with this command; "
            f"`joist sandbox up --data {data} --project {folder}` serves them again):\n"
            f"  joist --project {folder} status\n  joist --project {folder} plan\n"
            f"  joist --project {folder} explain companies_to_vendors <Procore vendor id>\n"
            f"  make demo   # again: a second sync writes nothing"
        )
        return 0 if code in (0, 1) else code
    finally:
        for server in servers.values():
            server.stop()
        for box in boxes.values():
            box.save()


if __name__ == "__main__":
    sys.exit(main(os.environ.get("JOIST_DEMO_DIR", "demo")))
