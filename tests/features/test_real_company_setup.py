"""Setting up a real company goes somewhere: init, validate, connect (over loopback to the QBO sandbox).

- `joist init`'s placeholders do not block `validate` or `ls` once the packs' required
  params (listed empty, S640 until set) have values; a command that needs the connection
  names the placeholder (S624) and where the id comes from;
- `joist connect qbo` runs while the realm id is a placeholder and writes the realm id of
  the company signed in to into joist.yaml, keeping the rest of the file;
- S612 does not tell `joist connect` to fix what makes `joist connect` fail;
- `connect` prints the address to open, accepts the redirect address pasted back, and its
  redirect port is fixed (8790) and documented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.project.config import load_project
from engine.project.connect import connect
from engine.project.writing import init_project
from sandbox.server import ServerThread, create, free_port


def test_init_placeholders_do_not_block_validate_or_ls(tmp_path: Path, joist: Any) -> None:
    assert joist("init", "acme", cwd=tmp_path).returncode == 0
    project = tmp_path / "acme"
    # The packs' required params are listed empty; validate names each until it is set (S640).
    unset = joist("validate", cwd=project)
    assert unset.returncode == 1 and unset.stderr.count("S640") == 4, unset.stderr
    for name in ("item_income_account", "retainage_receivable_item", "retention_payable_account"):
        assert f"param {name!r}" in unset.stderr
    text = (project / "joist.yaml").read_text()
    for name, value in (
        ("item_income_account", "14"),
        ("retainage_receivable_item", "43"),
        ("retention_payable_account", "12"),
    ):
        text = text.replace(f"  {name}: ~", f'  {name}: "{value}"')
    (project / "joist.yaml").write_text(text)
    for command in (["validate"], ["ls"]):
        result = joist(*command, cwd=project)
        assert result.returncode == 0, result.stdout + result.stderr
    plan = joist("plan", cwd=project)
    assert plan.returncode == 1 and "R110" not in plan.stderr
    assert "S624 connections.procore.company_id is still the placeholder '<company id>'" in plan.stderr
    assert "/companies/" in plan.stderr


def test_missing_credentials_hint_does_not_send_you_round_in_circles(tmp_path: Path, joist: Any) -> None:
    init_project(tmp_path, procore={"company_id": "42"})
    result = joist("connect", "procore", "--timeout", "1", cwd=tmp_path, JOIST_PROCORE_CLIENT_ID="")
    assert result.returncode == 1 and "S612" in result.stderr, result.stdout + result.stderr
    assert "or run `joist connect procore`" not in result.stderr
    assert "client id and secret of your OAuth app" in result.stderr


@pytest.fixture
def qbo_box() -> Any:
    box = create("qbo")
    with ServerThread(box.app) as server:
        yield box, server.base_url


def _real_project(tmp_path: Path, base_url: str) -> Any:
    path = init_project(tmp_path, qbo={"base_url": base_url + "/v3"})
    assert 'realm_id: "<realm id>"' in path.read_text()
    return load_project(tmp_path)


def _client_env(box: Any, base_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    info = box.connection_info(base_url)
    monkeypatch.setenv("JOIST_QBO_CLIENT_ID", info["client_id"])
    monkeypatch.setenv("JOIST_QBO_CLIENT_SECRET", info["client_secret"])
    return str(info["realm_id"])


def test_connect_qbo_fills_in_the_realm_id(tmp_path: Path, qbo_box: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    box, base_url = qbo_box
    realm = _client_env(box, base_url, monkeypatch)
    project = _real_project(tmp_path, base_url)
    before = project.file.read_text()
    result = connect(project, "qbo", open_url=lambda url: httpx.get(url, follow_redirects=True), timeout=20, port=0)
    assert result["realm_id"] == realm and result["changes"] == [f"connections.qbo.realm_id set to {realm}"]
    after = project.file.read_text()
    assert f'realm_id: "{realm}"' in after and "<realm id>" not in after
    assert len(after.splitlines()) == len(before.splitlines())  # one line changed, comments kept
    reloaded = load_project(tmp_path)
    assert reloaded.connection("qbo").account_id == realm
    assert reloaded.token_store().load(f"qbo:{realm}")["refresh_token"]


def test_connect_accepts_the_redirect_address_pasted_back(
    tmp_path: Path, qbo_box: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, base_url = qbo_box
    realm = _client_env(box, base_url, monkeypatch)
    project = _real_project(tmp_path, base_url)
    landed: list[str] = []

    def other_machine(url: str) -> None:  # its browser cannot reach our listener: it shows the address instead
        answer = httpx.get(url, follow_redirects=False)
        while answer.is_redirect and not answer.headers["location"].startswith("http://127.0.0.1:" + port):
            answer = httpx.get(answer.headers["location"], follow_redirects=False)
        landed.append(answer.headers["location"])

    port = str(free_port())
    result = connect(
        project,
        "qbo",
        open_url=other_machine,
        pasted=lambda: landed.pop() if landed else "",
        timeout=20,
        port=int(port),
    )
    assert result["realm_id"] == realm


def test_connect_prints_the_address_and_documents_its_fixed_port(tmp_path: Path, joist: Any, qbo_box: Any) -> None:
    box, base_url = qbo_box
    init_project(tmp_path, qbo={"base_url": base_url + "/v3"})
    info = box.connection_info(base_url)
    port = str(free_port())
    result = joist(
        "connect",
        "qbo",
        "--print-url",
        "--timeout",
        "1",
        "--port",
        port,
        cwd=tmp_path,
        JOIST_QBO_CLIENT_ID=info["client_id"],
        JOIST_QBO_CLIENT_SECRET=info["client_secret"],
    )
    assert result.returncode == 1 and "C507" in result.stderr
    assert "Open this address to sign in to qbo:" in result.stdout
    assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback" in result.stdout
    assert "paste the address" in result.stdout
    help_text = joist("connect", "--help").stdout
    assert "http://127.0.0.1:8790/callback" in help_text and "8790" in help_text
