"""Owner invoices (payment applications) and subcontractor invoices (requisitions).

Both are progress bills on a contract's schedule of values. When one is created the
sandbox gives it one item per contract line item (Procore's `contract_item` rows, G703
lines); writes set `work_completed_this_period`, `materials_presently_stored` and, where
the contract holds retainage, the retained amounts. Everything else on the item and the
G702 summary is computed on read from earlier invoices of the same contract, as Procore
does: previous work, totals to date, retainage held, previous certificates, payment due.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.procore.render import CENT, ZERO, Renderer, _money, _pct, _sum, rails_decimal
from sandbox.procore.resources import ITEM_MONEY
from sandbox.procore.store import Store

Record = dict[str, Any]
HOLDERS = {
    "WorkOrderContract": "work_order_contracts",
    "PurchaseOrderContract": "purchase_order_contracts",
    "PrimeContract": "prime_contracts",
}


CHANGE_ORDERS = {
    "PrimeContract": ("prime_change_orders", "PrimeChangeOrder"),
    "WorkOrderContract": ("commitment_change_orders", "CommitmentChangeOrder"),
    "PurchaseOrderContract": ("commitment_change_orders", "CommitmentChangeOrder"),
}
APPROVED_ORDERS = ("approved", "Approved")


def _item(store: Store, line: Record, position: int, item_type: str, description: Any, value: Any) -> Record:
    return {
        "id": store.new_id(),
        "item_type": item_type,
        "line_item_id": line["id"],
        "cost_code_id": line.get("cost_code_id"),
        "wbs_code_id": line.get("wbs_code_id"),
        "description_of_work": description,
        "scheduled_value": value or ZERO,
        "work_completed_this_period": ZERO,
        "materials_presently_stored": ZERO,
        "work_completed_retainage_released_this_period": ZERO,
        "status": "draft",
        "comment": None,
        "position": position,
    }


def initial_items(store: Store, holder_type: str, contract_id: int) -> list[Record]:
    """One zero-progress item per schedule-of-values line of the contract, then the approved
    change orders, as Procore bills them: on an owner invoice one item per change-order line
    (`change_order_item`), on a subcontractor invoice one per change order
    (`whole_change_order_item`, the commitment's purchase order has a line for each)."""
    rows = sorted(store.children(holder_type, contract_id), key=lambda r: (r.get("position") or 0, r["id"]))
    items = [
        _item(store, line, n + 1, "contract_item", line.get("description"), line.get("amount"))
        for n, line in enumerate(rows)
    ]
    table, co_holder = CHANGE_ORDERS[holder_type]
    orders = [o for o in store.rows(table, contract_id=contract_id) if o.get("status") in APPROVED_ORDERS]
    for order in sorted(orders, key=lambda o: (str(o.get("number") or ""), o["id"])):
        lines = sorted(store.children(co_holder, order["id"]), key=lambda r: (r.get("position") or 0, r["id"]))
        if not lines:
            continue
        if holder_type == "PrimeContract":
            for line in lines:
                text = f"{order.get('number')} {line.get('description') or order.get('title') or ''}".strip()
                items.append(_item(store, line, len(items) + 1, "change_order_item", text, line.get("amount")))
        else:
            total = sum((line.get("amount") or ZERO for line in lines), ZERO)
            text = f"{order.get('number')} {order.get('title') or ''}".strip()
            items.append(_item(store, lines[0], len(items) + 1, "whole_change_order_item", text, total))
    return items


def coerce_item_changes(changes: Record) -> Record:
    """Decimal values for the money fields of an item update."""
    out: Record = {}
    for key, value in changes.items():
        if key in ITEM_MONEY:
            out[key] = Decimal(str(value)) if value is not None else None
        elif key in ("comment", "status", "description_of_work"):
            out[key] = value
        elif key == "tax_code_id":  # a line taxed otherwise than its schedule-of-values line
            out[key] = int(value) if value not in (None, "") else None
    return out


class BillingRenderer(Renderer):
    """`Renderer` plus the computed shapes of requisitions and payment applications."""

    def _contract(self, holder_type: str, contract_id: int) -> Record | None:
        return self._row(HOLDERS[holder_type], contract_id)

    def _bill_items(
        self, bill: Record, earlier: list[Record], retainage: Decimal
    ) -> tuple[list[Record], dict[str, Decimal]]:
        previous: dict[Any, Decimal] = {}
        previous_retained: dict[Any, Decimal] = {}
        for other in earlier:
            for item in other.get("items") or []:
                key = item.get("line_item_id")
                done = (item.get("work_completed_this_period") or ZERO) + (
                    item.get("materials_presently_stored") or ZERO
                )
                previous[key] = previous.get(key, ZERO) + done
                previous_retained[key] = (
                    previous_retained.get(key, ZERO)
                    + self._retained(item, retainage)
                    - (item.get("work_completed_retainage_released_this_period") or ZERO)
                )
        rendered, totals = [], {k: ZERO for k in ("scheduled", "to_date", "retained", "gross", "net", "prev")}
        taxable: dict[Any, Decimal] = {}
        for item in bill.get("items") or []:
            key = item.get("line_item_id")
            this = item.get("work_completed_this_period") or ZERO
            stored = item.get("materials_presently_stored") or ZERO
            scheduled = item.get("scheduled_value") or ZERO
            prev = previous.get(key, ZERO)
            to_date = prev + this + stored
            retained_now = self._retained(item, retainage)
            released = item.get("work_completed_retainage_released_this_period") or ZERO
            held = previous_retained.get(key, ZERO) + retained_now - released
            out = {k: v for k, v in item.items() if k not in ("cost_code_id", "wbs_code_id")}
            if bill.get("commitment_id") is None:  # payment applications keep G703's extra columns
                out.update(
                    balance_to_finish=scheduled - to_date,
                    work_completed_retainage_currently_retained=held,
                    total_retainage_currently_retained=held,
                )
            out.update(
                work_completed_from_previous_application=prev,
                total_completed_and_stored_to_date=to_date,
                total_completed_and_stored_to_date_percent=_pct(to_date, scheduled),
                work_completed_retainage_from_previous_application=previous_retained.get(key, ZERO),
                work_completed_retainage_retained_this_period=retained_now,
                work_completed_retainage_percent_this_period=item.get(
                    "work_completed_retainage_percent_this_period", retainage
                ),
                materials_stored_retainage_currently_retained=ZERO,
                gross_amount=this + stored,
                net_amount=this + stored - retained_now + released,
            )
            out = {k: (_money(v) if k in ITEM_MONEY and isinstance(v, Decimal) else v) for k, v in out.items()}
            out["cost_code_id"] = item.get("cost_code_id")
            out["wbs_code"] = self._ref("wbs_codes", item.get("wbs_code_id"), "flat_code", "description")
            out["tax_code_id"] = self._item_tax_code(item)
            if out["tax_code_id"] is not None:
                taxable[out["tax_code_id"]] = taxable.get(out["tax_code_id"], ZERO) + this + stored
            rendered.append(out)
            totals["scheduled"] += scheduled
            totals["to_date"] += to_date
            totals["retained"] += held
            totals["gross"] += this + stored
            totals["net"] += this + stored - retained_now + released
            totals["prev"] += prev
        totals["tax"] = self._tax(taxable)
        return rendered, totals

    def _item_tax_code(self, item: Record) -> Any:
        """The tax code of a billed line: its own when set, else its schedule-of-values line's."""
        if "tax_code_id" in item:
            return item["tax_code_id"]
        line = self._row("line_items", item.get("line_item_id"))
        return (line or {}).get("tax_code_id")

    def _tax(self, taxable: dict[Any, Decimal]) -> Decimal:
        """Tax on the work and materials billed, per tax code: the code's rate on what its lines
        bill this period, rounded to the cent once per code. Retainage carries no tax."""
        total = ZERO
        for code_id, base in taxable.items():
            code = self._row("tax_codes", code_id) or {}
            rate = Decimal(str(code.get("rate1") or 0))
            total += (base * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        return total

    @staticmethod
    def _retained(item: Record, retainage: Decimal) -> Decimal:
        explicit = item.get("work_completed_retainage_retained_this_period")
        if explicit is not None:
            return explicit
        percent = item.get("work_completed_retainage_percent_this_period", retainage) or ZERO
        return ((item.get("work_completed_this_period") or ZERO) * percent / 100).quantize(CENT)

    def _summary(
        self,
        contract: Record | None,
        holder_type: str,
        bill: Record,
        earlier: list[Record],
        retainage: Decimal,
        orders: str,
        co_holder: str,
    ) -> tuple[list[Record], Record, dict[str, Decimal]]:
        items, totals = self._bill_items(bill, earlier, retainage)
        original = self.lines_total(holder_type, contract["id"]) if contract else ZERO
        cos = self.store.rows(orders, contract_id=contract["id"]) if contract else []
        changes = _sum(self.lines_total(co_holder, c["id"]) for c in cos if c.get("status") == "approved")
        previous_certificates = ZERO
        for n, other in enumerate(earlier):
            _, other_totals = self._bill_items(other, earlier[:n], retainage)
            previous_certificates += other_totals["net"]
        earned = totals["to_date"] - totals["retained"]
        summary = {
            "original_contract_sum": original,
            "net_change_by_change_orders": changes,
            "contract_sum_to_date": original + changes,
            "total_completed_and_stored_to_date": totals["to_date"],
            "completed_work_retainage_percent": retainage,
            "completed_work_retainage_amount": totals["retained"],
            "stored_materials_retainage_percent": ZERO,
            "stored_materials_retainage_amount": ZERO,
            "total_retainage": totals["retained"],
            "total_earned_less_retainage": earned,
            "less_previous_certificates_for_payment": previous_certificates,
            "current_payment_due": earned - previous_certificates,
            "balance_to_finish_including_retainage": original + changes - earned,
            "tax_applicable_to_this_payment": totals["tax"],
            "change_orders_approved_in_previous_months_positive": ZERO,
            "change_orders_approved_this_month_positive": changes if changes > 0 else ZERO,
        }
        return items, {k: rails_decimal(v) for k, v in summary.items()}, totals

    @staticmethod
    def _earlier(rows: list[Record], bill: Record) -> list[Record]:
        return sorted(
            (r for r in rows if (r.get("number") or 0) < (bill.get("number") or 0)), key=lambda r: r.get("number") or 0
        )

    def _r_requisitions(self, record: Record, out: Record, view: str) -> None:
        holder = record.get("commitment_type") or "WorkOrderContract"
        contract = self._contract(holder, record["commitment_id"])
        retainage = (contract or {}).get("retainage_percent") or ZERO
        earlier = self._earlier(self.store.rows("requisitions", commitment_id=record["commitment_id"]), record)
        items, summary, totals = self._summary(
            contract, holder, record, earlier, retainage, "commitment_change_orders", "CommitmentChangeOrder"
        )
        vendor = self._row("vendors", (contract or {}).get("vendor_id"))
        out.update(
            summary=summary,
            total_claimed_amount=rails_decimal(totals["gross"]),
            percent_complete=f"{_pct(totals['to_date'], Decimal(summary['contract_sum_to_date']))}%",
            contract_name=(contract or {}).get("title"),
            vendor_name=vendor and vendor.get("name"),
            vendor_id=vendor and vendor["id"],
            commitment_type=holder,
            commitment_id=record["commitment_id"],
            deletable=not record.get("origin_id"),
        )
        out.pop("items", None)
        if view in ("show", "extended"):
            out["items"] = items
        out["attachments"] = self.attachments(record)

    def _g703(self, item: Record, n: int) -> Record:
        """A G703 line as payment applications serve it (requisition items have their own shape)."""
        keep = (
            "id",
            "description_of_work",
            "scheduled_value",
            "work_completed_from_previous_application",
            "work_completed_this_period",
            "materials_presently_stored",
            "total_completed_and_stored_to_date",
            "total_completed_and_stored_to_date_percent",
            "balance_to_finish",
            "work_completed_retainage_currently_retained",
            "work_completed_retainage_retained_this_period",
            "work_completed_retainage_released_this_period",
            "materials_stored_retainage_currently_retained",
            "total_retainage_currently_retained",
            "wbs_code",
            "tax_code_id",
        )
        line = {k: item.get(k) for k in keep}
        code = self._row("cost_codes", item.get("cost_code_id"))
        line.update(
            item_number=str(n + 1),
            type="change_order" if item.get("item_type") == "change_order_item" else "line_item",
            origin_id=None,
            origin_type=None,
            cost_code=code and {"id": code["id"], "full_code": self.cost_code_full(code), "name": code.get("name")},
        )
        return line

    def _r_payment_applications(self, record: Record, out: Record, view: str) -> None:
        contract = self._row("prime_contracts", record.get("prime_contract_id"))
        retainage = (contract or {}).get("retainage_percent") or ZERO
        earlier = self._earlier(
            self.store.rows("payment_applications", prime_contract_id=record.get("prime_contract_id")), record
        )
        items, g702, totals = self._summary(
            contract, "PrimeContract", record, earlier, retainage, "prime_change_orders", "PrimeChangeOrder"
        )
        owner = self._row("vendors", (contract or {}).get("vendor_id"))
        g702["formatted_period"] = f"{record.get('period_start')} - {record.get('period_end')}"
        out.update(
            g702=g702,
            total_amount_accrued_this_period=rails_decimal(totals["gross"]),
            percent_complete=rails_decimal(_pct(totals["to_date"], Decimal(g702["contract_sum_to_date"]))),
            formatted_contract_company=owner and owner.get("name"),
            contract={
                "id": record.get("prime_contract_id"),
                "type": "PrimeContract",
                "title": (contract or {}).get("title"),
            },
            billing_period={"start_date": record.get("period_start"), "end_date": record.get("period_end")},
        )
        out.pop("items", None)
        out.pop("prime_contract_id", None)
        if view == "show":
            out["g703"] = [self._g703(item, n) for n, item in enumerate(items)]
        out["attachments"] = self.attachments(record)
