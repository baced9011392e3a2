"""The master-data pack end to end: `joist sync --select path:rules/master` between the seeded sandboxes.

Every seeded master record is linked by the first sync, a second sync writes nothing, and a
change on either side of a two-way flow arrives on the other side and does not come back.
The sandboxes run in-process (`tests/sandbox_pair.py`); the project's params are the pack's
`_sandbox_params.yaml`, as `joist sandbox up --project` writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox_pair import SandboxPair, sandbox_pair

from sandbox.procore.resources import RESOURCES

PACK = Path(__file__).resolve().parents[2] / "rules" / "master"
SELECT = "path:rules/master"
OWNER = "Northside Development Corp"


def sandbox_params() -> dict[str, Any]:
    return yaml.safe_load((PACK / "_sandbox_params.yaml").read_text())


def records(connector: Any, entity: str) -> list[dict[str, Any]]:
    return [r for page in connector.read(entity) for r in page.records]


def conns(pair: SandboxPair) -> dict[str, Any]:
    return pair.session.connectors({"procore", "qbo"})


def procore(pair: SandboxPair) -> Any:
    return conns(pair)["procore"]


def qbo(pair: SandboxPair) -> Any:
    return conns(pair)["qbo"]


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
    """One `joist sync --select path:rules/master` in a fresh session, as the CLI would run it."""
    session = fast_session(pair)
    report = session.run(SELECT)
    errors = [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]
    assert errors == []
    return report


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[SandboxPair]:
    with sandbox_pair(tmp_path / "project", packs=["joist:master"], params=sandbox_params()) as p:
        yield p


@pytest.fixture
def synced(pair: SandboxPair) -> SandboxPair:
    sync(pair)
    pair.clear_logs()
    return pair


def seeded_counts(pair: SandboxPair) -> dict[str, int]:
    """What each link set must hold after the first sync, counted from the two seeds."""
    c = conns(pair)
    procore, qbo = c["procore"], c["qbo"]
    owner_ids = {str(i) for i in sandbox_params()["customer_company_ids"]}
    companies = records(procore, "vendors")
    customers = [r for r in records(qbo, "Customer") if not r.get("Job")]
    jobs = [r for r in records(qbo, "Customer") if r.get("Job")]
    people = records(procore, "people")
    return {
        "vendors": sum(str(v["id"]) not in owner_ids for v in companies) + len(records(qbo, "Vendor")),
        "customers": sum(str(v["id"]) in owner_ids for v in companies) + len(customers),
        "projects": sum(bool(p["active"]) for p in records(procore, "projects")) + len(jobs),
        "sub_jobs": len(records(procore, "sub_jobs")),
        "departments": len(records(procore, "departments")) + len(records(qbo, "Department")),
        "cost_code_items": len(records(procore, "cost_codes")),
        "wbs_items": len(records(procore, "wbs_codes")),
        "cost_types": len(records(procore, "line_item_types")),
        # TX8 links to the QBO tax group; EXEMPT is the US pseudo code NON, not a record.
        "tax_codes": 1,
        "employees": sum(bool(p["is_employee"]) for p in people),
    }


def test_the_selector_picks_the_whole_pack(pair: SandboxPair) -> None:
    flows = pair.session.flows(SELECT)
    assert set(flows) == {
        r.flow for r in pair.session.ruleset.rules.values() if "rules/master/" in str(r.location.file)
    }
    assert {"companies_to_vendors", "projects_to_customers", "wbs_to_items"} <= set(flows)


def test_first_sync_links_every_seeded_master_record(pair: SandboxPair) -> None:
    expected = seeded_counts(pair)
    report = sync(pair)
    assert pair.session.state.link_counts() == expected
    assert report.totals()["defer"] == 0
    qbo = conns(pair)["qbo"]
    items = {i["Name"] for i in records(qbo, "Item")}
    assert {"2024-001-01-100.L", "2024-002-01-100.L", "2024-001-01-100"} <= items
    projects = {c["DisplayName"]: c for c in records(qbo, "Customer") if c.get("Job")}
    owner = next(c for c in records(qbo, "Customer") if c["DisplayName"] == OWNER)
    assert projects["2024-001 Riverside Medical Office"]["ParentRef"]["value"] == owner["Id"]
    assert (
        projects["2024-001-01 Phase 1 - Shell"]["ParentRef"]["value"]
        == projects["2024-001 Riverside Medical Office"]["Id"]
    )
    # the classes were adopted through the lookup table's names, not made again
    assert sorted(c["Name"] for c in records(qbo, "Class")) == [
        "Equipment",
        "Labor",
        "Material",
        "Other",
        "Subcontract",
    ]
    procore = conns(pair)["procore"]
    assert "Riverside Phase 1" in {p["name"] for p in records(procore, "projects")}
    assert {"Bay Concrete Supply", "Oakwood Estates", "Main Office"} <= {
        v["name"] for v in records(procore, "vendors")
    } | {d["name"] for d in records(procore, "departments")}


def test_second_sync_writes_nothing(synced: SandboxPair) -> None:
    report = sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []
    assert set(report.totals()) == {"skip"}


def test_a_vendor_edited_in_procore_reaches_qbo_and_does_not_bounce(synced: SandboxPair) -> None:
    summit = next(v for v in records(procore(synced), "vendors") if v["name"] == "Summit Concrete LLC")
    procore(synced).update("vendors", str(summit["id"]), {"business_phone": "415-555-0199", "city": "Emeryville"})
    synced.clear_logs()
    sync(synced)
    vendor = next(v for v in records(qbo(synced), "Vendor") if v["DisplayName"] == "Summit Concrete LLC")
    assert vendor["PrimaryPhone"]["FreeFormNumber"] == "415-555-0199"
    assert vendor["BillAddr"]["City"] == "Emeryville"
    assert synced.writes("procore") == []
    synced.clear_logs()
    sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []


def test_a_vendor_edited_in_qbo_reaches_procore_and_does_not_bounce(synced: SandboxPair) -> None:
    vendor = next(v for v in records(qbo(synced), "Vendor") if v["DisplayName"] == "Bright Electric Co")
    qbo(synced).update(
        "Vendor",
        vendor["Id"],
        {"PrimaryEmailAddr": {"Address": "ap@bright.example"}, "WebAddr": {"URI": "https://bright.example"}},
        current=vendor,
    )
    synced.clear_logs()
    sync(synced)
    company = next(v for v in records(procore(synced), "vendors") if v["name"] == "Bright Electric Co")
    assert company["email_address"] == "ap@bright.example" and company["website"] == "https://bright.example"
    assert synced.writes("qbo") == []
    synced.clear_logs()
    sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []


def test_a_customer_edited_in_qbo_reaches_its_procore_company(synced: SandboxPair) -> None:
    customer = next(c for c in records(qbo(synced), "Customer") if c["DisplayName"] == "Oakwood Estates")
    qbo(synced).update(
        "Customer", customer["Id"], {"PrimaryPhone": {"FreeFormNumber": "916-555-0142"}}, current=customer
    )
    synced.clear_logs()
    sync(synced)
    company = next(v for v in records(procore(synced), "vendors") if v["name"] == "Oakwood Estates")
    assert company["business_phone"] == "916-555-0142"
    assert str(company["vendor_group_id"]) == sandbox_params()["customer_group_id"]
    synced.clear_logs()
    sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []


def test_an_owner_edited_in_procore_reaches_its_customer(synced: SandboxPair) -> None:
    owner = next(v for v in records(procore(synced), "vendors") if v["name"] == OWNER)
    procore(synced).update("vendors", str(owner["id"]), {"website": "https://northside-dev.example"})
    synced.clear_logs()
    sync(synced)
    customer = next(c for c in records(qbo(synced), "Customer") if c["DisplayName"] == OWNER)
    assert customer["WebAddr"]["URI"] == "https://northside-dev.example"
    assert OWNER not in {v["DisplayName"] for v in records(qbo(synced), "Vendor")}
    synced.clear_logs()
    sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []


def test_a_department_renamed_in_qbo_is_renamed_in_procore(synced: SandboxPair) -> None:
    main = next(d for d in records(qbo(synced), "Department") if d["Name"] == "Main Office")
    qbo(synced).update("Department", main["Id"], {"Name": "Head Office"}, current=main)
    synced.clear_logs()
    sync(synced)
    assert "Head Office" in {d["name"] for d in records(procore(synced), "departments")}
    synced.clear_logs()
    sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []


def test_a_new_budget_code_makes_one_new_item(synced: SandboxPair) -> None:
    from sandbox.procore.resources import RESOURCES

    box = synced.boxes["procore"]
    project = next(p for p in records(procore(synced), "projects") if p["project_number"] == "2024-003")
    code = box.store.rows("cost_codes", project_id=project["id"], code="300")[0]
    other = next(t for t in records(procore(synced), "line_item_types") if t["code"] == "O")
    before = {i["Name"] for i in records(qbo(synced), "Item")}
    # Procore makes a budget code when a cost type is first used on a cost code (the API has no write for it).
    box.store.insert(
        RESOURCES["wbs_codes"],
        {
            "cost_code_id": code["id"],
            "line_item_type_id": other["id"],
            "flat_code": "03-300.O",
            "flat_name": "Cast-in-Place Concrete.Other",
            "description": "Cast-in-Place Concrete - Other",
        },
        company_id=box.company_id,
        project_id=project["id"],
    )
    synced.clear_logs()
    report = sync(synced)
    after = {i["Name"]: i for i in records(qbo(synced), "Item")}
    assert set(after) - before == {"2024-003-03-300.O"}
    assert after["2024-003-03-300.O"]["ExpenseAccountRef"]["value"] == "15"
    assert report.totals()["create"] == 1


def test_a_vendor_made_inactive_on_either_side_is_inactive_on_the_other(synced: SandboxPair) -> None:
    apex = next(v for v in records(procore(synced), "vendors") if v["name"] == "Apex Equipment Rental")
    procore(synced).update("vendors", str(apex["id"]), {"is_active": False})
    bay = next(v for v in records(qbo(synced), "Vendor") if v["DisplayName"] == "Bay Concrete Supply")
    qbo(synced).update("Vendor", bay["Id"], {"Active": False}, current=bay)
    sync(synced)
    vendors = {v["DisplayName"]: v for v in records(qbo(synced), "Vendor")}
    companies = {c["name"]: c for c in records(procore(synced), "vendors")}
    assert "Apex Equipment Rental" not in vendors or vendors["Apex Equipment Rental"]["Active"] is False
    assert (
        qbo(synced).get("Vendor", str(synced.session.state.find_link("vendors", procore_id=str(apex["id"])).qbo_id))[
            "Active"
        ]
        is False
    )
    assert companies["Bay Concrete Supply"]["is_active"] is False
    synced.clear_logs()
    sync(synced)
    assert synced.writes("qbo") == [] and synced.writes("procore") == []


def test_joist_sync_select_path_rules_master_through_the_cli(tmp_path: Path) -> None:
    """The command a user types, against the sandboxes served on 127.0.0.1."""
    from click.testing import CliRunner

    from cli import main

    with sandbox_pair(tmp_path / "cli", packs=["joist:master"], params=sandbox_params(), loopback=True) as served:
        expected = seeded_counts(served)
        served.session.close()
        runner = CliRunner()
        first = runner.invoke(
            main, ["--project", str(served.project_dir), "sync", "--select", SELECT], catch_exceptions=False
        )
        assert first.exit_code == 0, first.output
        served.clear_logs()
        second = runner.invoke(
            main, ["--project", str(served.project_dir), "sync", "--select", SELECT], catch_exceptions=False
        )
        assert second.exit_code == 0, second.output
        assert served.writes("qbo") == [] and served.writes("procore") == []
        session = served.reopen()
        assert session.state.link_counts() == expected


def test_a_person_who_became_a_qbo_vendor_is_made_inactive_when_deleted_in_procore(tmp_path: Path) -> None:
    """`people_as: vendors` makes Procore people QBO vendors (entity_when): deleting one in
    Procore must deactivate that vendor, not look for an employee of that id and drop the link."""
    with sandbox_pair(
        tmp_path / "project", packs=["joist:master"], params={**sandbox_params(), "people_as": "vendors"}
    ) as pair:
        sync(pair)
        person = next(p for p in records(procore(pair), "people") if p["is_employee"])
        link = pair.session.state.find_link("employees", procore_id=str(person["id"]))
        assert link is not None and link.qbo_id
        assert qbo(pair).get("Vendor", link.qbo_id)["Active"] is True
        # Procore's API deletes no person: the sandbox soft-deletes one, as Procore does in its UI
        store = pair.boxes["procore"].store
        [row] = [r for r in store.rows("people") if r["id"] == person["id"]]
        store.update(RESOURCES["people"], row, {"deleted_at": "2024-05-01T00:00:00Z"})
        report = sync(pair)
        [out] = [o for f in report.flows if f.flow == "people_to_employees" for o in f.outcomes if o.action != "skip"]
        assert (out.action, out.target_id) == ("delete", link.qbo_id)
        assert qbo(pair).get("Vendor", link.qbo_id)["Active"] is False
