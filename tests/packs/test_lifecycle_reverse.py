"""Issue 16 item 15 end to end between the seeded sandboxes: the QBO-to-Procore directions the
product promises, each opt-in through its param. A QBO sub-customer under a project becomes
a Procore sub job (M1); a QBO employee becomes a Procore person (M10). Each arrives once,
never bounces back, and a second sync writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox_pair import SandboxPair, sandbox_pair

from .test_master_e2e import conns, fast_session, records, sandbox_params, sync


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[SandboxPair]:
    with sandbox_pair(tmp_path / "project", packs=["joist:master"], params=sandbox_params()) as pair:
        sync(pair)
        yield pair


def _switch_on(pair: SandboxPair, param: str) -> None:
    path = pair.project_dir / "joist.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["params"] = {**(doc.get("params") or {}), param: True}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _second_sync_writes_nothing(pair: SandboxPair) -> None:
    pair.clear_logs()
    sync(pair)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []


def _flow(report: Any, name: str) -> Any:
    return next(f for f in report.flows if f.flow == name)


def test_a_qbo_sub_customer_under_a_project_becomes_a_procore_sub_job(synced: SandboxPair) -> None:
    pair = synced
    qbo, procore = conns(pair)["qbo"], conns(pair)["procore"]
    project = next(p for p in records(procore, "projects") if p["name"] == "Riverside Medical Office")
    customer = pair.session.state.resolver("projects", toward="qbo")(str(project["id"]))
    qbo.create(
        "Customer",
        {
            "DisplayName": "Riverside Parking Deck",
            "CompanyName": "Parking Deck",
            "Job": True,
            "BillWithParent": True,
            "ParentRef": {"value": customer},
        },
        idempotency_key="test-sub-customer",
    )
    before = len(records(procore, "sub_jobs"))
    report = sync(pair)
    assert _flow(report, "qbo_sub_customers_to_sub_jobs").disabled  # opt-in
    assert len(records(conns(pair)["procore"], "sub_jobs")) == before

    _switch_on(pair, "qbo_sub_customers_to_sub_jobs")
    report = sync(pair)
    flow = _flow(report, "qbo_sub_customers_to_sub_jobs")
    assert dict(flow.counts).get("create") == 1
    procore = conns(pair)["procore"]
    made = [s for s in records(procore, "sub_jobs") if s["name"] == "Parking Deck"]
    assert [s["project_id"] for s in made] == [project["id"]]
    assert len(records(procore, "sub_jobs")) == before + 1  # the sub jobs Joist wrote to QBO did not come back
    _second_sync_writes_nothing(pair)


def test_a_qbo_employee_becomes_a_procore_person_where_the_param_says_so(synced: SandboxPair) -> None:
    pair = synced
    qbo = conns(pair)["qbo"]
    qbo.create(
        "Employee",
        {"DisplayName": "Dana Whitfield", "GivenName": "Dana", "FamilyName": "Whitfield", "EmployeeNumber": "E-207"},
        idempotency_key="test-employee",
    )
    state = pair.session.state
    linked = {link.qbo_id for link in state.links("employees")}
    waiting = [
        e for e in records(qbo, "Employee") if e["Id"] not in linked and e.get("Active", True) and e.get("FamilyName")
    ]
    people_before = len(records(conns(pair)["procore"], "people"))
    report = sync(pair)
    assert _flow(report, "qbo_employees_to_people").disabled  # opt-in

    _switch_on(pair, "qbo_employees_to_people")
    report = sync(pair)
    flow = _flow(report, "qbo_employees_to_people")
    assert dict(flow.counts).get("create") == len(waiting)
    people = records(conns(pair)["procore"], "people")
    dana = [p for p in people if (p["first_name"], p["last_name"]) == ("Dana", "Whitfield")]
    assert len(dana) == 1 and dana[0]["is_employee"]
    assert len(people) == people_before + len(waiting)  # the people Joist wrote to QBO did not come back
    session = fast_session(pair)
    link = session.state.find_link("employees", procore_id=str(dana[0]["id"]))
    assert link is not None and link.origin == "qbo"
    _second_sync_writes_nothing(pair)
