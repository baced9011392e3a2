"""The Connections page: an admin disconnects a system and connects it again through its OAuth
sign-in (the sandboxes approve at once), with the dashboard as the redirect address; the token
file follows, the new pair works, each step is audited; a viewer can do none of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from sandbox.transport import InProcessTransport
from web.accounts import Accounts


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    with dashboard(tmp_path_factory.mktemp("connections") / "p") as (pair, service, app):
        accounts = Accounts(service.session.state)
        accounts.add_user("ana", PASSWORD, "admin")
        accounts.add_user("vic", PASSWORD, "viewer")
        yield pair, service, app


def _approve(pair: Any, system: str, consent: str) -> str:
    """The person at the system's consent page pressing Approve: where the browser is sent back."""
    with httpx.Client(transport=InProcessTransport(pair.boxes[system].app)) as browser:
        answer = browser.get(consent)
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    assert back.netloc == "testserver" and back.path == f"/connections/{system}/callback"
    return f"{back.path}?{back.query}"


@pytest.mark.parametrize("system", ["procore", "qbo"])
def test_an_admin_disconnects_and_connects_again_through_the_sign_in(board: Any, system: str) -> None:
    pair, service, app = board
    project = service.project
    store, key = project.token_store(), project.token_key(system)
    c = client(app)
    sign_in(c, "ana")
    page = c.get("/connections").text
    assert f'action="/connections/{system}/disconnect"' in page
    gone = c.post(f"/connections/{system}/disconnect", data={"csrf": csrf_of(page)})
    assert gone.status_code == 303
    assert not (store.load(key) or {}).get("refresh_token")
    page = c.get(gone.headers["location"]).text
    assert "missing: sign in again" in page
    started = c.post(f"/connections/{system}/connect", data={"csrf": csrf_of(page)})
    assert started.status_code == 303
    consent = started.headers["location"]
    assert "redirect_uri=http%3A%2F%2Ftestserver%2Fconnections%2F" in consent
    callback = _approve(pair, system, consent)
    done = c.get(callback)
    assert done.status_code == 303 and done.headers["location"].startswith("/connections?done=connected")
    saved = store.load(key) or {}
    assert saved.get("access_token") and saved.get("refresh_token")
    flow = "companies_to_vendors" if system == "procore" else "vendors_to_companies"
    assert service.session.run(flow, dry_run=True).flows  # the new pair reads the system
    assert c.get(callback).status_code == 400  # a state is used once (S662)
    actions = [(e.action, e.target) for e in Accounts(service.session.state).audit_log()]
    assert ("connection.disconnect", system) in actions and ("connection.connect", system) in actions


def test_a_viewer_cannot_connect_or_disconnect(board: Any) -> None:
    pair, service, app = board
    admin = client(app)
    sign_in(admin, "ana")
    started = admin.post("/connections/qbo/connect", data={"csrf": csrf_of(admin.get("/connections").text)})
    callback = _approve(pair, "qbo", started.headers["location"])
    c = client(app)
    sign_in(c, "vic")
    page = c.get("/connections")
    assert page.status_code == 200 and "/connections/qbo/connect" not in page.text
    assert c.post("/connections/qbo/connect", data={"csrf": csrf_of(page.text)}).status_code == 403
    assert c.post("/connections/qbo/disconnect", data={"csrf": csrf_of(page.text)}).status_code == 403
    assert c.get(callback).status_code == 403  # another user's sign-in, and a viewer
    forged = admin.get("/connections/qbo/callback?code=x&state=not-started")
    assert forged.status_code == 400 and "S662" in forged.text
    assert admin.post("/connections/qbo/disconnect", data={}).status_code == 403  # no CSRF token


def test_the_onboarding_connect_step_signs_in_and_comes_back_to_itself(board: Any) -> None:
    pair, service, app = board
    c = client(app)
    sign_in(c, "ana")
    page = c.get("/onboard/connect").text
    assert 'action="/connections/qbo/connect"' in page and 'value="/onboard/connect"' in page
    store, key = service.project.token_store(), service.project.token_key("qbo")
    c.post("/connections/qbo/disconnect", data={"csrf": csrf_of(page)})
    page = c.get("/onboard/connect").text
    assert "not signed in" in page
    started = c.post("/connections/qbo/connect", data={"csrf": csrf_of(page), "next": "/onboard/connect"})
    done = c.get(_approve(pair, "qbo", started.headers["location"]))
    assert done.status_code == 303 and done.headers["location"] == "/onboard/connect?done=connected&system=qbo"
    assert (store.load(key) or {}).get("refresh_token")
    assert "Signed in to QuickBooks Online." in c.get(done.headers["location"]).text
    elsewhere = c.post("/connections/qbo/connect", data={"csrf": csrf_of(page), "next": "https://example.org/"})
    back = c.get(_approve(pair, "qbo", elsewhere.headers["location"]))
    assert back.headers["location"].startswith("/connections?")  # only Joist's own pages
