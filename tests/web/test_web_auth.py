"""Sign-in and safety of the dashboard: first admin, scrypt hashes, signed cookies, CSRF, roles,
the sign-in rate limit and the audit log, through the real application in-process."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from web.accounts import Accounts
from web.security import SESSION_COOKIE


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    with dashboard(tmp_path_factory.mktemp("web") / "p") as made:
        yield made


def test_first_visit_asks_for_the_admin_then_signs_in(board: Any) -> None:
    pair, service, app = board
    c = client(app)
    first = c.get("/overview")
    assert first.headers["location"] == "/setup"
    cookie = first.headers["set-cookie"].lower()
    page = c.get("/setup")
    assert page.status_code == 200 and "Create the admin" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY"
    assert "httponly" in cookie and "samesite=lax" in cookie
    short = c.post("/setup", data={"csrf": csrf_of(page.text), "name": "ana", "password": "short", "confirm": "short"})
    assert short.status_code == 400 and "S652" in short.text
    made = c.post("/setup", data={"csrf": csrf_of(page.text), "name": "ana", "password": PASSWORD, "confirm": PASSWORD})
    assert made.status_code == 303 and made.headers["location"] == "/overview"
    assert c.get("/overview").status_code == 200
    # once a user exists, setup is closed
    assert client(app).get("/setup").headers["location"] == "/login"
    row = service.session.state.query("SELECT password_hash, role FROM web_users WHERE name = 'ana'")[0]
    assert row["password_hash"].startswith("scrypt$16384$8$1$") and PASSWORD not in row["password_hash"]
    assert row["role"] == "admin"
    secret = service.project.state_path.parent / "web-secret"
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600


def test_a_forged_or_missing_cookie_is_not_signed_in(board: Any) -> None:
    pair, service, app = board
    c = client(app)
    sign_in(c, "ana")
    good = c.cookies[SESSION_COOKIE]
    payload, signature = good.rsplit(".", 1)
    forged = client(app)
    forged.cookies.set(SESSION_COOKIE, payload + "." + signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB"))
    assert forged.get("/overview").headers["location"] == "/login"


def test_a_post_without_the_csrf_token_is_refused(board: Any) -> None:
    pair, service, app = board
    c = client(app)
    sign_in(c, "ana")
    refused = c.post("/overview/layout", data={"action": "remove", "widget": "inbox"})
    assert refused.status_code == 403 and "S656" in refused.text
    wrong = c.post("/overview/layout", data={"csrf": "x" * 43, "action": "remove", "widget": "inbox"})
    assert wrong.status_code == 403
    assert Accounts(service.session.state).layout("ana") is None  # nothing changed


def test_a_viewer_sees_no_retry_and_its_post_is_403(board: Any) -> None:
    pair, service, app = board
    accounts = Accounts(service.session.state)
    accounts.add_user("vic", PASSWORD, "viewer", by="test")
    service.session.state.record_failure("companies_to_vendors", "123", code="C501", message="refused")
    try:
        c = client(app)
        assert sign_in(c, "vic").status_code == 303
        page = c.get("/failures")
        assert page.status_code == 200 and "123" in page.text and "Retry" not in page.text
        refused = c.post("/failures/retry", data={"csrf": csrf_of(page.text), "all": "1"})
        assert refused.status_code == 403 and "S657" in refused.text
        assert service.session.state.failures()  # untouched
        settings = c.post("/settings", data={"csrf": csrf_of(page.text), "p.customer_name_suffix": " (X)"})
        assert settings.status_code == 403
        admin = client(app)
        sign_in(admin, "ana")
        assert "Retry all" in admin.get("/failures").text
    finally:
        service.session.state.clear_failure("companies_to_vendors", "123")


def test_sign_in_is_rate_limited_per_address(board: Any) -> None:
    pair, service, app = board
    c = client(app)
    for _ in range(5):
        assert sign_in(c, "ana", "wrong password!").status_code == 401
    limited = sign_in(c, "ana", PASSWORD)
    assert limited.status_code == 429 and "S655" in limited.text
    service.session.state.query("SELECT 1")  # the store still answers
    with service.session.state.transaction():
        service.session.state.execute("DELETE FROM web_logins")
    assert sign_in(c, "ana").status_code == 303


def test_every_change_is_in_the_audit_log_page(board: Any) -> None:
    pair, service, app = board
    c = client(app)
    sign_in(c, "ana")
    page = c.get("/overview")
    moved = c.post(
        "/overview/layout", data={"csrf": csrf_of(page.text), "action": "move", "widget": "inbox", "value": "-1"}
    )
    assert moved.status_code == 303
    audit = c.get("/audit").text
    assert "layout.save" in audit and "user.add" in audit and "ana" in audit


def test_joist_user_add_makes_a_user_who_can_sign_in(board: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    import cli

    pair, service, app = board
    result = CliRunner().invoke(
        cli.main,
        ["--project", str(pair.project_dir), "user", "add", "olga", "--role", "viewer", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(
        cli.main,
        ["--project", str(pair.project_dir), "user", "add", "olga", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert again.exit_code == 1 and "S651" in again.output and "Traceback" not in again.output
    assert sign_in(client(app), "olga").status_code == 303
