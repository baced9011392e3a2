"""The dashboard's pages read the engine's own answers: a project synced once with the sandboxes,
its service's web app in-process, an admin signed in."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from typing import Any

import pytest
from webkit import PASSWORD, client, csrf_of, dashboard, sign_in

from engine.language.graph import build_graph
from web.accounts import Accounts
from web.errors import BadLayout
from web.widgets import DEFAULT_LAYOUT, change_layout


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    with dashboard(tmp_path_factory.mktemp("pages") / "p") as (pair, service, app):
        report = service.session.run(None)
        assert report.ok
        Accounts(service.session.state).add_user("ana", PASSWORD, "admin")
        c = client(app)
        sign_in(c, "ana")
        yield pair, service, c


def test_layout_edits() -> None:
    layout = [dict(i) for i in DEFAULT_LAYOUT]
    moved = change_layout(layout, "move", "inbox", "-1")
    assert [i["widget"] for i in moved][1:3] == ["inbox", "failures"]
    assert change_layout(layout, "move", "connections", "-1") == layout  # the first stays first
    assert change_layout(layout, "size", "inbox", "large")[2] == {"widget": "inbox", "size": "large"}
    assert "inbox" not in [i["widget"] for i in change_layout(layout, "remove", "inbox")]
    assert change_layout(layout, "add", "reconcile", "small")[-1] == {"widget": "reconcile", "size": "small"}
    placed = [i["widget"] for i in change_layout(layout, "place", "connections", "2")]
    assert placed[2] == "connections" and placed[:2] == [i["widget"] for i in layout][1:3]
    assert [i["widget"] for i in change_layout(layout, "place", "connections", "99")][-1] == "connections"
    with pytest.raises(BadLayout):
        change_layout(layout, "add", "weather")
    with pytest.raises(BadLayout):
        change_layout(layout, "size", "inbox", "huge")


def test_flows_page_draws_every_flow_and_edge_of_the_graph(admin: Any) -> None:
    pair, service, c = admin
    page = c.get("/flows").text
    graph = build_graph(service.session.ruleset)
    assert page.count('<g class="node') == graph.number_of_nodes()
    assert page.count('class="edge"') == graph.number_of_edges()
    assert "<script" not in page.split("<main>", 1)[1]  # server-side SVG, no script


def test_every_flow_is_switched_off_and_on_from_the_flows_page(admin: Any) -> None:
    pair, service, c = admin
    page = c.get("/flows").text
    assert 'value="bills_to_requisitions"' in page  # enabled: params.bills_to_requisitions (false)
    assert 'value="companies_to_vendors"' in page  # always on by its rule: switched in the project
    done = c.post("/flows/toggle", data={"csrf": csrf_of(page), "flow": "bills_to_requisitions"})
    assert done.status_code == 303
    assert "bills_to_requisitions: true" in (pair.project_dir / "joist.yaml").read_text()
    assert service.project.params["bills_to_requisitions"] is True
    off = c.post("/flows/toggle", data={"csrf": csrf_of(page), "flow": "companies_to_vendors"})
    assert off.status_code == 303
    assert "flows:\n  companies_to_vendors:\n    enabled: false" in (pair.project_dir / "joist.yaml").read_text()
    report = service.session.run(None, dry_run=True)  # the service's session honours it at once
    assert {f.flow: f.disabled for f in report.flows}["companies_to_vendors"] is not None
    page = c.get("/flows").text
    assert "switched off in this project" in page
    audit = c.get("/audit").text
    assert "flow.enable" in audit and "flow.disable" in audit
    assert c.post("/flows/toggle", data={"csrf": csrf_of(page), "flow": "companies_to_vendors"}).status_code == 303
    assert "flows:" not in (pair.project_dir / "joist.yaml").read_text()
    assert c.post("/flows/toggle", data={"flow": "companies_to_vendors"}).status_code == 403  # no CSRF token
    unknown = c.post("/flows/toggle", data={"csrf": csrf_of(page), "flow": "no_such_flow"})
    assert unknown.status_code == 400


def test_records_search_and_explain(admin: Any) -> None:
    pair, service, c = admin
    link = next(l for l in service.session.state.links() if l.flow == "companies_to_vendors")
    found = html.unescape(c.get(f"/records?q={link.qbo_id}").text)
    assert f"/records/companies_to_vendors/{link.procore_id}" in found
    explained = html.unescape(c.get(f"/records/companies_to_vendors/{link.procore_id}").text)
    assert "DisplayName" in explained and f"qbo.Vendor {link.qbo_id}" in explained
    numbered = next(l for l in service.session.state.links() if l.qbo_payload and '"DocNumber"' in l.qbo_payload)
    number = json.loads(numbered.qbo_payload)["DocNumber"]
    by_number = html.unescape(c.get("/records", params={"q": number}).text)
    assert f"<td>{numbered.qbo_id}</td>" in by_number and f"<td>{numbered.link_set}</td>" in by_number
    assert "No linked record" in c.get("/records", params={"q": number[:-1] + "%"}).text  # no wildcard
    missing = c.get("/records/companies_to_vendors/1")
    assert missing.status_code == 400 and "Traceback" not in missing.text


def test_a_record_is_unlinked_and_linked_again_from_its_page(admin: Any) -> None:
    pair, service, c = admin
    state = service.session.state
    link = next(l for l in state.links() if l.flow == "companies_to_vendors")
    page_url = f"/records/companies_to_vendors/{link.procore_id}"
    page = html.unescape(c.get(page_url).text)
    assert f"Linked to qbo Vendor {link.qbo_id}" in page
    gone = c.post(f"{page_url}/unlink", data={"csrf": csrf_of(page)})
    assert gone.status_code == 303
    assert state.find_link("vendors", procore_id=link.procore_id) is None
    name = json.loads(link.qbo_payload or "{}")["DisplayName"]
    searched = html.unescape(c.get(page_url, params={"twin_q": name[2:-1].lower()}).text)
    assert f'name="twin" value="{link.qbo_id}"' in searched and name in searched
    with service.session.lock("sync"):  # a sync in hand: the page waits for it, then refuses
        busy = c.post(f"{page_url}/link", data={"csrf": csrf_of(page), "twin": link.qbo_id})
    assert busy.status_code == 400 and "S607" in busy.text
    wrong = c.post(f"{page_url}/link", data={"csrf": csrf_of(page), "twin": "987654"})
    assert wrong.status_code == 400 and "S623" in wrong.text  # checked in QBO first, as `joist link` does
    made = c.post(f"{page_url}/link", data={"csrf": csrf_of(page), "twin": link.qbo_id})
    assert made.status_code == 303
    again = state.find_link("vendors", procore_id=link.procore_id)
    assert again is not None and (again.qbo_id, again.origin) == (link.qbo_id, "manual")
    audit = c.get("/audit").text
    assert "record.link" in audit and "record.unlink" in audit


def test_runs_and_one_run(admin: Any) -> None:
    pair, service, c = admin
    runs = c.get("/runs").text
    last = service.session.state.runs(1)[0]
    assert f'href="/runs/{last.id}"' in runs
    one = c.get(f"/runs/{last.id}").text
    assert last.status in one and "create" in one
    made = [l for l in service.session.state.links() if l.flow == "companies_to_vendors"]
    vendors = c.get(f"/runs/{last.id}", params={"flow": "companies_to_vendors"}).text
    assert all(f"<td>{l.qbo_id}</td>" in vendors for l in made)  # the records this run wrote
    assert "wbs_to_items</td>" not in vendors  # filtered to one flow


def test_a_run_remembers_what_it_did_to_each_record(admin: Any) -> None:
    pair, service, c = admin
    first = min(r.id for r in service.session.state.runs(50))  # the fixture's sync, which created everything
    recorded = service.session.state.run_outcomes(first)
    counts = service.session.state.query("SELECT counts FROM runs WHERE id = ?", (first,))[0]["counts"]
    totals = json.loads(counts)
    for action in ("create", "update", "adopt", "error"):
        assert sum(1 for r in recorded if r["action"] == action) == totals.get(action, 0)
    assert totals["create"] > 0
    vendor = next(l for l in service.session.state.links("vendors") if l.flow == "companies_to_vendors")
    assert {"flow": "companies_to_vendors", "source_id": vendor.procore_id, "action": "create"}.items() <= next(
        r for r in recorded if r["source_id"] == vendor.procore_id and r["flow"] == "companies_to_vendors"
    ).items()
    page = html.unescape(c.get(f"/runs/{first}", params={"flow": "companies_to_vendors"}).text)
    assert f"<td>{vendor.procore_id}</td>" in page and f"<td>{vendor.qbo_id}</td>" in page
    assert "created, updated or failed on" in page and "wbs_to_items</td>" not in page
    quiet = service.session.run("companies_to_vendors")  # nothing changed since: a run that wrote nothing
    assert "This run wrote no record." in c.get(f"/runs/{quiet.run_id}").text
    assert c.get("/runs?status=nonesuch").text.count('href="/runs/') == 0


def test_reconcile_highlights_what_differs(admin: Any) -> None:
    pair, service, c = admin
    report = service.session.state  # the page reads the same report as `joist reconcile`
    page = c.get("/reconcile").text
    assert page.count('class="card project') >= 1 and "<svg" in page
    differing = page.count('<tr class="differs">')
    from engine.project.session import session_params
    from engine.reports.reconcile import reconcile

    connectors = service.session.connectors({"procore", "qbo"})
    expected = reconcile(connectors["procore"], connectors["qbo"], report, session_params(service.session))
    assert differing == sum(1 for p in expected.projects for f in p.figures if not f.equal) + len(expected.mismatches)


def test_settings_save_refuses_what_validate_refuses(admin: Any) -> None:
    pair, service, c = admin
    page = c.get("/settings").text
    assert 'name="p.item_income_account"' in page and "Construction Income (14)" in html.unescape(page)
    before = (pair.project_dir / "joist.yaml").read_text()
    bad = c.post("/settings", data={"csrf": csrf_of(page), "p.customer_company_ids": "[5000000026"})
    assert bad.status_code == 400 and "S659" in bad.text
    assert (pair.project_dir / "joist.yaml").read_text() == before
    saved = c.post("/settings", data={"csrf": csrf_of(page), "p.customer_name_suffix": " (client)"})
    assert saved.status_code == 303
    assert "customer_name_suffix: ' (client)'" in (pair.project_dir / "joist.yaml").read_text()
