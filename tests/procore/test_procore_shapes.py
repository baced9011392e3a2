"""Fidelity check 7: JSON types and shapes as Procore serves them (plus a snapshot of each shape)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sandbox.procore.resources import RESOURCES


def shape(value: Any) -> Any:
    """Keys and JSON types only (ids and timestamps vary from run to run)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_work_order_contract_list_items(raw: Any) -> None:
    project = raw.project()
    contracts = raw.get("/rest/v1.0/work_order_contracts", project_id=project["id"]).json()
    for contract in contracts:
        assert isinstance(contract["grand_total"], str) and isinstance(contract["retainage_percent"], str)
        assert contract["status"] in (
            "Draft",
            "Out For Bid",
            "Out For Signature",
            "Approved",
            "Complete",
            "Terminated",
            "Void",
        )
        assert set(contract["vendor"]) == {"id", "company"}
    assert contracts[0]["grand_total"] == "380000.0" and contracts[0]["approved_change_orders"] == "15000.0"
    assert contracts[0]["revised_contract"] == "395000.0"


def test_requisition_summary_and_items_are_strings_with_snake_status(raw: Any) -> None:
    project = raw.project()
    requisitions = raw.get("/rest/v1.1/requisitions", project_id=project["id"], view="extended").json()
    approved = next(r for r in requisitions if r["status"] == "approved")
    assert all(isinstance(v, str) for v in approved["summary"].values())
    for item in approved["items"]:
        for key in (
            "scheduled_value",
            "work_completed_this_period",
            "materials_presently_stored",
            "work_completed_retainage_retained_this_period",
            "net_amount",
        ):
            assert isinstance(item[key], str)
    assert approved["summary"]["total_retainage"] == "12000.0"  # 10% of 120,000
    assert approved["summary"]["current_payment_due"] == "108000.0"
    assert approved["total_claimed_amount"] == "120000.0"
    assert {r["status"] for r in requisitions} <= {
        "draft",
        "under_review",
        "revise_and_resubmit",
        "approved",
        "approved_as_noted",
        "pending_owner_approval",
    }


def test_payment_application_status_and_g702(raw: Any) -> None:
    project = raw.project()
    apps = raw.get("/rest/v1.0/payment_applications", project_id=project["id"]).json()
    assert {a["status"] for a in apps} <= {"draft", "under_review", "revise_and_resubmit", "approved"}
    shown = raw.get(f"/rest/v1.0/payment_applications/{apps[0]['id']}", project_id=project["id"]).json()
    assert shown["g702"]["original_contract_sum"] == "880000.0"
    assert shown["g702"]["contract_sum_to_date"] == "905000.0"
    assert shown["g702"]["current_payment_due"] == "207000.0"
    assert [line["work_completed_this_period"] for line in shown["g703"]] == ["30000.0", "150000.0", "50000.0", "0.0"]
    # the approved change order's line follows the schedule of values, as a G703 line of its own
    assert [(line["type"], line["description_of_work"]) for line in shown["g703"]][3] == (
        "change_order",
        "PCO-001 Additional footing",
    )
    assert shown["formatted_contract_company"] == "Northside Development Corp"


def test_direct_cost_types_and_vendor_as_string_in_the_list(raw: Any) -> None:
    project = raw.project()
    costs = raw.get(f"/rest/v1.0/projects/{project['id']}/direct_costs").json()
    assert {c["direct_cost_type"] for c in costs} == {"invoice", "expense", "payroll"}
    invoice = next(c for c in costs if c["direct_cost_type"] == "invoice")
    assert invoice["vendor"] == "Apex Equipment Rental" and invoice["amount"] == "2400.0"
    shown = raw.get(f"/rest/v1.0/projects/{project['id']}/direct_costs/{invoice['id']}").json()
    assert shown["vendor"] == {"id": shown["vendor_id"], "name": "Apex Equipment Rental"}
    line = shown["line_items"][0]
    assert isinstance(line["amount"], str) and isinstance(line["quantity"], (int, float))
    assert line["wbs_code"]["flat_code"] == "01-200.E" and line["holder"]["holder_type"] == "DirectCost"


def test_timecard_hours_are_strings_and_cost_codes_expose_their_tree(raw: Any) -> None:
    project = raw.project()
    entries = raw.get(f"/rest/v1.0/projects/{project['id']}/timecard_entries").json()
    assert entries and all(isinstance(e["hours"], str) for e in entries)
    codes = raw.get("/rest/v1.0/cost_codes", project_id=project["id"]).json()
    child = next(c for c in codes if c["full_code"] == "01-100")
    assert child["code"] == "100" and child["parent"]["id"] == next(c["id"] for c in codes if c["full_code"] == "01")
    assert {t["code"] for t in child["line_item_types"]} == {"L", "O"}


def test_line_item_type_is_written_as_csv_import_code_and_read_as_code(raw: Any) -> None:
    made = raw.send(
        "POST",
        "/rest/v1.0/line_item_types",
        {
            "company_id": raw.company,
            "line_item_type": {"name": "Permits", "csv_import_code": "P", "base_type": "other"},
        },
    )
    assert made.status_code == 201 and made.json()["code"] == "P"
    ignored = raw.send(
        "POST",
        "/rest/v1.0/line_item_types",
        {"company_id": raw.company, "line_item_type": {"name": "Fees", "code": "F"}},
    )
    assert ignored.json()["code"] is None


def test_malformed_dates_are_stored_as_null(raw: Any) -> None:
    project = raw.project()
    made = raw.send(
        "POST",
        "/rest/v1.0/work_order_contracts",
        {"project_id": project["id"], "work_order_contract": {"title": "Odd dates", "contract_date": "31/02/2024"}},
    )
    assert made.status_code == 201 and made.json()["contract_date"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/rest/v1.0/vendors?company_id={c}",
        "/rest/v1.0/projects?company_id={c}",
        "/rest/v1.0/work_order_contracts?project_id={p}",
        "/rest/v1.0/prime_contracts?project_id={p}",
        "/rest/v1.1/requisitions?project_id={p}&view=extended",
        "/rest/v1.0/payment_applications?project_id={p}",
        "/rest/v1.0/projects/{p}/direct_costs",
        "/rest/v1.0/cost_codes?project_id={p}",
        "/rest/v1.0/projects/{p}/timecard_entries",
        "/rest/v1.0/contract_payments?project_id={p}",
    ],
)
def test_list_shapes_match_the_snapshot(raw: Any, snapshot: Any, path: Any) -> None:
    project = raw.project()
    if "contract_payments" in path:
        _owner_payment(raw.box)
    answer = raw.client.get(path.format(c=raw.company, p=project["id"]), headers=raw.headers())
    assert answer.status_code == 200
    assert shape(answer.json()[0]) == snapshot


def _undeclared(value: Any, shape: Any, path: str, out: set[str]) -> None:
    if isinstance(value, dict) and isinstance(shape, dict):
        for key, item in value.items():
            if key not in shape:
                out.add(path + key)
            else:
                _undeclared(item, shape[key], f"{path}{key}.", out)
    elif isinstance(value, list) and isinstance(shape, list) and shape:
        for item in value:
            _undeclared(item, shape[0], f"{path}[].", out)


def _owner_payment(box: Any) -> None:
    """A payment received on the seeded prime contract (the seed has none: the owner's
    payments reach Procore from QBO), so every entity has a record to show."""
    [prime] = box.store.rows("prime_contracts")
    [app] = box.store.rows("payment_applications")
    box.store.insert(
        RESOURCES["contract_payments"],
        {
            "contract_id": prime["id"],
            "requisition_id": app["id"],
            "amount": Decimal("207000.00"),
            "date": "2024-04-20",
            "invoice_number": "NSDC-2024-01",
            "check_number": "100452",
            "payment_method": "check",
            "notes": "Owner payment for application 1",
        },
        company_id=prime["company_id"],
        project_id=prime["project_id"],
        source=(None, None),
    )


def test_every_field_the_connector_hands_over_is_in_the_catalogue(connector: Any, box: Any) -> None:
    from connectors.procore.entities import catalog

    _owner_payment(box)

    for entity in connector.entities():
        records = [r for page in connector.read(entity) for r in page.records]
        assert records, entity
        first = records[0]
        scope = {"project_id": first["project_id"]} if first.get("project_id") else None
        shown = connector.get(entity, str(first["id"]), scope=scope)
        assert shown is not None and shown["id"] == first["id"], entity
        missing: set[str] = set()
        for record in records + [shown]:
            _undeclared(record, catalog()[entity]["fields"], "", missing)
        assert not missing, f"{entity}: {sorted(missing)}"


def test_every_field_the_catalogue_declares_is_served_unless_write_only(connector: Any, box: Any) -> None:
    """The sandbox's own list of what Procore serves (sandbox/procore/served.py, from the API
    reference) checks the catalogue the other way: a field the catalogue declares must come
    back from a read, or be marked `write_only` (accepted on write, served under another name)."""
    from engine.language import catalog

    _owner_payment(box)
    for entity in connector.entities():
        spec = catalog.load("procore")[entity]
        records = [r for page in connector.read(entity) for r in page.records]
        first = records[0]
        scope = {"project_id": first["project_id"]} if first.get("project_id") else None
        served = {key for record in [*records, connector.get(entity, str(first["id"]), scope=scope)] for key in record}
        write_only = {path[0] for path in spec.write_only if len(path) == 1}
        declared = {name for name, kind in spec.fields.items() if isinstance(kind, str) and kind not in catalog.OPEN}
        assert not declared - write_only - served, (
            f"{entity}: declared but never served: {sorted(declared - write_only - served)}"
        )
        assert not write_only & served, f"{entity}: marked write_only but served"
