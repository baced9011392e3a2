"""Issue 16 item 8 end to end between the seeded sandboxes: a payment voided or deleted in
QBO voids its Procore payment (Procore locks a synced payment against edits and deletes, so
the void is a payment of the opposite amount on the same contract, invoice and date, and
the two net to zero); a Procore commitment voided closes its QBO purchase order (QBO has no
void for purchase orders); a purchase order deleted in QBO voids the commitment it made.
Each change is carried once: the next sync writes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .test_payables_payments import _bills, _pay
from .test_receivables_support import MINE, records, reopen, set_params, synced  # noqa: F401
from .test_receivables_sync import _invoice
from .test_receivables_sync import _pay as _owner_pay


def _qbo(pair: Any) -> Any:
    return pair.session.connectors({"qbo"})["qbo"]


def _procore(pair: Any) -> Any:
    return pair.session.connectors({"procore"})["procore"]


def _mine(payments: list[dict[str, Any]], qbo_id: str) -> list[dict[str, Any]]:
    """The Procore payments that carry a QBO payment (its own, and the void that reverses it)."""
    return [p for p in payments if f"payment {qbo_id}" in (p.get("notes") or "") or p.get("origin_id")]


def _resync_writes_nothing(pair: Any) -> None:
    pair.clear_logs()
    reopen(pair).run(MINE)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []


def _void_or_delete(pair: Any, entity: str, record: dict[str, Any], mode: str) -> None:
    qbo = _qbo(pair)
    qbo.delete(entity, record["Id"], mode=mode, current=qbo.get(entity, record["Id"]))


def _bill_payment_undone(pair: Any, mode: str) -> None:
    bill = _bills(pair)["SUMC-1001"]
    payment = _pay(pair, [(bill, "40000.00")], "2024-04-20", "2301")
    reopen(pair).run(MINE)
    made = [p for p in records(_procore(pair), "commitment_payments") if p.get("origin_id")]
    assert [(p["amount"], p["date"]) for p in made] == [(Decimal("40000.00"), "2024-04-20")]

    _void_or_delete(pair, "BillPayment", payment, mode)
    report = reopen(pair).run(MINE)
    flow = next(f for f in report.flows if f.flow == "bill_payments_to_commitment_payments")
    assert [o.action for o in flow.outcomes if o.action != "skip"] == ["delete"]
    after = [p for p in records(_procore(pair), "commitment_payments") if p.get("origin_id")]
    assert sorted(p["amount"] for p in after) == [Decimal("-40000.00"), Decimal("40000.00")]
    [reversal] = [p for p in after if p["amount"] < 0]
    [original] = [p for p in after if p["amount"] > 0]
    assert (reversal["contract_id"], reversal["requisition_id"], reversal["date"]) == (
        original["contract_id"],
        original["requisition_id"],
        original["date"],
    )
    assert reversal["notes"].startswith(f"Void of payment {original['id']}")
    _resync_writes_nothing(pair)


def test_a_bill_payment_voided_in_qbo_voids_the_procore_payment(synced: Any) -> None:
    pair, _ = synced
    _bill_payment_undone(pair, "void")


def test_a_bill_payment_deleted_in_qbo_voids_the_procore_payment(synced: Any) -> None:
    pair, _ = synced
    _bill_payment_undone(pair, "delete")


def test_an_owner_payment_voided_in_qbo_voids_the_procore_payment_and_paid_agrees(synced: Any) -> None:
    pair, _ = synced
    invoice = _invoice(pair, "NSDC-2024-01")
    payment = _owner_pay(pair, invoice, "10000.00", "2024-05-02", "chk-555")
    reopen(pair).run(MINE)
    made = [p for p in records(_procore(pair), "prime_contract_payments") if p.get("origin_id")]
    assert [p["amount"] for p in made] == [Decimal("10000.00")]

    _void_or_delete(pair, "Payment", payment, "void")
    voided = _qbo(pair).get("Payment", payment["Id"])
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"].startswith("Voided")
    reopen(pair).run(MINE)
    after = [p for p in records(_procore(pair), "prime_contract_payments") if p.get("origin_id")]
    assert sorted(p["amount"] for p in after) == [Decimal("-10000.00"), Decimal("10000.00")]
    assert sum(p["amount"] for p in after) == 0
    _resync_writes_nothing(pair)


def test_a_commitment_voided_in_procore_closes_its_purchase_order_once(synced: Any) -> None:
    pair, _ = synced
    procore = _procore(pair)
    po = next(p for p in records(_qbo(pair), "PurchaseOrder") if p.get("DocNumber") == "SC-001")
    assert po.get("POStatus") == "Open"
    sc1 = next(c for c in records(procore, "work_order_contracts") if c["number"] == "SC-001")
    procore.update("work_order_contracts", str(sc1["id"]), {"status": "Void"}, current=sc1)
    report = reopen(pair).run(MINE)
    flow = next(f for f in report.flows if f.flow == "commitments_to_purchase_orders")
    assert [(o.action, o.source_id) for o in flow.outcomes if o.action != "skip"] == [("delete", str(sc1["id"]))]
    closed = _qbo(pair).get("PurchaseOrder", po["Id"])
    assert (closed["POStatus"], closed["ManuallyClosed"]) == ("Closed", True)
    _resync_writes_nothing(pair)


def test_a_purchase_order_deleted_in_qbo_voids_the_commitment_it_made(synced: Any) -> None:
    pair, _ = synced
    set_params(pair, qbo_purchase_orders_to_commitments=True)
    qbo = _qbo(pair)
    template = next(p for p in records(qbo, "PurchaseOrder") if p.get("DocNumber") == "SC-001")
    line = template["Line"][0]
    po = qbo.create(
        "PurchaseOrder",
        {
            "VendorRef": template["VendorRef"],
            "DocNumber": "QB-PO-77",
            "TxnDate": "2024-05-01",
            "Line": [
                {
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "Amount": Decimal("1200.00"),
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": line["ItemBasedExpenseLineDetail"]["ItemRef"],
                        "CustomerRef": line["ItemBasedExpenseLineDetail"]["CustomerRef"],
                    },
                }
            ],
        },
        idempotency_key="test-qb-po-77",
    )
    reopen(pair).run(MINE)
    [made] = [c for c in records(_procore(pair), "purchase_order_contracts") if c["number"] == "QB-PO-77"]
    assert made["status"] != "Void"

    _void_or_delete(pair, "PurchaseOrder", po, "delete")
    report = reopen(pair).run(MINE)
    flow = next(f for f in report.flows if f.flow == "qbo_purchase_orders_to_commitments")
    assert [(o.action, o.source_id) for o in flow.outcomes if o.action != "skip"] == [("delete", po["Id"])]
    [gone] = [c for c in records(_procore(pair), "purchase_order_contracts") if c["number"] == "QB-PO-77"]
    assert gone["status"] == "Void"
    _resync_writes_nothing(pair)
