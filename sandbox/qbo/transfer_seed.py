"""The transfer firm (`sandbox.transfer_firm`) in the QBO sandbox's US realm, beside the demo company.

Vendors, projects as sub-customers (Job) of a demo customer, one service item per project
named as Procore's own connector names them (`[project number]-[cost code].[cost type]`),
and an open purchase order per subcontract with one line on that item and project, of the
same amount. Everything goes through the realm's create path, as API calls would.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo.ops import Company
from sandbox.transfer_firm import Firm, project_number

PARENT_CUSTOMER = "City of Fairview"
ITEM_CODE = "01-100.S"


def _find(company: Company, entity: str, field: str, value: str) -> str:
    return next(rid for rid, r in company.realm.table(entity).items() if r.get(field) == value)


def seed_transfer(company: Company, firm: Firm) -> dict[str, str]:
    """Add the firm's QBO side; returns the QBO id of every record by the firm's key."""
    ids: dict[str, str] = {}
    parent = _find(company, "Customer", "DisplayName", PARENT_CUSTOMER)
    income = _find(company, "Account", "Name", "Construction Income")
    expense = _find(company, "Account", "Name", "Subcontractors")
    for v in firm.vendors:
        if v.side == "procore":
            continue
        made = company.create(
            "Vendor", {"DisplayName": v.qbo_name, "CompanyName": v.qbo_name, "PrimaryEmailAddr": {"Address": v.email}}
        )
        ids[v.key] = made["Id"]
    items: dict[str, str] = {}
    for p in firm.projects:
        if p.side == "procore":
            continue
        made = company.create(
            "Customer",
            {"DisplayName": p.qbo_name, "Job": True, "ParentRef": {"value": parent}, "BillWithParent": True},
        )
        ids[p.key] = made["Id"]
        item: dict[str, Any] = {
            "Name": f"{project_number(p)}-{ITEM_CODE}",
            "Type": "Service",
            "IncomeAccountRef": {"value": income},
            "ExpenseAccountRef": {"value": expense},
            "UnitPrice": Decimal("0"),
        }
        items[p.key] = company.create("Item", item)["Id"]
    for c in firm.commitments:
        if c.side == "procore":
            continue
        line = {
            "DetailType": "ItemBasedExpenseLineDetail",
            "Amount": c.amount,
            "Description": "Subcontract scope",
            "ItemBasedExpenseLineDetail": {
                "ItemRef": {"value": items[c.project]},
                "CustomerRef": {"value": ids[c.project]},
                "Qty": Decimal("1"),
                "UnitPrice": c.amount,
            },
        }
        made = company.create(
            "PurchaseOrder",
            {"VendorRef": {"value": ids[c.vendor]}, "DocNumber": c.qbo_name, "TxnDate": "2025-03-03", "Line": [line]},
        )
        ids[c.key] = made["Id"]
    company.realm.requestids.clear()
    return ids
