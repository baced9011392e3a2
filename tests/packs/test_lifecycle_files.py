"""Issue 16 item 10 end to end between the seeded sandboxes: a file attached after the first
sync follows on the next one, both ways, each file exactly once: a PDF added to a Procore
subcontractor invoice reaches its QBO bill (`sync` and `sync --full`), a PDF attached in QBO
to a purchase order reaches the Procore commitment it made (QBO keeps files as Attachables,
which leave the purchase order unchanged), and none comes back the other way."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sandbox_pair import sandbox_pair

from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params, synced  # noqa: F401


def _qbo(pair: Any) -> Any:
    return pair.session.connectors({"qbo"})["qbo"]


def _procore(pair: Any) -> Any:
    return pair.session.connectors({"procore"})["procore"]


def _requisition(pair: Any, number: str) -> dict[str, Any]:
    return next(r for r in records(_procore(pair), "requisitions") if r["invoice_number"] == number)


def _bill(pair: Any, number: str) -> dict[str, Any]:
    return next(b for b in records(_qbo(pair), "Bill") if b.get("DocNumber") == number)


def _attach_to_requisition(pair: Any, ids: dict[str, Any], name: str) -> None:
    req = _requisition(pair, "SUMC-1001")
    _procore(pair).attach(
        "requisitions",
        str(req["id"]),
        [(name, b"%PDF-1.4 " + name.encode(), "application/pdf")],
        scope={"project_id": ids["project_id"]},
    )


def _files_on_bill(pair: Any) -> list[str]:
    return sorted(f["FileName"] for f in _qbo(pair).attachments("Bill", _bill(pair, "SUMC-1001")["Id"]))


def _writes_nothing(pair: Any, *, full: bool = False) -> None:
    pair.clear_logs()
    reopen(pair).run(MINE, full=full)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []


def test_a_pdf_added_in_procore_later_reaches_the_bill_once(synced: Any) -> None:
    pair, ids = synced
    assert _files_on_bill(pair) == []
    _attach_to_requisition(pair, ids, "SUMC-1001-lien-waiver.pdf")
    report = reopen(pair).run(MINE)
    flow = next(f for f in report.flows if f.flow == "commitment_invoices_to_bills")
    [outcome] = [o for o in flow.outcomes if o.action != "skip"]
    assert (outcome.action, outcome.reason) == ("update", "1 file(s) attached")
    assert _files_on_bill(pair) == ["SUMC-1001-lien-waiver.pdf"]
    _writes_nothing(pair)
    _writes_nothing(pair, full=True)
    # a second file later: only that one goes
    _attach_to_requisition(pair, ids, "SUMC-1001-photos.pdf")
    reopen(pair).run(MINE)
    assert _files_on_bill(pair) == ["SUMC-1001-lien-waiver.pdf", "SUMC-1001-photos.pdf"]
    _writes_nothing(pair)


def test_sync_full_copies_the_files_of_records_synced_before_files_were_turned_on(tmp_path: Path) -> None:
    layer = tmp_path / "no-files"
    layer.mkdir()
    (layer / "commitment_invoices_to_bills.yaml").write_text("flow: commitment_invoices_to_bills\nattachments: false\n")
    with sandbox_pair(tmp_path / "project", packs=[*PACKS, str(layer)]) as pair:
        ids = prepare(pair)
        _attach_to_requisition(pair, ids, "SUMC-1001-lien-waiver.pdf")
        pair.session.run(MINE)
        assert _files_on_bill(pair) == []
        # files turned on: the requisition has not changed since, and `sync --full` looks at its files
        path = pair.project_dir / "joist.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["packs"] = [p for p in doc["packs"] if p != str(layer)]
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        reopen(pair).run(MINE, full=True)
        assert _files_on_bill(pair) == ["SUMC-1001-lien-waiver.pdf"]
        _writes_nothing(pair, full=True)
        _writes_nothing(pair)


def test_a_pdf_attached_in_qbo_later_reaches_the_commitment_once_and_never_comes_back(synced: Any) -> None:
    pair, _ = synced
    set_params(pair, qbo_purchase_orders_to_commitments=True)
    qbo = _qbo(pair)
    template = next(p for p in records(qbo, "PurchaseOrder") if p.get("DocNumber") == "SC-001")
    line = template["Line"][0]["ItemBasedExpenseLineDetail"]
    po = qbo.create(
        "PurchaseOrder",
        {
            "VendorRef": template["VendorRef"],
            "DocNumber": "QB-PO-88",
            "TxnDate": "2024-05-01",
            "Line": [
                {
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "Amount": Decimal("800.00"),
                    "ItemBasedExpenseLineDetail": {"ItemRef": line["ItemRef"], "CustomerRef": line["CustomerRef"]},
                }
            ],
        },
        idempotency_key="test-qb-po-88",
    )
    reopen(pair).run(MINE)
    [made] = [c for c in records(_procore(pair), "purchase_order_contracts") if c["number"] == "QB-PO-88"]
    assert not made.get("attachments")

    qbo = _qbo(pair)
    qbo.upload("PurchaseOrder", po["Id"], "QB-PO-88-quote.pdf", b"%PDF-1.4 quote", "application/pdf")
    assert qbo.get("PurchaseOrder", po["Id"])["SyncToken"] == po["SyncToken"]  # the PO itself is unchanged
    reopen(pair).run(MINE)
    procore = _procore(pair)
    commitment = procore.get("purchase_order_contracts", str(made["id"]), scope={"project_id": made["project_id"]})
    assert [a["filename"] for a in commitment["attachments"]] == ["QB-PO-88-quote.pdf"]
    assert [f.fetch() for f in procore.files("purchase_order_contracts", commitment)] == [b"%PDF-1.4 quote"]
    _writes_nothing(pair)
    _writes_nothing(pair, full=True)
    assert [a["FileName"] for a in _qbo(pair).attachments("PurchaseOrder", po["Id"])] == ["QB-PO-88-quote.pdf"]


def test_a_receipt_added_in_qbo_to_an_imported_expense_is_reported_not_forced(tmp_path: Path) -> None:
    from .test_costs_sync import RULES, _conns, _errors, _flow, _qbo_entries, open_pair

    packs = [str(RULES / "master"), str(RULES / "costs")]
    for pair, ids in open_pair(tmp_path / "project", packs):
        check = _qbo_entries(pair, ids)["check"]
        assert _errors(pair.session.run(None)) == []
        link = pair.session.state.find_link("expense_costs", qbo_id=check["Id"])
        procore, qbo = _conns(pair)
        cost = procore.get("direct_costs", link.procore_id, scope={"project_id": ids["project_id"]})
        assert cost["origin_id"] and not cost.get("attachments")  # Procore froze the imported cost
        qbo.upload("Purchase", check["Id"], "per-diem-receipt.pdf", b"%PDF-1.4 receipt", "application/pdf")
        pair.clear_logs()
        report = pair.reopen().run(None)
        assert _errors(report) == []
        [locked] = [o for o in _flow(report, "expenses_to_costs").outcomes if o.source_id == check["Id"]]
        assert locked.action == "lock" and "per-diem-receipt.pdf" in (locked.reason or "")
        assert pair.writes("procore") == [] and pair.writes("qbo") == []
