"""How the Procore sandbox serves records: Procore's JSON shapes and its computed totals.

Money Procore types as strings is served the way Rails prints a BigDecimal (`"250.0"`,
`"1200.5"`: variable scale, at least one decimal), quantities and rates as JSON numbers.
Contract, invoice and direct-cost totals are computed from their line items, change
orders, invoices and payments on every read, as Procore does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox.procore.resources import RESOURCES, Resource
from sandbox.procore.served import SERVED_FIELDS
from sandbox.procore.store import RecordNotFound, Store

Record = dict[str, Any]
ZERO = Decimal("0")
CENT = Decimal("0.01")
HIDDEN = (
    "company_id",
    "project_id",
    "vendor_id",
    "department_ids",
    "line_item_type_ids",
    "attachment_ids",
    "party_id",
    "cost_code_id",
    "line_item_type_id",
    "wbs_code_id",
    "timesheet_id",
    "holder_type",
    "holder_id",
    "parent_id",
    "employee_id",
    "contractor_id",
    "timecard_time_type_id",
    "sub_job_id",
    "login_information_id",
    "created_by_id",
    "currency_iso_code",
)
# The financial documents Procore serves a `currency_configuration` on (procore-api.md 2.10-2.17);
# their amounts are in their project's currency.
CURRENCY_DOCS = (
    "prime_contracts",
    "payment_applications",
    "work_order_contracts",
    "purchase_order_contracts",
    "requisitions",
    "direct_costs",
)
BASE_CURRENCY = "USD"
APPROVED, PENDING = {"approved"}, {"pending", "pricing", "proceeding", "revised"}
# The segments of the sandbox company's WBS pattern, as Procore's default: sub job (optional,
# first), cost code, cost type. A WBS code on a sub job names it as its first segment item.
WBS_COST_CODE, WBS_COST_TYPE, WBS_SUB_JOB = 1, 2, 3


def rails_decimal(value: Decimal) -> str:
    """A Decimal as Rails' BigDecimal#to_s: no exponent, at least one decimal place."""
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def _encode(value: Any, out: Callable[[str], Any]) -> None:
    if isinstance(value, dict):
        out("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out(",")
            out(json.dumps(str(k)))
            out(":")
            _encode(v, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for i, v in enumerate(value):
            if i:
                out(",")
            _encode(v, out)
        out("]")
    elif isinstance(value, Decimal):
        out(format(value, "f"))
    else:
        out(json.dumps(value))


def dumps(value: Any) -> bytes:
    """JSON with Decimals written as numbers, exactly as stored (no float on the way)."""
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts).encode()


def _money(value: Decimal | None) -> str | None:
    return None if value is None else rails_decimal(value)


def _sum(values: Any) -> Decimal:
    return sum((v for v in values if v is not None), ZERO)


def _gross(bill: Record) -> Decimal:
    """Work completed plus materials stored this period, over a bill's items."""
    return _sum(
        (i.get("work_completed_this_period") or ZERO) + (i.get("materials_presently_stored") or ZERO)
        for i in bill.get("items") or []
    )


def _pct(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(CENT) if whole else ZERO


class Renderer:
    """Turns stored records into response bodies for one request (`base_url` for file URLs)."""

    def __init__(self, store: Store, base_url: str) -> None:
        self.store = store
        self.base_url = base_url.rstrip("/")
        self._child_counts: dict[Any, int] | None = None

    # ---- helpers -------------------------------------------------------------------------
    def _row(self, table: str, record_id: Any) -> Record | None:
        if record_id is None:
            return None
        try:
            return self.store.get(table, record_id, include_deleted=True)
        except RecordNotFound:
            return None

    def _ref(self, table: str, record_id: Any, *fields: str) -> Record | None:
        row = self._row(table, record_id)
        return None if row is None else {"id": row["id"], **{f: row.get(f) for f in fields}}

    def lines(self, holder_type: str, holder_id: int) -> list[Record]:
        rows = self.store.children(holder_type, holder_id)
        return sorted(rows, key=lambda r: (r.get("position") or 0, r["id"]))

    def lines_total(self, holder_type: str, holder_id: int) -> Decimal:
        return _sum(r.get("amount") for r in self.lines(holder_type, holder_id))

    def cost_code_full(self, row: Record) -> str:
        parts, seen = [], set()
        current: Record | None = row
        while current is not None and current["id"] not in seen:
            seen.add(current["id"])
            parts.append(str(current.get("code") or ""))
            current = self._row("cost_codes", current.get("parent_id"))
        return "-".join(reversed(parts))

    def attachments(self, record: Record) -> list[Record]:
        out = []
        for aid in record.get("attachment_ids") or []:
            found = self.store.files.get(aid)
            if found:
                out.append(
                    {
                        "id": aid,
                        "url": f"{self.base_url}/rest/v1.0/attachments/{aid}/download",
                        "filename": found[0],
                        "name": found[0],
                        "content_type": found[1],
                    }
                )
        return out

    def project_currency(self, project_id: Any) -> str:
        """The ISO code of a project's currency (set in the project's admin; the company's
        base currency unless set)."""
        project = self._row("projects", project_id) or {}
        return str(project.get("currency_iso_code") or BASE_CURRENCY)

    def currency_configuration(self, name: str, record: Record) -> Record:
        """`currency_configuration` of a financial document: the project's currency; payment
        applications add the rate to the company's base currency."""
        code = self.project_currency(record.get("project_id"))
        if name != "payment_applications":
            return {"currency_iso_code": code}
        rate = str(record.get("currency_exchange_rate") or "1.0")
        return {"currency_iso_code": code, "currency_exchange_rate": rate, "base_currency_iso_code": BASE_CURRENCY}

    # ---- records ------------------------------------------------------------------------
    def render(self, resource: Resource, record: Record, view: str = "show") -> Record:
        """The JSON object Procore serves for `record` (`view`: list | show)."""
        out = {k: v for k, v in record.items() if k not in HIDDEN}
        for key in SERVED_FIELDS.get(resource.name, ()):
            out.setdefault(key, None)
        for key in resource.money:
            if key in out:
                out[key] = _money(out[key])
        extra = getattr(self, f"_r_{resource.name}", None)
        if extra is not None:
            extra(record, out, view)
        if resource.name in CURRENCY_DOCS:
            out["currency_configuration"] = self.currency_configuration(resource.name, record)
        if "attachment_ids" in record:
            out["attachments"] = self.attachments(record)
        return out

    def line_item(self, line: Record) -> Record:
        out = {
            k: v
            for k, v in self.render(RESOURCES["line_items"], line).items()
            if k not in ("created_at", "updated_at", "company_id")
        }
        out.setdefault("origin_data", None)
        out["total_amount"] = (line.get("amount") or ZERO) + (line.get("tax_amount") or ZERO)
        out["extended_amount"] = line.get("amount")
        code = self._row("cost_codes", line.get("cost_code_id"))
        out["cost_code"] = (
            None
            if code is None
            else {
                "id": code["id"],
                "code": code.get("code"),
                "full_code": self.cost_code_full(code),
                "name": code.get("name"),
            }
        )
        out["line_item_type"] = self._ref("line_item_types", line.get("line_item_type_id"), "code", "name", "base_type")
        out["wbs_code"] = self._ref("wbs_codes", line.get("wbs_code_id"), "flat_code", "description")
        out["holder"] = {"id": line.get("holder_id"), "holder_type": line.get("holder_type")}
        return out

    def _r_projects(self, record: Record, out: Record, view: str) -> None:
        company = self.store.companies.get(record["company_id"], {})
        number = record.get("project_number")
        out["display_name"] = f"{number} - {record['name']}" if number else record["name"]
        out["company"] = {"id": record["company_id"], "name": company.get("name")}
        out["project_stage"] = {"id": None, "name": record.get("stage")}
        out["departments"] = [self._ref("departments", d, "name") for d in record.get("department_ids") or []]

    def _r_sub_jobs(self, record: Record, out: Record, view: str) -> None:
        out["project_id"] = record["project_id"]

    def _r_vendors(self, record: Record, out: Record, view: str) -> None:
        out["company"] = record.get("name")
        out["parent"] = self._ref("vendors", record.get("parent_id"), "name")
        if self._child_counts is None:
            self._child_counts = {}
            with self.store.lock:  # a write on another thread may add a vendor meanwhile
                rows = list(self.store.tables["vendors"].values())
            for row in rows:
                if row.get("parent_id") is not None:
                    self._child_counts[row["parent_id"]] = self._child_counts.get(row["parent_id"], 0) + 1
        out["children_count"] = self._child_counts.get(record["id"], 0)
        out["attachments"] = self.attachments(record)

    def _r_users(self, record: Record, out: Record, view: str) -> None:
        out["name"] = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
        out["vendor"] = self._ref("vendors", record.get("vendor_id"), "name")

    def _r_cost_codes(self, record: Record, out: Record, view: str) -> None:
        out["full_code"] = self.cost_code_full(record)
        out["sortable_code"] = out["full_code"]
        out["parent"] = {"id": record.get("parent_id")}
        out["line_item_types"] = [
            self._ref("line_item_types", t, "name", "code", "base_type", "origin_id", "origin_data")
            for t in record.get("line_item_type_ids") or []
        ]

    def _r_wbs_codes(self, record: Record, out: Record, view: str) -> None:
        code = self._row("cost_codes", record.get("cost_code_id"))
        kind = self._row("line_item_types", record.get("line_item_type_id"))
        job = self._row("sub_jobs", record.get("sub_job_id"))
        items = []
        if job is not None:
            items.append(
                {
                    "id": job["id"],
                    "code": job.get("code"),
                    "name": job.get("name"),
                    "parent_id": None,
                    "path_code": job.get("code"),
                    "is_parent": False,
                    "status": "active",
                    "segment": {"id": WBS_SUB_JOB, "name": "Sub Job", "segment_type": "sub_job"},
                }
            )
        if code is not None:
            items.append(
                {
                    "id": code["id"],
                    "code": code.get("code"),
                    "name": code.get("name"),
                    "parent_id": code.get("parent_id"),
                    "path_code": self.cost_code_full(code),
                    "is_parent": False,
                    "status": "active",
                    "segment": {"id": WBS_COST_CODE, "name": "Cost Code", "segment_type": "cost_code"},
                }
            )
        if kind is not None:
            items.append(
                {
                    "id": kind["id"],
                    "code": kind.get("code"),
                    "name": kind.get("name"),
                    "parent_id": None,
                    "path_code": kind.get("code"),
                    "is_parent": False,
                    "status": "active",
                    "segment": {"id": WBS_COST_TYPE, "name": "Cost Type", "segment_type": "line_item_type"},
                }
            )
        out["segment_items"] = items
        out["project_id"] = record["project_id"]

    def _contract_common(self, record: Record, out: Record, view: str, holder: str, orders: str) -> Decimal:
        total = self.lines_total(holder, record["id"])
        cos = self.store.rows(orders, contract_id=record["id"])
        co_holder = "CommitmentChangeOrder" if orders == "commitment_change_orders" else "PrimeChangeOrder"
        approved = _sum(self.lines_total(co_holder, c["id"]) for c in cos if c.get("status") in APPROVED)
        pending = _sum(self.lines_total(co_holder, c["id"]) for c in cos if c.get("status") in PENDING)
        draft = _sum(self.lines_total(co_holder, c["id"]) for c in cos if c.get("status") == "draft")
        payments = _sum(p.get("amount") for p in self.store.rows("contract_payments", contract_id=record["id"]))
        revised = total + approved
        out.update(
            grand_total=_money(total),
            approved_change_orders=_money(approved),
            draft_change_orders_amount=_money(draft),
            total_payments=_money(payments),
            percentage_paid=_money(_pct(payments, revised)),
        )
        project = self._row("projects", record.get("project_id"))
        out["project"] = {"id": record.get("project_id"), "name": project and project.get("name")}
        if view == "show":
            out["line_items"] = [self.line_item(li) for li in self.lines(holder, record["id"])]
            out["attachments"] = self.attachments(record)
            out["change_order_packages"] = [
                {
                    "id": c["id"],
                    "number": c.get("number"),
                    "title": c.get("title"),
                    "status": c.get("status"),
                    "executed": bool(c.get("executed")),
                    "grand_total": _money(self.lines_total(co_holder, c["id"])),
                }
                for c in sorted(cos, key=lambda c: (str(c.get("number") or ""), c["id"]))
            ]
        out["_revised"], out["_pending"], out["_payments"] = revised, pending, payments
        return total

    def _commitment(self, record: Record, out: Record, view: str, holder: str) -> None:
        self._contract_common(record, out, view, holder, "commitment_change_orders")
        revised, pending, payments = out.pop("_revised"), out.pop("_pending"), out.pop("_payments")
        invoiced = _sum(_gross(r) for r in self.store.rows("requisitions", commitment_id=record["id"]))
        out.update(
            revised_contract=_money(revised),
            pending_change_orders=_money(pending),
            pending_revised_contract=_money(revised + pending),
            total_requisitions_amount=_money(invoiced),
            total_draw_requests_amount=_money(ZERO),
            remaining_balance_outstanding=_money(revised - payments),
        )
        vendor = self._row("vendors", record.get("vendor_id"))
        if vendor is None:
            out["vendor"] = None
        elif view == "list":
            out["vendor"] = {"id": vendor["id"], "company": vendor.get("name")}
        else:
            out["vendor"] = {
                "id": vendor["id"],
                "name": vendor.get("name"),
                "company": vendor.get("name"),
                "origin_id": vendor.get("origin_id"),
            }
        out["type"] = holder
        if view == "show":
            out["payments_issued"] = [
                self.render(RESOURCES["contract_payments"], p)
                for p in self.store.rows("contract_payments", contract_id=record["id"])
            ]

    def _r_work_order_contracts(self, record: Record, out: Record, view: str) -> None:
        self._commitment(record, out, view, "WorkOrderContract")

    def _r_purchase_order_contracts(self, record: Record, out: Record, view: str) -> None:
        self._commitment(record, out, view, "PurchaseOrderContract")

    def _r_prime_contracts(self, record: Record, out: Record, view: str) -> None:
        total = self._contract_common(record, out, view, "PrimeContract", "prime_change_orders")
        revised, pending, payments = out.pop("_revised"), out.pop("_pending"), out.pop("_payments")
        invoiced = _sum(_gross(p) for p in self.store.rows("payment_applications", prime_contract_id=record["id"]))
        out.update(
            line_items_total=_money(total),
            line_items_extended_total=_money(total),
            revised_contract_amount=_money(revised),
            pending_change_orders_amount=_money(pending),
            pending_revised_contract_amount=_money(revised + pending),
            owner_invoices_amount=_money(invoiced),
            outstanding_balance=_money(revised - payments),
        )
        out["vendor"] = self._ref("vendors", record.get("vendor_id"), "name", "company")
        out["contractor"] = self._ref("vendors", record.get("contractor_id"), "name", "company")
        if view == "show":
            out["payments_received"] = [
                self.render(RESOURCES["contract_payments"], p)
                for p in self.store.rows("contract_payments", contract_id=record["id"])
            ]

    def _change_order(self, record: Record, out: Record, view: str, holder: str) -> None:
        out["grand_total"] = _money(self.lines_total(holder, record["id"]))
        out["line_items"] = [self.line_item(li) for li in self.lines(holder, record["id"])]

    def _r_prime_change_orders(self, record: Record, out: Record, view: str) -> None:
        self._change_order(record, out, view, "PrimeChangeOrder")

    def _r_commitment_change_orders(self, record: Record, out: Record, view: str) -> None:
        self._change_order(record, out, view, "CommitmentChangeOrder")

    def _r_direct_costs(self, record: Record, out: Record, view: str) -> None:
        total = (
            self.lines_total("DirectCost", record["id"])
            if self.lines("DirectCost", record["id"])
            else (record.get("amount") or ZERO)
        )
        out["amount"] = out["grand_total"] = _money(total)
        out["line_items_count"] = len(self.lines("DirectCost", record["id"]))
        vendor = self._row("vendors", record.get("vendor_id"))
        out["vendor_id"] = record.get("vendor_id")
        out["vendor_name"] = vendor and vendor.get("name")
        out["vendor"] = (
            (vendor and vendor.get("name"))
            if view == "list"
            else (vendor and {"id": vendor["id"], "name": vendor.get("name")})
        )
        out["employee"] = self._ref("users", record.get("employee_id"), "name")
        if out["employee"] is not None:
            user = self._row("users", record.get("employee_id")) or {}
            out["employee"]["name"] = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
        out["attachments"] = self.attachments(record)
        out["attachments_count"] = len(out["attachments"])
        if view == "show":
            out["line_items"] = [self.line_item(li) for li in self.lines("DirectCost", record["id"])]

    def _r_contract_payments(self, record: Record, out: Record, view: str) -> None:
        out["project_id"] = record.get("project_id")
        out["contract_id"] = record.get("contract_id")
        out["attachments"] = self.attachments(record)

    def _r_timecard_entries(self, record: Record, out: Record, view: str) -> None:
        party = self._row("people", record.get("party_id"))
        out["party"] = party and {
            "id": party["id"],
            "name": f"{party.get('first_name', '')} {party.get('last_name', '')}".strip(),
        }
        code = self._row("cost_codes", record.get("cost_code_id"))
        out["cost_code"] = code and {"id": code["id"], "name": code.get("name"), "full_code": self.cost_code_full(code)}
        out["line_item_type_id"] = record.get("line_item_type_id")
        out["timesheet"] = self._ref("timesheets", record.get("timesheet_id"), "date", "number", "name", "status")
        out["sub_job"] = self._ref("sub_jobs", record.get("sub_job_id"), "name", "code")
        project = self._row("projects", record.get("project_id"))
        out["project"] = {"id": record.get("project_id"), "name": project and project.get("name")}
        out["timecard_time_type"] = {
            "id": 1,
            "time_type": "Regular Time",
            "abbreviated_time_type": "RT",
            "global": True,
        }

    def _r_timesheets(self, record: Record, out: Record, view: str) -> None:
        out["project_id"] = record.get("project_id")
