"""Change orders keep their detail end to end: the Procore sandbox serves approved change-order
lines on owner invoices, each billed change-order line is its own QBO invoice line, an
estimate carries one line per approved change order, and so does a subcontract's purchase
order."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.session import session_params
from engine.reports.reconcile import reconcile
from sandbox.procore.resources import RESOURCES

from .test_receivables_support import MINE, PACKS, prepare, records, reopen


def _errors(report: Any) -> list[Any]:
    return [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]


def _add_change_order(pair: SandboxPair, table: str, contract: dict[str, Any], number: str, amount: str) -> None:
    """An approved change order of one line on `contract`, as Procore's screens make it."""
    store = pair.boxes["procore"].store
    holder = "PrimeChangeOrder" if table == "prime_change_orders" else "CommitmentChangeOrder"
    first = sorted(store.children(contract["_holder"], contract["id"]), key=lambda r: r.get("position") or 0)[0]
    order = store.insert(
        RESOURCES[table],
        {"contract_id": contract["id"], "number": number, "title": f"Change {number}", "status": "approved"},
        company_id=contract["company_id"],
        project_id=contract["project_id"],
    )
    store.insert(
        RESOURCES["line_items"],
        {
            "holder_type": holder,
            "holder_id": order["id"],
            "position": 1,
            "description": f"Change {number}",
            "amount": Decimal(amount),
            "cost_code_id": first.get("cost_code_id"),
            "wbs_code_id": first.get("wbs_code_id"),
            "line_item_type_id": first.get("line_item_type_id"),
        },
        company_id=contract["company_id"],
        project_id=contract["project_id"],
    )


def _contract(pair: SandboxPair, table: str, number: str, holder: str) -> dict[str, Any]:
    [row] = [r for r in pair.boxes["procore"].store.rows(table) if r.get("number") == number]
    return {**row, "_holder": holder}


def test_estimates_and_purchase_orders_carry_one_line_per_change_order(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        prepare(pair)
        _add_change_order(
            pair,
            "prime_change_orders",
            _contract(pair, "prime_contracts", "PC-001", "PrimeContract"),
            "PCO-002",
            "7500.00",
        )
        sc1 = _contract(pair, "work_order_contracts", "SC-001", "WorkOrderContract")
        _add_change_order(pair, "commitment_change_orders", sc1, "CCO-002", "4200.00")
        assert _errors(reopen(pair).run(MINE)) == []
        qbo = pair.session.connectors({"qbo"})["qbo"]
        estimate = next(e for e in records(qbo, "Estimate") if e["DocNumber"] == "PC-001")
        lines = [
            (ln["Amount"], ln.get("Description"))
            for ln in estimate["Line"]
            if ln["DetailType"] == "SalesItemLineDetail"
        ]
        assert lines[3:] == [
            (Decimal("25000.00"), "PCO-001 Added footing at grid C"),
            (Decimal("7500.00"), "PCO-002 Change PCO-002"),
        ]
        assert estimate["TotalAmt"] == Decimal("912500.00")
        order = next(p for p in records(qbo, "PurchaseOrder") if p["DocNumber"] == "SC-001")
        po_lines = [(ln["Amount"], ln.get("Description")) for ln in order["Line"]]
        assert po_lines[1:] == [
            (Decimal("15000.00"), "CCO-001 Added footing at grid C"),
            (Decimal("4200.00"), "CCO-002 Change CCO-002"),
        ]
        conns = pair.session.connectors({"procore", "qbo"})
        result = reconcile(conns["procore"], conns["qbo"], pair.session.state, session_params(pair.session))
        assert result.ok, result.to_dict()


def test_an_owner_invoice_bills_each_change_order_line_as_its_own_invoice_line(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        prepare(pair)
        assert _errors(reopen(pair).run(MINE)) == []
        procore = pair.session.connectors({"procore"})["procore"]
        [first] = records(procore, "payment_applications")
        shown = procore.get("payment_applications", str(first["id"]), scope={"project_id": first["project_id"]})
        # the approved change order's line is a G703 line of its own, as Procore serves it
        change = [ln for ln in shown["g703"] if ln["type"] == "change_order"]
        assert [(ln["description_of_work"], Decimal(str(ln["scheduled_value"]))) for ln in change] == [
            ("PCO-001 Additional footing", Decimal("25000.00"))
        ]
        prime = records(procore, "prime_contracts")[0]
        procore.create(
            "payment_applications",
            {
                "project_id": first["project_id"],
                "prime_contract_id": prime["id"],
                "invoice_number": "NSDC-2024-02",
                "billing_date": "2024-04-30",
                "period_start": "2024-04-01",
                "period_end": "2024-04-30",
                "status": "approved",
                "items": [
                    {"work_completed_this_period": "0"},
                    {"work_completed_this_period": "20000.00"},
                    {"work_completed_this_period": "0"},
                    {"work_completed_this_period": "10000.00"},
                ],
            },
            idempotency_key="co-app-2",
        )
        assert _errors(reopen(pair).run(MINE)) == []
        qbo = pair.session.connectors({"qbo"})["qbo"]
        invoice = next(i for i in records(qbo, "Invoice") if i["DocNumber"] == "NSDC-2024-02")
        billed = [
            (ln["Amount"], ln["Description"])
            for ln in invoice["Line"]
            if ln["Amount"] > 0 and ln["DetailType"] == "SalesItemLineDetail"
        ]
        assert billed == [
            (Decimal("20000.00"), "2. Foundations and slab on grade: work completed this period"),
            (Decimal("10000.00"), "4. PCO-001 Additional footing: work completed this period"),
        ]
        assert invoice["TotalAmt"] == Decimal("27000.00")  # 30,000.00 less 10% retainage
        conns = pair.session.connectors({"procore", "qbo"})
        result = reconcile(conns["procore"], conns["qbo"], pair.session.state, session_params(pair.session))
        assert result.ok, result.to_dict()
