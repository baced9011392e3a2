"""The transfer firm (`sandbox.transfer_firm`) in the Procore sandbox, beside the demo company.

Vendors in the directory, projects with one subcontract cost code and its budget (WBS)
code, and approved subcontracts (work order contracts) with one line each. A pair the other
connector synced carries, on half of them, that connector's mark: the QBO id in
`origin_id` (`qbo_ids`, from the QBO sandbox's seed of the same firm).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sandbox.procore.box import Box
from sandbox.procore.resources import RESOURCES
from sandbox.transfer_firm import Firm, project_number

Record = dict[str, Any]


def seed_transfer(box: Box, firm: Firm, qbo_ids: Mapping[str, str] | None = None) -> dict[str, str]:
    """Add the firm's Procore side; returns the Procore id of every record by the firm's key."""
    store, company = box.store, box.company_id
    marks = qbo_ids or {}
    ids: dict[str, str] = {}

    def add(resource: str, project_id: int | None = None, **data: Any) -> Record:
        return store.insert(RESOURCES[resource], data, company_id=company, project_id=project_id)

    def origin(key: str, marked: bool) -> dict[str, Any]:
        return {"origin_id": marks[key]} if marked and key in marks else {}

    subcontract = store.rows("line_item_types", code="S")[0]
    for v in firm.vendors:
        if v.side == "qbo":
            continue
        made = add("vendors", name=v.procore_name, email_address=v.email, is_active=True, **origin(v.key, v.marked))
        ids[v.key] = str(made["id"])
    wbs: dict[str, tuple[int, int]] = {}  # project key -> (cost code id, wbs code id)
    for p in firm.projects:
        if p.side == "qbo":
            continue
        number, name = p.procore_name.split(" ", 1)
        made = add(
            "projects",
            name=name,
            project_number=number,
            active=True,
            city="Sacramento",
            state_code="CA",
            start_date="2025-01-06",
            **origin(p.key, p.marked),
        )
        ids[p.key] = str(made["id"])
        parent = add("cost_codes", made["id"], code="01", name="General Requirements", position=1)
        code = add(
            "cost_codes",
            made["id"],
            code="100",
            name="Subcontract Work",
            parent_id=parent["id"],
            line_item_type_ids=[subcontract["id"]],
            position=100,
        )
        budget = add(
            "wbs_codes",
            made["id"],
            cost_code_id=code["id"],
            line_item_type_id=subcontract["id"],
            flat_code="01-100.S",
            flat_name="Subcontract Work.Subcontract",
            description="Subcontract Work - Subcontract",
        )
        wbs[p.key] = (code["id"], budget["id"])
    numbers = {p.key: project_number(p) for p in firm.projects}
    for c in firm.commitments:
        if c.side == "qbo":
            continue
        project_id = int(ids[c.project])
        contract = add(
            "work_order_contracts",
            project_id,
            number=c.procore_name,
            title=f"{c.procore_name} {numbers[c.project]}",
            vendor_id=int(ids[c.vendor]),
            status="Approved",
            executed=True,
            retainage_percent=Decimal("0"),
            contract_date="2025-03-03",
            **origin(c.key, c.marked),
        )
        code_id, wbs_id = wbs[c.project]
        add(
            "line_items",
            project_id,
            holder_type="WorkOrderContract",
            holder_id=contract["id"],
            position=1,
            description="Subcontract scope",
            amount=c.amount,
            quantity=Decimal("1"),
            unit_cost=c.amount,
            uom="LS",
            cost_code_id=code_id,
            wbs_code_id=wbs_id,
            line_item_type_id=subcontract["id"],
            tax_amount=Decimal("0"),
        )
        ids[c.key] = str(contract["id"])
    return ids
