"""Serve sandboxes on 127.0.0.1 with uvicorn, in a background thread or the foreground.

Each sandbox package (`sandbox.qbo`, `sandbox.procore`) exposes
`create_sandbox(state_file=None, **options) -> Sandbox`; `SANDBOXES` names them.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import uvicorn

from sandbox.control import SandboxControl

HOST = "127.0.0.1"

SANDBOXES: dict[str, tuple[str, int]] = {
    "procore": ("sandbox.procore.app", 8710),
    "qbo": ("sandbox.qbo.app", 8720),
}


class Sandbox(Protocol):
    """A local stand-in for one system, ready to serve."""

    name: str
    app: Any  # the ASGI app, already wrapped by its SandboxControl
    control: SandboxControl  # faults, the movable clock and the request log

    def connection_info(self, base_url: str) -> dict[str, str]:
        """What a client needs to connect: base_url, ids, client id/secret, refresh token."""

    def save(self) -> None:
        """Write the state to its file, when it has one."""


def create(name: str, state_file: Path | None = None, **options: Any) -> Sandbox:
    """Build the named sandbox (`procore` or `qbo`)."""
    module_name, _ = SANDBOXES[name]
    module = importlib.import_module(module_name)
    return module.create_sandbox(state_file=state_file, **options)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` of 127.0.0.1 right now."""
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


class ServerThread:
    """uvicorn serving one ASGI app on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host=HOST, port=self.port, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"sandbox-{self.port}", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
