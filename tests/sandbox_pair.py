"""Both sandboxes and a ready Joist project around them, in one call (`from sandbox_pair import ...`).

Used by the end-to-end tests of the rule packs and features (tests/conftest.py puts this
folder on `sys.path`). In-process by default (the sandboxes are reached through
`InProcessTransport`, no socket); `loopback=True` serves them on 127.0.0.1 instead, as a
real deployment would talk to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.server import ServerThread, create
from sandbox.transport import InProcessTransport

SYSTEMS = ("procore", "qbo")


@dataclass
class SandboxPair:
    """The two sandboxes, the project folder, and an open `engine.project.session.Session`."""

    boxes: dict[str, Any]
    project_dir: Path
    session: Any
    servers: dict[str, ServerThread] = field(default_factory=dict)

    def writes(self, system: str) -> list[Any]:
        """Requests that changed data on one sandbox, oldest first."""
        return self.boxes[system].control.log.writes()

    def clear_logs(self) -> None:
        for box in self.boxes.values():
            box.control.log.clear()

    def reopen(self) -> Any:
        """A fresh session on the same project (as the next `joist` command would have)."""
        from engine.project.session import Session

        self.session.close()
        transports = {} if self.servers else {n: InProcessTransport(b.app) for n, b in self.boxes.items()}
        self.session = Session.open(self.project_dir, transports=transports)
        return self.session


def _write_project(
    project_dir: Path,
    info: dict[str, Any],
    packs: Sequence[str] | None,
    params: dict[str, Any] | None,
    state: str | None = None,
) -> None:
    from engine.project.writing import write_sandbox_project

    write_sandbox_project(project_dir, info)
    if packs is None and not params and state is None:
        return
    import yaml

    path = project_dir / "joist.yaml"
    text = path.read_text()
    doc = yaml.safe_load(text)
    if packs is not None:
        doc["packs"] = list(packs)
    if params:
        doc["params"] = {**(doc.get("params") or {}), **params}
    if state is not None:
        doc["state"] = state
    header = "".join(line + "\n" for line in text.splitlines()[:2] if line.startswith("#"))  # keeps the marker
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))


@contextmanager
def sandbox_pair(
    project_dir: Path,
    *,
    packs: Sequence[str] | None = None,
    params: dict[str, Any] | None = None,
    loopback: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
    state: str | None = None,
) -> Iterator[SandboxPair]:
    """Seeded sandboxes, a joist.yaml for them in `project_dir`, and a session on it.

    `packs` replaces the project's rule packs (e.g. `["joist:master"]` or a folder);
    `params` adds project params; `options` go to each sandbox's `create_sandbox`; `state`
    replaces joist.yaml's `state:` (a postgresql:// URL puts the project's state there).
    """
    from engine.project.session import Session

    project_dir = Path(project_dir)
    project_dir.mkdir(parents=True, exist_ok=True)
    boxes = {n: create(n, **(options or {}).get(n, {})) for n in SYSTEMS}
    servers: dict[str, ServerThread] = {}
    if loopback:
        servers = {n: ServerThread(b.app).start() for n, b in boxes.items()}
        info = {n: b.connection_info(servers[n].base_url) for n, b in boxes.items()}
        transports: dict[str, Any] = {}
    else:
        info = {n: b.connection_info(f"http://{n}.sandbox.localhost") for n, b in boxes.items()}
        transports = {n: InProcessTransport(b.app) for n, b in boxes.items()}
    _write_project(project_dir, info, packs, params, state)
    session = Session.open(project_dir, transports=transports)
    pair = SandboxPair(boxes, project_dir, session, servers)
    try:
        yield pair
    finally:
        pair.session.close()
        for server in servers.values():
            server.stop()
        for t in transports.values():
            t.close()
