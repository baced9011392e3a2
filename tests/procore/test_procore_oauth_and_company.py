"""Fidelity checks 2 and 3: the company header, and the OAuth lifecycle (server and connector)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from connectors.base import AuthError, Credentials
from connectors.procore import ProcoreConnector
from connectors.procore.errors import RefreshTokenInvalid
from connectors.tokens import FileTokenStore, MemoryTokenStore
from sandbox.procore.app import create_sandbox
from sandbox.server import ServerThread


def token(client: Any, box: Any, **fields) -> Any:
    return client.post("/oauth/token", data={"client_id": box.client_id, "client_secret": box.client_secret, **fields})


def test_company_scoped_calls_need_the_header_but_me_and_companies_do_not(raw: Any) -> None:
    missing = raw.get("/rest/v1.0/vendors", company=False, company_id=raw.company)
    assert missing.status_code == 400 and "Missing Procore-Company-Id header!" in missing.json()["errors"]
    assert raw.get("/rest/v1.0/me", company=False).status_code == 200
    companies = raw.get("/rest/v1.0/companies", company=False)
    assert companies.status_code == 200 and [c["id"] for c in companies.json()] == [raw.company]
    raw.company = raw.company + 1  # a company the app is not installed in
    assert raw.get("/rest/v1.0/vendors", company_id=raw.company).status_code == 403


def test_the_company_id_parameter_is_still_required_where_the_endpoint_defines_it(raw: Any) -> None:
    answer = raw.get("/rest/v1.0/vendors")
    assert answer.status_code == 400 and "company_id" in answer.json()["errors"]


def test_lenient_mode_serves_a_client_sending_only_company_id(client: Any) -> None:
    box = create_sandbox(strict_company_header=False, deliver_webhooks=False)
    import httpx

    from sandbox.transport import InProcessTransport

    with httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710") as lenient:
        answer = lenient.get(
            "/rest/v1.0/projects",
            params={"company_id": box.company_id},
            headers={"Authorization": f"Bearer {box.access_token()}"},
        )
        assert answer.status_code == 200 and len(answer.json()) == 3


def test_client_credentials_token_shape(client: Any, box: Any) -> None:
    answer = token(client, box, grant_type="client_credentials")
    body = answer.json()
    assert answer.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "created_at"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 5400 and isinstance(body["created_at"], int)


def test_refresh_tokens_rotate_and_work_once(client: Any, box: Any) -> None:
    first = box.connection_info("x")["refresh_token"]
    answer = token(client, box, grant_type="refresh_token", refresh_token=first)
    assert answer.status_code == 200 and answer.json()["refresh_token"] != first
    again = token(client, box, grant_type="refresh_token", refresh_token=first)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert (
        token(client, box, grant_type="refresh_token", refresh_token=answer.json()["refresh_token"]).status_code == 200
    )


def test_token_endpoint_accepts_urlencoded_multipart_and_json(client: Any, box: Any) -> None:
    fields = {"grant_type": "client_credentials", "client_id": box.client_id, "client_secret": box.client_secret}
    assert client.post("/oauth/token", data=fields).status_code == 200
    assert client.post("/oauth/token", files={k: (None, v) for k, v in fields.items()}).status_code == 200
    assert client.post("/oauth/token", json=fields).status_code == 200
    wrong = client.post("/oauth/token", json={**fields, "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_access_tokens_expire_after_5400_seconds(client: Any, box: Any) -> None:
    access = token(client, box, grant_type="client_credentials").json()["access_token"]
    headers = {"Authorization": f"Bearer {access}", "Procore-Company-Id": str(box.company_id)}
    assert client.get("/rest/v1.0/me", headers=headers).status_code == 200
    box.control.clock.advance(5401)
    expired = client.get("/rest/v1.0/me", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["errors"]


def test_revoke_kills_access_and_refresh_token(client: Any, box: Any) -> None:
    pair = token(
        client, box, grant_type="refresh_token", refresh_token=box.connection_info("x")["refresh_token"]
    ).json()
    assert (
        client.post(
            "/oauth/revoke",
            data={"token": pair["access_token"], "client_id": box.client_id, "client_secret": box.client_secret},
        ).status_code
        == 200
    )
    assert client.get("/rest/v1.0/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).status_code == 401
    assert token(client, box, grant_type="refresh_token", refresh_token=pair["refresh_token"]).status_code == 400
    assert client.post("/oauth/revoke", data={"token": "not-a-token"}).status_code == 200


def test_authorization_code_flow_auto_approves_and_connector_exchanges_the_code(box: Any, transport: Any) -> None:
    store = MemoryTokenStore()
    clock = box.control.clock
    connector = ProcoreConnector(
        "http://127.0.0.1:8710",
        box.company_id,
        Credentials(box.client_id, box.client_secret),
        store,
        transport=transport,
        sleep=clock.advance,
        now=clock.monotonic,
        wall=clock.now,
    )
    url = connector.auth.authorize_url("http://localhost:9999/callback", state="xyz")
    answer = connector.client.get(url)
    assert answer.status_code == 302
    query = parse_qs(urlparse(answer.headers["location"]).query)
    assert query["state"] == ["xyz"]
    connector.auth.exchange_code(query["code"][0], "http://localhost:9999/callback")
    assert store.load(f"procore:{box.company_id}")["refresh_token"]
    assert connector.get("vendors", "1") is None  # an authenticated call works (and 404 reads as None)
    with pytest.raises(RefreshTokenInvalid):
        connector.auth.exchange_code(query["code"][0], "http://localhost:9999/callback")  # codes are single-use


def test_connector_persists_each_rotated_refresh_token_before_using_it(box: Any, transport: Any, tmp_path: Any) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    clock = box.control.clock
    first = box.connection_info("x")["refresh_token"]
    saved: list[str] = []
    original = store.save

    def spy(key: Any, tokens: Any) -> Any:
        saved.append(tokens["refresh_token"])
        original(key, tokens)

    store.save = spy  # type: ignore[method-assign]
    connector = ProcoreConnector(
        "http://127.0.0.1:8710",
        box.company_id,
        Credentials(box.client_id, box.client_secret, refresh_token=first),
        store,
        transport=transport,
        sleep=clock.advance,
        now=clock.monotonic,
        wall=clock.now,
    )
    assert connector.read("vendors")
    list(connector.read("vendors"))
    clock.advance(5400)
    list(connector.read("departments"))  # the token expired: a second refresh
    assert len(saved) == 2 and first not in saved and saved[0] != saved[1]
    on_disk = json.loads((tmp_path / "tokens.json").read_text())
    assert on_disk[f"procore:{box.company_id}"]["refresh_token"] == saved[-1]
    assert oct((tmp_path / "tokens.json").stat().st_mode & 0o777) == "0o600"
    # A second connector built from the same store resumes with the rotated token, not the dead one.
    again = ProcoreConnector(
        "http://127.0.0.1:8710",
        box.company_id,
        Credentials(box.client_id, box.client_secret, refresh_token=first),
        FileTokenStore(tmp_path / "tokens.json"),
        transport=transport,
        sleep=clock.advance,
        now=clock.monotonic,
        wall=clock.now,
    )
    clock.advance(5400)
    assert list(again.read("departments"))


def test_a_reused_refresh_token_is_a_typed_error_without_secrets(box: Any, transport: Any) -> None:
    clock = box.control.clock
    used = box.connection_info("x")["refresh_token"]
    import httpx

    httpx.Client(transport=transport, base_url="http://127.0.0.1:8710").post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": used,
            "client_id": box.client_id,
            "client_secret": box.client_secret,
        },
    )
    connector = ProcoreConnector(
        "http://127.0.0.1:8710",
        box.company_id,
        Credentials(box.client_id, box.client_secret, refresh_token=used),
        MemoryTokenStore(),
        transport=transport,
        sleep=clock.advance,
        now=clock.monotonic,
        wall=clock.now,
    )
    with pytest.raises(AuthError) as caught:
        list(connector.read("vendors"))
    text = caught.value.format()
    assert caught.value.code == "C540" and "joist connect procore" in text
    assert used not in text and box.client_secret not in text


def _pypi_procore() -> None:
    try:
        from procore import Procore  # noqa: F401

        return
    except ImportError:  # not installed, or tests/procore (on sys.path) taken for it as a namespace package
        sys.modules.pop("procore", None)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "procore==0.1.0"], capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        pytest.skip(f"the PyPI procore 0.1.0 client could not be installed: {done.stderr.strip()[-200:]}")
    importlib.invalidate_caches()  # the finders cached site-packages before the install


def test_pypi_procore_client_lists_companies_and_projects_over_loopback() -> None:
    _pypi_procore()
    from procore import Procore

    box = create_sandbox(strict_company_header=False, deliver_webhooks=False)
    with ServerThread(box.app) as server:
        info = box.connection_info(server.base_url)
        client = Procore(
            login_url=server.base_url,
            base_url=server.base_url + "/rest/v1.0",
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            refresh_token=info["refresh_token"],
        )
        companies = client.companies.get()
        assert [c["id"] for c in companies] == [box.company_id]
        projects = client.projects.get(box.company_id)
        assert sorted(p["name"] for p in projects) == [
            "Harbor Warehouse Expansion",
            "Maple Street Townhomes",
            "Riverside Medical Office",
        ]
    hits = [(e.method, e.path) for e in box.control.log.entries]
    assert ("POST", "/oauth/token") in hits and ("GET", "/rest/v1.0/projects") in hits


def test_a_revoked_access_token_is_refreshed_once_and_the_call_retried(
    new_connector: Any, box: Any, read_all: Any
) -> None:
    connector = new_connector()
    assert read_all(connector, "departments")
    dead = connector.auth.credentials.access_token
    box.oauth.grants[dead].revoked = True
    assert len(read_all(connector, "departments")) == 2
    assert connector.auth.credentials.access_token != dead
    statuses = [(e.path, e.status) for e in box.control.log.entries]
    assert ("/rest/v1.0/departments", 401) in statuses
