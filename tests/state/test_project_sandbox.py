"""A project written for the sandboxes works at once: its credentials refresh against them."""

from __future__ import annotations

from pathlib import Path

import httpx

from engine.project.config import load_project
from engine.project.writing import write_sandbox_project
from sandbox.server import create
from sandbox.transport import InProcessTransport


def test_qbo_sandbox_project_refreshes_with_its_credentials(tmp_path: Path) -> None:
    box = create("qbo")
    info = {"qbo": box.connection_info("http://127.0.0.1:8720")}
    write_sandbox_project(tmp_path, info)
    project = load_project(tmp_path)
    qbo = project.connection("qbo")
    assert qbo.base_url == "http://127.0.0.1:8720/v3"
    assert qbo.account_id == info["qbo"]["realm_id"]
    creds = project.credentials("qbo", environ={})
    token_url = qbo.get("token_url")
    assert token_url == "http://127.0.0.1:8720/oauth2/v1/tokens/bearer"
    with httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8720") as client:
        answer = client.post(
            token_url,
            auth=(creds.client_id, creds.client_secret),
            data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token},
            headers={"Accept": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        project.token_store().save(
            creds.extra["token_key"], {"refresh_token": body["refresh_token"], "access_token": body["access_token"]}
        )
        rotated = project.credentials("qbo", environ={})
        assert rotated.refresh_token == body["refresh_token"] != creds.refresh_token
        assert rotated.client_secret == creds.client_secret  # the pair's save kept the client credentials
        company = client.get(
            f"/v3/company/{qbo.account_id}/companyinfo/{qbo.account_id}",
            headers={"Authorization": f"Bearer {rotated.access_token}", "Accept": "application/json"},
        )
        assert company.status_code == 200, company.text


def test_procore_sandbox_project_refreshes_with_its_credentials(tmp_path: Path) -> None:
    box = create("procore", seed=False)  # OAuth needs no demo data
    info = {"procore": box.connection_info("http://127.0.0.1:8710")}
    write_sandbox_project(tmp_path, info)
    project = load_project(tmp_path)
    procore = project.connection("procore")
    creds = project.credentials("procore", environ={})
    with httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710") as client:
        answer = client.post(
            procore.get("login_url") + "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": creds.refresh_token,
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["access_token"]
