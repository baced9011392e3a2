"""The onboarding wizard's pages in-process: admin only, CSRF on every POST, audited, resumable,
and a small transfer firm onboarded page by page (the browser test does it as a user would)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from firm_checks import duplicates, one_sided_missing, unlinked_pairs
from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from engine.project.session import session_params
from sandbox.transfer_firm import build_firm
from terminal.transfer_scenario import seed_pair
from web.accounts import Accounts
from web.onboarding import PAGES

SCALE = 0.02


@pytest.fixture(scope="module")
def wizard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any, Any, dict[str, Any]]]:
    firm = build_firm(SCALE)
    options = {"procore": {"deliver_webhooks": False, "spike_limit": None}}
    with dashboard(tmp_path_factory.mktemp("onboard") / "p", options=options) as (pair, service, app):
        ids = seed_pair(pair.boxes, firm)
        accounts = Accounts(service.session.state)
        accounts.add_user("ana", PASSWORD, "admin")
        accounts.add_user("vic", PASSWORD, "viewer")
        c = client(app)
        sign_in(c, "ana")
        yield pair, service, c, app, {"firm": firm, "ids": ids}


def post(c: Any, path: str, **data: Any) -> Any:
    page = c.get(path)
    assert page.status_code == 200, page.text[-2000:]
    return c.post(path, data={"csrf": csrf_of(page.text), **data})


def test_a_viewer_sees_no_wizard_and_a_post_needs_the_csrf_token(wizard: Any) -> None:
    pair, service, c, app, _firm = wizard
    viewer = client(app)
    sign_in(viewer, "vic")
    for page in ("/onboard", "/onboard/connect", "/onboard/go_live/progress"):
        refused = viewer.get(page)
        assert refused.status_code == 403 and "S657" in refused.text
    assert "/onboard" not in viewer.get("/overview").text  # not in a viewer's menu
    assert 'href="/onboard"' in c.get("/overview").text
    assert c.post("/onboard/connect", data={}).status_code == 403  # no CSRF token
    assert c.get("/onboard/match").headers["location"] == "/onboard/connect"  # not reached yet


@pytest.mark.slow
def test_the_transfer_firm_is_onboarded_page_by_page(wizard: Any, tmp_path: Path) -> None:
    pair, service, c, app, seeded = wizard
    firm, ids = seeded["firm"], seeded["ids"]
    assert c.get("/onboard").headers["location"] == "/onboard/connect"
    assert post(c, "/onboard/connect").status_code == 303
    page = html.unescape(c.get("/onboard/connect").text)
    assert "realm" in page and "USD" in page
    assert c.get("/onboard").headers["location"] == "/onboard/flows"  # resumes at the first step not settled
    flows = re.findall(r'name="flow" value="([^"]+)"', c.get("/onboard/flows").text)
    assert post(c, "/onboard/flows", flow=flows).status_code == 303
    params = c.get("/onboard/params").text
    services = re.search(r'<option value="([^"]+)"[^>]*>Services</option>', params)
    assert services, "the QBO items are offered as choices"
    bad = post(c, "/onboard/params", **{"param:retainage_receivable_item": "no-such-item"})
    assert bad.status_code == 400 and "M430" in bad.text
    done = post(c, "/onboard/params", **{"param:retainage_receivable_item": services.group(1)})
    assert done.status_code == 303, done.text[-2000:]
    before = dict(session_params(pair.session))
    assert {k: v for k, v in session_params(pair.reopen()).items() if before.get(k) != v} == {
        "retainage_receivable_item": services.group(1)
    }  # the fields shown with their current values change nothing else
    assert c.get("/onboard").headers["location"] == "/onboard/transfer"
    vendor = next(v for v in firm.vendors if v.side == "both")
    mapping = f"entity,procore_id,qbo_id\nvendors,{ids['procore'][vendor.key]},{ids['qbo'][vendor.key]}\n"
    token = csrf_of(c.get("/onboard/transfer").text)
    imported = c.post("/onboard/transfer", data={"csrf": token}, files={"mapping": ("export.csv", mapping)})
    assert imported.status_code == 200 and "Pairs imported so far: 1" in html.unescape(imported.text)
    empty = c.post("/onboard/transfer", data={"csrf": token}, files={"mapping": ("export.csv", "")})
    assert empty.status_code == 400 and "S710" in empty.text
    assert post(c, "/onboard/match", threshold="2").status_code == 400  # S711
    assert post(c, "/onboard/match", threshold="0.99").status_code == 303  # exact-key matches (0.98) to review
    match = html.unescape(c.get("/onboard/match").text)
    assert "Accepted matches" in match and re.search(r'class="num">(0\.9\d|1\.00)</td><td class="detail">\w', match)
    review = html.unescape(c.get("/onboard/review").text)
    waiting = int(re.search(r"(\d+) records wait for a decision", review).group(1))
    assert waiting > 25 and "Page 1 of" in review and review.count('<fieldset class="proposal">') == 25
    first = {k: re.search(rf'name="{k}0" value="([^"]+)"', review).group(1) for k in ("k", "s")}
    assert 'value="accept"' in review and "DisplayName equal" in review  # candidates with confidence and reason
    no_id = post(c, "/onboard/review?page=1", count="1", k0=first["k"], s0=first["s"], d0="other", o0="")
    assert no_id.status_code == 400 and "S713" in no_id.text
    one = post(c, "/onboard/review?page=1", count="1", k0=first["k"], s0=first["s"], d0="accept")
    assert one.status_code == 303 and one.headers["location"] == "/onboard/review?page=1"
    left = html.unescape(c.get("/onboard/review").text)
    assert f"{waiting - 1} records wait for a decision" in left and first["s"] not in left
    assert post(c, "/onboard/review", rest="accept").headers["location"] == "/onboard/preview"
    assert post(c, "/onboard/preview").status_code == 303
    plan = c.get("/onboard/preview").text
    assert "<table" in plan and "companies_to_vendors" in plan
    assert post(c, "/onboard/reconcile").status_code == 303
    assert "linked projects equal" in c.get("/onboard/reconcile").text
    assert post(c, "/onboard/go_live").status_code == 303
    deadline = time.monotonic() + 600
    while "Live: the first sync is done" not in (fragment := html.unescape(c.get("/onboard/go_live/progress").text)):
        assert "alert" not in fragment, fragment
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert c.get("/onboard").headers["location"] == "/onboard/go_live"
    session = pair.reopen()
    connectors = session.connectors({"procore", "qbo"})
    assert duplicates(connectors) == {}
    assert unlinked_pairs(session.state, firm, ids) == []
    assert one_sided_missing(session.state, firm, ids) == []
    actions = {e.action for e in Accounts(service.session.state).audit_log(100)}
    assert {f"onboard.{s}" for s in ("connect", "flows", "params", "import", "match", "review", "go_live")} <= actions
    assert len(PAGES) == 9
