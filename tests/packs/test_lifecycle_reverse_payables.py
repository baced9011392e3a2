"""Issue 16 item 15, payables, end to end between the seeded sandboxes: the reverse commitment
flow makes subcontracts as well as purchase orders (S7: QBO purchase orders numbered with
`qbo_subcontract_prefix`), and the reverse bill flow carries the retainage the QBO bill
holds back (S8). Both opt-in; a second sync writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .test_receivables_support import MINE, records, reopen, set_params, synced  # noqa: F401


def _qbo(pair: Any) -> Any:
    return pair.session.connectors({"qbo"})["qbo"]


def _procore(pair: Any) -> Any:
    return pair.session.connectors({"procore"})["procore"]


def _po(pair: Any, number: str) -> dict[str, Any]:
    return next(p for p in records(_qbo(pair), "PurchaseOrder") if p.get("DocNumber") == number)


def _writes_nothing(pair: Any) -> None:
    pair.clear_logs()
    reopen(pair).run(MINE)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []


def test_a_qbo_purchase_order_numbered_as_a_subcontract_becomes_a_procore_subcontract(synced: Any) -> None:
    pair, _ = synced
    set_params(pair, qbo_purchase_orders_to_commitments=True, qbo_subcontract_prefix="SUB-")
    template = _po(pair, "SC-001")
    line = template["Line"][0]["ItemBasedExpenseLineDetail"]
    for number, amount in (("SUB-900", "48000.00"), ("QB-PO-900", "2500.00")):
        _qbo(pair).create(
            "PurchaseOrder",
            {
                "VendorRef": template["VendorRef"],
                "DocNumber": number,
                "TxnDate": "2024-05-01",
                "Line": [
                    {
                        "DetailType": "ItemBasedExpenseLineDetail",
                        "Amount": Decimal(amount),
                        "ItemBasedExpenseLineDetail": {"ItemRef": line["ItemRef"], "CustomerRef": line["CustomerRef"]},
                    }
                ],
            },
            idempotency_key=f"test-{number}",
        )
    report = reopen(pair).run(MINE)
    assert [o for f in report.flows for o in f.outcomes if o.action == "error"] == []
    procore = _procore(pair)
    subcontracts = {c["number"]: c for c in records(procore, "work_order_contracts")}
    orders = {c["number"]: c for c in records(procore, "purchase_order_contracts")}
    assert "SUB-900" in subcontracts and "SUB-900" not in orders
    assert "QB-PO-900" in orders and "QB-PO-900" not in subcontracts
    sub = procore.get(
        "work_order_contracts",
        str(subcontracts["SUB-900"]["id"]),
        scope={"project_id": subcontracts["SUB-900"]["project_id"]},
    )
    assert [ln["amount"] for ln in sub["line_items"]] == [Decimal("48000.00")]
    link = pair.session.state.find_link("commitments", procore_id=str(sub["id"]))
    assert link is not None and link.qbo_id == _po(pair, "SUB-900")["Id"]
    _writes_nothing(pair)


def test_a_bill_entered_in_qbo_brings_its_retainage_to_the_subcontractor_invoice(synced: Any) -> None:
    pair, ids = synced
    set_params(pair, bills_to_requisitions=True)
    po = _po(pair, "PO-001")
    line = po["Line"][0]
    _qbo(pair).create(
        "Bill",
        {
            "VendorRef": po["VendorRef"],
            "DocNumber": "RWLS-4411",
            "TxnDate": "2024-04-12",
            "Line": [
                {
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "Amount": Decimal("9100.00"),
                    "Description": "Framing lumber, first delivery",
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": line["ItemBasedExpenseLineDetail"]["ItemRef"],
                        "CustomerRef": line["ItemBasedExpenseLineDetail"]["CustomerRef"],
                    },
                    "LinkedTxn": [{"TxnId": po["Id"], "TxnType": "PurchaseOrder", "TxnLineId": line["Id"]}],
                },
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": Decimal("-455.00"),
                    "Description": "Retainage held, 5%",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": ids["retention_payable_account"]}},
                },
            ],
        },
        idempotency_key="test-bill-retainage",
    )
    report = reopen(pair).run("tag:payables")
    outcomes = [o for f in report.flows if f.flow == "bills_to_requisitions" for o in f.outcomes]
    assert [o.action for o in outcomes if o.action != "skip"] == ["create"]
    [req] = [r for r in records(_procore(pair), "requisitions") if r["invoice_number"] == "RWLS-4411"]
    [item] = [i for i in req["items"] if i["work_completed_this_period"]]
    assert item["work_completed_this_period"] == Decimal("9100.00")
    assert item["work_completed_retainage_retained_this_period"] == Decimal("455.00")  # the bill's, not a percentage
    _writes_nothing(pair)
