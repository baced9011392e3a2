"""Workloads for `benchmarks/mapping.py`: generated Procore-shaped records, and the same
payloads written by hand (standard library only, so the hand-written streaming script
starts as a plain script would).

- the fixed copy of the requisitions -> bills rule in benchmarks/rules: `requisitions` with
  three items, `hand_written`;
- `commitment_invoices_to_bills` (rules/payables): requisitions with four to eight items,
  retainage held and released, mapped to QBO bills;
- `owner_invoices_to_invoices` (rules/receivables): payment applications with G702/G703,
  six to twelve schedule-of-values lines, mapped to QBO invoices.

Each hand-written function returns exactly the payload the rule makes (None where the
rule's `where` skips the record); the benchmark checks that record by record first.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

VENDORS, PROJECTS, WBS, COMMITMENTS = 200, 40, 300, 500
CENT = Decimal("0.01")
ZERO = Decimal(0)
BILL_PARAMS = {"retention_payable_account": "12"}
INVOICE_PARAMS = {"retainage_receivable_item": "31"}


def links() -> dict[str, dict[str, str]]:
    return {
        "vendors": {str(i): str(1000 + i) for i in range(VENDORS)},
        "projects": {str(i): str(2000 + i) for i in range(PROJECTS)},
        "wbs_items": {str(i): str(3000 + i) for i in range(WBS)},
        "commitments": {str(i): str(4000 + i) for i in range(COMMITMENTS)},
    }


def requisitions(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        items = []
        for j in range(3):
            done = Decimal(rng.randint(0, 500000)) / 100
            stored = Decimal(rng.choice([0, 0, rng.randint(0, 90000)])) / 100
            items.append(
                {
                    "id": i * 3 + j,
                    "wbs_code": {"id": rng.randrange(WBS), "flat_code": f"01-{j}00.L"},
                    "description_of_work": f"Line {j} of requisition {i}",
                    "work_completed_this_period": f"{done:.2f}",
                    "materials_presently_stored": f"{stored:.2f}",
                }
            )
        retainage = Decimal(rng.choice([0, rng.randint(0, 50000)])) / 100
        yield {
            "id": i,
            "project_id": rng.randrange(PROJECTS),
            "number": i % 40 + 1,
            "invoice_number": f"INV-{i:06d}" if i % 10 else None,
            "commitment_id": rng.randrange(COMMITMENTS),
            "contract_name": f"SC-{i % 97:03d} Drywall",
            "vendor_id": rng.randrange(VENDORS),
            "billing_date": f"2026-{i % 12 + 1:02d}-28",
            "status": "approved" if i % 17 else "draft",
            "summary": {"total_retainage": f"{retainage:.2f}"},
            "items": items,
        }


def hand_written(rec: dict[str, Any], table: dict[str, dict[str, str]], account: str = "91") -> dict[str, Any] | None:
    """The same bill the rule makes, written out by hand (None where the rule skips)."""
    if rec.get("status") not in ("approved", "approved_as_noted"):
        return None
    vendors, projects, wbs, commitments = table["vendors"], table["projects"], table["wbs_items"], table["commitments"]
    project = projects[str(rec["project_id"])]
    lines = []
    for item in rec["items"]:
        amount = Decimal(item["work_completed_this_period"]) + Decimal(item["materials_presently_stored"])
        if amount == 0:
            continue
        lines.append(
            {
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": amount,
                "Description": item["description_of_work"],
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": wbs[str(item["wbs_code"]["id"])]},
                    "CustomerRef": {"value": project},
                },
                "LinkedTxn": [{"TxnId": commitments[str(rec["commitment_id"])], "TxnType": "PurchaseOrder"}],
            }
        )
    retainage = Decimal(rec["summary"]["total_retainage"] or "0")
    if retainage > 0:
        lines.append(
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": -retainage,
                "Description": f"Retainage held on requisition {rec['number']}",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}, "CustomerRef": {"value": project}},
            }
        )
    bill = {
        "VendorRef": {"value": vendors[str(rec["vendor_id"])]},
        "DocNumber": rec["invoice_number"] or f"REQ-{rec['number']}",
        "TxnDate": rec["billing_date"],
        "PrivateNote": f"Procore requisition {rec['number']} for {rec['contract_name']}",
    }
    if lines:
        bill["Line"] = lines
    return bill


def _amount(rng: random.Random, high: int, zero_odds: int = 3) -> str:
    return "0.00" if rng.randrange(zero_odds) == 0 else f"{Decimal(rng.randint(0, high)) / 100:.2f}"


def subcontractor_invoices(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Procore requisitions (subcontractor invoices) as the API serves them."""
    rng = random.Random(seed)
    for i in range(n):
        items = []
        for j in range(rng.randint(4, 8)):
            items.append(
                {
                    "id": i * 10 + j,
                    "position": j + 1,
                    "wbs_code": {"id": rng.randrange(WBS), "flat_code": f"0{j}-{j}00.L"},
                    "description_of_work": f"Line {j + 1}: drywall, level {j}",
                    "work_completed_this_period": _amount(rng, 900000),
                    "materials_presently_stored": _amount(rng, 90000, 2),
                    "work_completed_retainage_retained_this_period": _amount(rng, 9000, 2),
                    "work_completed_retainage_released_this_period": _amount(rng, 9000, 6),
                }
            )
        yield {
            "id": i,
            "project_id": rng.randrange(PROJECTS),
            "number": i % 40 + 1,
            "invoice_number": f"SUB-{i:06d}" if i % 10 else None,
            "commitment_id": rng.randrange(COMMITMENTS),
            "contract_name": f"SC-{i % 97:03d} Drywall" if i % 13 else None,
            "vendor_id": rng.randrange(VENDORS),
            "billing_date": f"2026-{i % 12 + 1:02d}-28",
            "status": ("approved", "approved_as_noted", "pending")[i % 3 if i % 7 == 0 else 0],
            "summary": {"completed_work_retainage_percent": "10.0", "tax_applicable_to_this_payment": "0.00"},
            "items": items,
        }


def payment_applications(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Procore owner invoices (payment applications) with their G702 and G703."""
    rng = random.Random(seed)
    for i in range(n):
        lines = []
        for j in range(rng.randint(6, 12)):
            lines.append(
                {
                    "id": i * 20 + j,
                    "item_number": f"{j + 1:03d}",
                    "description_of_work": f"Division {j + 1} general conditions",
                    "wbs_code": {"id": rng.randrange(WBS)},
                    "work_completed_this_period": _amount(rng, 2000000),
                    "materials_presently_stored": _amount(rng, 200000, 2),
                    "work_completed_retainage_retained_this_period": _amount(rng, 20000, 2),
                    "work_completed_retainage_released_this_period": _amount(rng, 20000, 8),
                }
            )
        yield {
            "id": i,
            "project_id": rng.randrange(PROJECTS),
            "number": i % 24 + 1,
            "invoice_number": f"PA-{i:06d}" if i % 9 else None,
            "billing_date": f"2026-{i % 12 + 1:02d}-25T17:00:00Z",
            "period_start": f"2026-{i % 12 + 1:02d}-01",
            "period_end": f"2026-{i % 12 + 1:02d}-25" if i % 5 else None,
            "status": "approved" if i % 11 else "draft",
            "contract": {"id": 7, "title": "Prime contract: Harbour Tower"} if i % 4 else {"id": 7, "title": None},
            "g702": {"completed_work_retainage_percent": "5.0", "tax_applicable_to_this_payment": "0.00"},
            "g703": lines,
        }


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _total(rows: list[dict[str, Any]], key: str) -> Decimal:
    total = ZERO
    for row in rows:
        value = row.get(key)
        if value is not None:
            total += Decimal(value)
    return total


def _date(text: str) -> str:
    if len(text) == 10:
        return dt.date.fromisoformat(text).isoformat()
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()


def bill(rec: dict[str, Any], table: dict[str, dict[str, str]], params: dict[str, Any] = BILL_PARAMS) -> Any:
    """The QBO bill rules/payables/commitment_invoices_to_bills.yaml makes, by hand."""
    if rec["status"] not in ("approved", "approved_as_noted"):
        return None
    project = table["projects"][str(rec["project_id"])]
    commitment = table["commitments"][str(rec["commitment_id"])]
    wbs = table["wbs_items"]
    account = params["retention_payable_account"]
    lines: list[dict[str, Any]] = []
    items = rec["items"]
    for item in items:
        amount = (
            ZERO
            + Decimal(item["work_completed_this_period"] or "0")
            + Decimal(item["materials_presently_stored"] or "0")
        )
        if amount == 0:
            continue
        lines.append(
            {
                "DetailType": "ItemBasedExpenseLineDetail",
                "Amount": _money(amount),
                "Description": item["description_of_work"],
                "ItemBasedExpenseLineDetail": {
                    "ItemRef": {"value": wbs[str(item["wbs_code"]["id"])]},
                    "CustomerRef": {"value": project},
                },
                "LinkedTxn": [{"TxnId": commitment, "TxnType": "PurchaseOrder", "TxnLineId": str(item["position"])}],
            }
        )
    retained = _total(items, "work_completed_retainage_retained_this_period")
    if retained != 0:
        percent = rec["summary"]["completed_work_retainage_percent"]
        lines.append(
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": _money(-retained),
                "Description": f"Retainage held on invoice {rec['number']} ({percent}%)",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}, "CustomerRef": {"value": project}},
            }
        )
    released = _total(items, "work_completed_retainage_released_this_period")
    if released != 0:
        lines.append(
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": _money(released),
                "Description": f"Retainage released on invoice {rec['number']}",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}, "CustomerRef": {"value": project}},
            }
        )
    out: dict[str, Any] = {
        "VendorRef": {"value": table["vendors"][str(rec["vendor_id"])]},
        "DocNumber": rec["invoice_number"] or f"REQ-{rec['number']}",
        "TxnDate": _date(rec["billing_date"]),
        "PrivateNote": f"Procore subcontractor invoice {rec['number']} on {rec['contract_name'] or 'its commitment'}",
    }
    if lines:
        out["Line"] = lines
    return out


def invoice(rec: dict[str, Any], table: dict[str, dict[str, str]], params: dict[str, Any] = INVOICE_PARAMS) -> Any:
    """The QBO invoice rules/receivables/owner_invoices_to_invoices.yaml makes, by hand."""
    rows = rec["g703"]
    if rec["status"] != "approved":
        return None
    done = _total(rows, "work_completed_this_period")
    stored = _total(rows, "materials_presently_stored")
    released = _total(rows, "work_completed_retainage_released_this_period")
    if done == 0 and stored == 0 and released == 0:
        return None
    wbs = table["wbs_items"]
    tax, item = "NON", params["retainage_receivable_item"]
    lines: list[dict[str, Any]] = []
    for key, what in (("work_completed_this_period", "work completed"), ("materials_presently_stored", "materials")):
        suffix = "work completed this period" if what == "work completed" else "materials presently stored"
        for row in rows:
            value = row[key] or "0"
            if Decimal(value) == 0:
                continue
            lines.append(
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": _money(Decimal(value)),
                    "Description": f"{row['item_number']}. {row['description_of_work']}: {suffix}",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": wbs[str(row["wbs_code"]["id"])]},
                        "TaxCodeRef": {"value": tax},
                    },
                }
            )
    retained = _total(rows, "work_completed_retainage_retained_this_period")
    if retained != 0:
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": _money(-retained),
                "Description": f"Retainage held ({rec['g702']['completed_work_retainage_percent']}%)",
                "SalesItemLineDetail": {"ItemRef": {"value": item}, "TaxCodeRef": {"value": tax}},
            }
        )
    if released != 0:
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": _money(released),
                "Description": "Retainage released",
                "SalesItemLineDetail": {"ItemRef": {"value": item}, "TaxCodeRef": {"value": tax}},
            }
        )
    title = rec["contract"]["title"] or "the prime contract"
    out: dict[str, Any] = {
        "CustomerRef": {"value": table["projects"][str(rec["project_id"])]},
        "DocNumber": rec["invoice_number"] or f"PA-{rec['number']}",
        "TxnDate": _date(rec["billing_date"]),
        "PrivateNote": f"Procore owner invoice {rec['number']} on {title}, {rec['period_start'] or ''} to "
        f"{rec['period_end'] or ''}",
    }
    if lines:
        out["Line"] = lines
    return out
