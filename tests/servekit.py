"""`joist serve` in a subprocess over loopback, for the service's end-to-end tests and benchmark."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from connectors.base import Credentials
from connectors.procore.client import ProcoreConnector
from connectors.tokens import FileTokenStore, MemoryTokenStore
from engine.project.config import load_project

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Served:
    """A `joist serve` process for a project; `stop()` sends SIGTERM and returns the exit code."""

    def __init__(
        self,
        project_dir: Path,
        *,
        poll_every: float = 0,
        register: bool = True,
        window: float = 0.2,
        port: int | None = None,
        extra: tuple[str, ...] = (),
    ) -> None:
        self.project_dir = project_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["--port", str(self.port), "--window", str(window), "--poll-every", str(poll_every)]
        self.args = args + ([] if register else ["--no-register"]) + list(extra)
        self.log = project_dir / f"serve-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> Served:
        out = self.log.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "--project", str(self.project_dir), "serve", *self.args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        wait_for(self.ready, timeout, f"joist serve to be ready (log: {self.log})")
        return self

    def ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"joist serve exited with {self.proc.returncode}:\n{self.log.read_text()}")
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(20)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(20)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.url + path, content=body, headers=headers, timeout=10)

    def metric(self, name: str) -> float:
        """The sum of a metric's samples in /metrics."""
        text = httpx.get(self.url + "/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name + "{") or line.startswith(name + " ")
        )


def inbox_rows(project_dir: Path, where: str = "1 = 1", params: tuple[Any, ...] = ()) -> int:
    """Inbox rows of the project's state (its SQLite file or its PostgreSQL schema) matching `where`."""
    with load_project(project_dir).open_state() as state:
        return int(state.query(f"SELECT COUNT(*) FROM inbox WHERE {where}", params)[0][0])


def webhook_secret(project_dir: Path, key: str, field: str) -> str:
    """A webhook secret the service saved in the project's token file."""
    store = FileTokenStore(project_dir / ".joist" / "tokens.json")
    return str((store.load(f"{key}:webhooks") or {})[field])


def qbo_signed(body: bytes, verifier: str) -> str:
    return base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest()).decode()


def person(box: Any, base_url: str) -> ProcoreConnector:
    """A Procore connector of another app (a person at a desk): its changes are not Joist's echoes."""
    box.oauth.clients["desk-app"] = "desk-secret"
    return ProcoreConnector(base_url, box.company_id, Credentials("desk-app", "desk-secret"), MemoryTokenStore())


def legacy_qbo_body(realm: str, entity: str, record_id: str, operation: str, at: str) -> bytes:
    note = {
        "realmId": realm,
        "dataChangeEvent": {"entities": [{"name": entity, "id": record_id, "operation": operation, "lastUpdated": at}]},
    }
    return json.dumps({"eventNotifications": [note]}).encode()
