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
    """Run joist; on Ctrl-C (which reaches it too) wait for it to stop cleanly, then pass the interrupt on."""
    exe = Path(sys.executable).parent / "joist"
    child = subprocess.Popen([str(exe), "--project", str(project), *args])
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.wait()
        raise


def main(folder: str = "demo") -> int:
    from engine.project.config import load_project
    from engine.project.writing import update_sandbox_project

    console = Console()
    project = Path(folder).resolve()
    data = project / ".joist" / "sandbox"
    data.mkdir(parents=True, exist_ok=True)
    from sandbox.background import running_pid

    busy = running_pid(data / "sandbox.pid")
    if busy:
        console.print(
            f"the sandboxes of {folder} already run in the background (pid {busy}): "
            f"`.venv/bin/joist sandbox down --project {folder}` first, or use them directly",
            highlight=False,
        )
        return 1
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
        console.print(f"project: {project / 'joist.yaml'}")
        for box in boxes.values():
            box.control.log.clear()
        try:
            code = _joist(project, "sync")
        except KeyboardInterrupt:
            console.print("make demo stopped; the sandboxes kept their data: `make demo` again finishes the sync.")
            return 130
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
        if again:
            total = sum(writes.values())
            console.print(
                "second run: nothing was written, as expected"
                if total == 0
                else f"this run made {total} write(s): what changed since the last run, or the rest of an "
                "interrupted one"
            )
        if failed:
            console.print(f"{len(failed)} record(s) did not sync; `joist --project {folder} failures` says why.")
        if code != 0:
            console.print(f"the sync did not finish cleanly (exit code {code})")
        joist = ".venv/bin/joist"
        console.print(
            f"\nThe sandboxes stop with this command. To look around (from this folder):\n"
            f"  {joist} sandbox up --project {folder} --background   # serves them again, data included\n"
            f"  {joist} --project {folder} status\n  {joist} --project {folder} plan\n"
            f"  {joist} --project {folder} explain companies_to_vendors 5000000021\n"
            f"  {joist} --project {folder} reconcile   # every figure of each project, both sides, to the cent\n"
            f"  {joist} sandbox down --project {folder}\n"
            f"  make demo   # again: a second sync writes nothing",
            highlight=False,
            soft_wrap=True,
        )
        return code
    finally:
        for server in servers.values():
            server.stop()
        for box in boxes.values():
            box.save()


if __name__ == "__main__":
    try:
        sys.exit(main(os.environ.get("JOIST_DEMO_DIR", "demo")))
    except KeyboardInterrupt:  # before or after the sync: nothing half done to report
        print("make demo stopped.", file=sys.stderr)
        sys.exit(130)
