"""The master pack's switches end to end: what each param changes on the seeded sandboxes.

cost codes as accounts instead of items, projects as QBO locations, people as vendors, a
company that is both customer and vendor (the name suffix), existing QBO projects adopted
by name, and tax codes in an Australian company.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox_pair import SandboxPair, sandbox_pair

PACK = Path(__file__).resolve().parents[2] / "rules" / "master"
SELECT = "path:rules/master"


def params(**extra: Any) -> dict[str, Any]:
    return {**yaml.safe_load((PACK / "_sandbox_params.yaml").read_text()), **extra}


def records(pair: SandboxPair, system: str, entity: str) -> list[dict[str, Any]]:
    connector = pair.session.connectors({system})[system]
    return [r for page in connector.read(entity) for r in page.records]


def fast_session(pair: SandboxPair) -> Any:
    """A fresh session (as the next `joist` command) whose connectors pace themselves on the
    sandboxes' movable clocks: client-side rate limiting advances the clock instead of sleeping."""
    from engine.project.connections import open_connector
    from sandbox.transport import InProcessTransport

    session = pair.reopen()
    for system, box in pair.boxes.items():
        clock = box.control.clock
        session._connectors[system] = open_connector(
            session.project,
            system,
            transport=session.transports.get(system) or InProcessTransport(box.app),
            sleep=clock.advance,
            now=clock.monotonic,
            wall=clock.now,
        )
    return session


def sync(pair: SandboxPair) -> Any:
    report = fast_session(pair).run(SELECT)
    errors = [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]
    assert errors == []
    return report


def assert_quiet_second_sync(pair: SandboxPair) -> None:
    pair.clear_logs()
    sync(pair)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []


@pytest.fixture
def make_pair(tmp_path: Path) -> Iterator[Any]:
    opened: list[Any] = []

    def make(**extra: Any) -> SandboxPair:
        manager = sandbox_pair(tmp_path / f"p{len(opened)}", packs=["joist:master"], params=params(**extra))
        opened.append(manager)
        return manager.__enter__()

    yield make
    for manager in reversed(opened):
        manager.__exit__(None, None, None)


def test_cost_codes_as_accounts_make_sub_accounts_under_the_table_s_accounts(make_pair: Any) -> None:
    pair = make_pair(cost_codes_as="accounts")
    sync(pair)
    counts = pair.session.state.link_counts()
    assert counts["cost_codes"] == len(records(pair, "procore", "cost_codes"))
    assert "cost_code_items" not in counts
    accounts = {a["Name"]: a for a in records(pair, "qbo", "Account")}
    supervision = accounts["2024-001-01-100 Supervision"]
    assert supervision["SubAccount"] is True and supervision["ParentRef"]["value"] == accounts["Payroll Expenses"]["Id"]
    assert accounts["2024-002-03-300 Cast-in-Place Concrete"]["ParentRef"]["value"] == accounts["Subcontractors"]["Id"]
    assert_quiet_second_sync(pair)


def test_projects_as_locations_make_a_location_per_active_project(make_pair: Any) -> None:
    pair = make_pair(projects_as_locations=True)
    report = sync(pair)
    names = {d["Name"] for d in records(pair, "qbo", "Department")}
    assert {
        "2024-001 Riverside Medical Office",
        "2024-002 Maple Street Townhomes",
        "2024-003 Harbor Warehouse Expansion",
    } <= names
    assert "2023-017 Legacy Retail Remodel" not in names
    # the QBO-born project (Riverside Phase 1) comes to Procore and gets its location in the same run
    assert "Riverside Phase 1" in names
    assert pair.session.state.link_counts()["locations"] == 4
    flows = {f.flow: f for f in report.flows}
    assert flows["qbo_departments_to_departments"].disabled
    assert_quiet_second_sync(pair)


def test_people_as_vendors_stay_out_of_the_procore_directory(make_pair: Any) -> None:
    pair = make_pair(people_as="vendors")
    sync(pair)
    vendors = {v["DisplayName"]: v for v in records(pair, "qbo", "Vendor")}
    assert {"Luis Ortega", "Ana Reyes"} <= set(vendors)
    assert "Luis Ortega" not in {c["name"] for c in records(pair, "procore", "vendors")}
    assert {e["DisplayName"] for e in records(pair, "qbo", "Employee")} == {"Maria Lopez", "James Chen"}
    assert_quiet_second_sync(pair)


def test_a_company_that_is_customer_and_vendor_gets_the_suffix_on_the_customer(make_pair: Any) -> None:
    pair = make_pair(dual_role_group_ids=["8"])
    procore = pair.session.connectors({"procore"})["procore"]
    summit = next(v for v in records(pair, "procore", "vendors") if v["name"] == "Summit Concrete LLC")
    procore.update("vendors", str(summit["id"]), {"vendor_group_id": "8"})
    sync(pair)
    assert "Summit Concrete LLC (C)" in {c["DisplayName"] for c in records(pair, "qbo", "Customer")}
    assert "Summit Concrete LLC" in {v["DisplayName"] for v in records(pair, "qbo", "Vendor")}
    names = [c["name"] for c in records(pair, "procore", "vendors")]
    assert names.count("Summit Concrete LLC") == 1 and "Summit Concrete LLC (C)" not in names
    assert_quiet_second_sync(pair)


@pytest.mark.parametrize("existing", ["2024-002 Maple Street Townhomes", "Maple Street Townhomes"])
def test_an_existing_qbo_project_is_adopted_by_number_and_name_or_by_name(make_pair: Any, existing: str) -> None:
    pair = make_pair()
    qbo = pair.session.connectors({"qbo"})["qbo"]
    owner = next(c for c in records(pair, "qbo", "Customer") if c["DisplayName"] == "Oakwood Estates")
    made = qbo.create(
        "Customer",
        {"DisplayName": existing, "Job": True, "ParentRef": {"value": owner["Id"]}},
        idempotency_key="test-existing-project",
    )
    sync(pair)
    # adopted as it is (the pair counts as in sync until one side changes), never duplicated
    maple = [c for c in records(pair, "qbo", "Customer") if "Maple Street" in c["DisplayName"]]
    assert [(c["Id"], c["DisplayName"]) for c in maple] == [(made["Id"], existing)]
    procore = next(p for p in records(pair, "procore", "projects") if p["project_number"] == "2024-002")
    assert pair.session.state.find_link("projects", procore_id=str(procore["id"])).qbo_id == made["Id"]
    # the reverse flow sees the pair linked, so no second Procore project appears
    assert [p["name"] for p in records(pair, "procore", "projects")].count("Maple Street Townhomes") == 1
    assert_quiet_second_sync(pair)


@pytest.fixture
def au_pair(tmp_path: Path) -> Iterator[SandboxPair]:
    """The seeded sandboxes with the project on the Australian QBO company (GST codes)."""
    from engine.project.session import Session
    from engine.project.writing import write_sandbox_project
    from sandbox.qbo.app import AU_REALM
    from sandbox.server import create
    from sandbox.transport import InProcessTransport

    boxes = {n: create(n) for n in ("procore", "qbo")}
    info = {n: b.connection_info(f"http://{n}.sandbox.localhost") for n, b in boxes.items()}
    info["qbo"].update(realm_id=AU_REALM, refresh_token=boxes["qbo"].refresh_token(AU_REALM))
    folder = tmp_path / "au"
    path = write_sandbox_project(folder, info)
    lines = path.read_text().splitlines()
    doc = yaml.safe_load(path.read_text())
    doc.update(packs=["joist:master"], params=params(qbo_region="AU", item_income_account=None))
    path.write_text(lines[0] + "\n" + yaml.safe_dump(doc, sort_keys=False))
    transports = {n: InProcessTransport(b.app) for n, b in boxes.items()}
    session = Session.open(folder, transports=transports)
    pair = SandboxPair(boxes, folder, session)
    try:
        yield pair
    finally:
        pair.session.close()
        for t in transports.values():
            t.close()


def test_au_tax_codes_link_to_the_gst_codes(au_pair: SandboxPair) -> None:
    report = fast_session(au_pair).run("tax_codes_to_qbo")
    assert report.totals()["adopt"] == 2
    codes = {c["Id"]: c["Name"] for c in records(au_pair, "qbo", "TaxCode")}
    linked = {}
    for tax in records(au_pair, "procore", "tax_codes"):
        link = au_pair.session.state.find_link("tax_codes", procore_id=str(tax["id"]))
        linked[tax["code"]] = codes[link.qbo_id]
    assert linked == {"TX8": "GST", "EXEMPT": "FRE"}
    assert au_pair.writes("qbo") == []
