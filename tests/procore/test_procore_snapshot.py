"""Reading fewer times: a contract's change orders come with one list per project, a snapshot
serves a list read again, a write drops what it touched, and twins are read many at a time."""

from __future__ import annotations

from typing import Any

from connectors.procore import ProcoreConnector
from connectors.snapshot import ReadSnapshot, project_of, resource_names, snapshot_key
from sandbox.procore.app import ProcoreSandbox

Raw = Any  # tests/procore/conftest.py's bare client


def everything(connector: ProcoreConnector, entity: str, **options: Any) -> list[dict[str, Any]]:
    return [r for page in connector.read(entity, **options) for r in page.records]


def _contracts_with_orders(raw: Raw, project: int, count: int) -> dict[int, list[str]]:
    """`count` subcontracts in `project`, the n-th with n change orders; their numbers by contract id."""
    made: dict[int, list[str]] = {}
    vendor = raw.data(raw.get("/rest/v1.0/vendors", company_id=raw.company))[0]["id"]
    for n in range(count):
        contract = raw.data(
            raw.send(
                "POST",
                "/rest/v1.0/work_order_contracts",
                {"project_id": project, "work_order_contract": {"title": f"SC {n}", "vendor_id": vendor}},
                project_id=project,
            )
        )
        made[contract["id"]] = []
        for k in range(n):
            number = f"CCO-{n}-{k}"
            response = raw.send(
                "POST",
                f"/rest/v1.0/projects/{project}/commitment_change_orders",
                {"commitment_change_order": {"contract_id": contract["id"], "number": number, "grand_total": "100.00"}},
            )
            assert response.status_code == 201, response.text
            made[contract["id"]].append(number)
    return made


def _gets(box: ProcoreSandbox, fragment: str) -> int:
    return sum(1 for e in box.control.log.entries if e.method == "GET" and fragment in e.path)


def test_change_orders_are_read_once_per_project_and_land_on_their_own_contract(
    box: ProcoreSandbox, raw: Raw, connector: ProcoreConnector
) -> None:
    project = raw.project()["id"]
    made = _contracts_with_orders(raw, project, 4)
    box.control.log.clear()
    records = everything(connector, "work_order_contracts", scope={"project_id": project})
    orders = {r["id"]: sorted(o["number"] for o in r["change_order_packages"]) for r in records if r["id"] in made}
    assert orders == {cid: sorted(numbers) for cid, numbers in made.items()}
    assert _gets(box, "/commitment_change_orders") == 1  # it was one per contract


def test_one_contract_read_by_id_asks_for_its_own_change_orders_only(
    box: ProcoreSandbox, raw: Raw, connector: ProcoreConnector
) -> None:
    project = raw.project()["id"]
    made = _contracts_with_orders(raw, project, 3)
    contract_id = max(made)
    record = connector.get("work_order_contracts", str(contract_id), scope={"project_id": project})
    assert record is not None
    assert sorted(o["number"] for o in record["change_order_packages"]) == sorted(made[contract_id])


def test_a_snapshot_serves_a_list_again_until_a_write_touches_it(
    box: ProcoreSandbox, raw: Raw, connector: ProcoreConnector
) -> None:
    connector.keep_reads(ReadSnapshot())
    first = everything(connector, "vendors")
    box.control.log.clear()
    assert everything(connector, "vendors") == first
    assert _gets(box, "vendors") == 0
    departments = everything(connector, "departments")
    connector.create("vendors", {"name": "Made Since"}, idempotency_key="snap-1")
    box.control.log.clear()
    names = [r["name"] for r in everything(connector, "vendors")]
    assert "Made Since" in names  # the write dropped the kept vendor lists
    assert _gets(box, "vendors") >= 1
    assert everything(connector, "departments") == departments and _gets(box, "departments") == 0
    connector.keep_reads(None)
    box.control.log.clear()
    everything(connector, "departments")
    assert _gets(box, "departments") == 1  # no snapshot: read every time


def test_kept_lists_age_out() -> None:
    now = [0.0]
    snapshot = ReadSnapshot(60.0, clock=lambda: now[0])
    key = snapshot_key("/rest/v1.0/vendors", {"company_id": 7, "page": 2, "per_page": 100})
    assert key == snapshot_key("/rest/v1.0/vendors", {"company_id": "7"})
    snapshot.keep(key, ["[]"])
    now[0] = 59.0
    assert snapshot.pages(key) == ["[]"]
    now[0] = 61.0
    assert snapshot.pages(key) is None and len(snapshot) == 0


def test_a_write_drops_lists_by_resource_name_and_project() -> None:
    assert resource_names("/rest/v1.0/companies/7/vendors/inactive") == {"vendors", "inactive"}
    assert resource_names("/rest/v1.0/projects") == {"projects"}
    assert resource_names("/rest/v1.0/work_order_contracts/12/line_items/sync") == {"work_order_contracts"}
    assert project_of("/rest/v1.1/projects/5/direct_costs") == "5" and project_of("/rest/v1.0/vendors") is None
    snapshot = ReadSnapshot()
    kept: dict[str, Any] = {
        "/rest/v1.0/projects/5/direct_costs": 1,
        "/rest/v1.0/projects/6/direct_costs": 1,
        "/rest/v1.0/projects/5/direct_costs/line_items": 1,
        "/rest/v1.0/work_order_contracts/12/line_items": 1,
        "/rest/v1.0/work_order_contracts": 1,
        "/rest/v1.0/companies/7/vendors/inactive": 1,
    }
    for path in kept:
        snapshot.keep(snapshot_key(path, {}), ["[]"])
    assert snapshot.forget("/rest/v1.1/projects/5/direct_costs") == 2  # project 6's list stays
    assert snapshot.forget("/rest/v1.0/work_order_contracts/12") == 2  # the list and the contract's lines
    assert snapshot.forget("/rest/v1.0/vendors") == 1
    assert [k[0] for k in snapshot._kept] == ["/rest/v1.0/projects/6/direct_costs"]


def test_get_many_reads_company_records_a_hundred_to_a_request(
    box: ProcoreSandbox, raw: Raw, connector: ProcoreConnector
) -> None:
    ids = [str(r["id"]) for r in everything(connector, "vendors")]
    made = [
        str(connector.create("vendors", {"name": f"Many {n}"}, idempotency_key=f"many-{n}")["id"]) for n in range(3)
    ]
    box.control.log.clear()
    found = connector.get_many("vendors", [*ids, *made, "999999"])
    assert sorted(found) == sorted([*ids, *made])
    assert _gets(box, "vendors") <= 2  # the active list and the inactive one
    assert all(found[i] == connector.get("vendors", i) for i in made)  # as a read by id has it
    assert connector.get_many("work_order_contracts", ["1"]) == {}  # project records: ask get
