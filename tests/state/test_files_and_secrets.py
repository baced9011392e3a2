"""Business data and secrets stay private: state files 0600, no empty webhook key, no secrets printed unasked."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import cli
import terminal.sandbox_cli as sandbox_cli
from engine.project.config import EmptyWebhookVerifier, load_project
from engine.project.writing import write_sandbox_project
from engine.state.records import Link
from engine.state.store import SQLiteState
from sandbox.server import free_port

INFO = {
    "qbo": {
        "base_url": "http://127.0.0.1:8720/v3",
        "realm_id": "9341",
        "client_id": "q-id",
        "client_secret": "q-secret",
        "refresh_token": "q-refresh",
    }
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_state_file_and_its_wal_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / ".joist" / "state.db"
        with SQLiteState(path) as store:
            store.put_link(Link("vendors", "1", "2"))
            for name in ("state.db", "state.db-wal", "state.db-shm"):
                assert _mode(path.with_name(name)) == 0o600, name
        os.chmod(path, 0o644)  # a file an older Joist created: narrowed when opened
        with SQLiteState(path):
            assert _mode(path) == 0o600
    finally:
        os.umask(old)


def test_an_empty_webhook_verifier_is_refused(tmp_path: Path) -> None:
    write_sandbox_project(tmp_path, INFO)
    project = load_project(tmp_path)
    assert project.credentials("qbo", environ={"JOIST_QBO_WEBHOOK_VERIFIER": "v-1"}).extra["webhook_verifier"] == "v-1"
    with pytest.raises(EmptyWebhookVerifier) as caught:
        project.credentials("qbo", environ={"JOIST_QBO_WEBHOOK_VERIFIER": "  "})
    text = caught.value.format()
    assert caught.value.code == "S616" and "JOIST_QBO_WEBHOOK_VERIFIER" in text and "joist.yaml" in text
    store = project.token_store()
    store.save("qbo:9341:client", {**store.load("qbo:9341:client"), "webhook_verifier": ""})
    with pytest.raises(EmptyWebhookVerifier, match="token file"):
        project.credentials("qbo", environ={})


def test_sandbox_up_prints_secrets_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stopped(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:  # Ctrl-C at once
            return True

    monkeypatch.setattr(sandbox_cli, "threading", SimpleNamespace(Event=Stopped))
    runner = CliRunner()
    port = str(free_port())
    # Through the `joist` group, as a user types it (a subcommand invoked on its own would
    # cache click's default help option and change the generated docs/cli.md).
    plain = runner.invoke(cli.main, ["sandbox", "up", "qbo", "--port", port])
    assert plain.exit_code == 0, plain.output
    assert "client_secret" in plain.output and "(hidden: --show-secrets or --json)" in plain.output
    shown = runner.invoke(cli.main, ["sandbox", "up", "qbo", "--port", str(free_port()), "--show-secrets"])
    assert "(hidden" not in shown.output
    secret = next(line.split()[1] for line in shown.output.splitlines() if line.strip().startswith("client_secret"))
    assert secret not in plain.output
