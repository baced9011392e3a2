"""S9 end to end between the seeded sandboxes: after the payables flows have made the bills,
bills paid in QBO become payments issued on the Procore commitments, one per subcontractor
invoice paid, on the right contract and invoice, dated and to the cent; a re-sync writes
nothing. Several payments on one bill, one cheque over two bills (and a direct-cost bill),
the seed's payment keyed into Procore by hand, and the AU realm."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox_pair import sandbox_pair

from sandbox.procore.resources import RESOURCES

from .test_receivables_au_realm import _use_au_realm
from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params, synced  # noqa: F401

FLOW = "bill_payments_to_commitment_payments"


def _bills(pair: Any) -> dict[str, dict[str, Any]]:
    return {b.get("DocNumber"): b for b in records(pair.session.connectors({"qbo"})["qbo"], "Bill")}


def _pay(pair: Any, parts: list[tuple[dict[str, Any], str]], date: str, check: str) -> dict[str, Any]:
    """Pay bills in QBO by cheque, as the accountant would: (bill, amount applied) each."""
    qbo = pair.session.connectors({"qbo"})["qbo"]
    bank = next(a["Id"] for a in records(qbo, "Account") if a.get("AccountType") == "Bank")
    total = sum((Decimal(amount) for _, amount in parts), Decimal("0"))
    return qbo.create(
        "BillPayment",
        {
            "VendorRef": parts[0][0]["VendorRef"],
            "PayType": "Check",
            "TxnDate": date,
            "DocNumber": check,
            "TotalAmt": total,
            "CheckPayment": {"BankAccountRef": {"value": bank}},
            "Line": [
                {"Amount": Decimal(amount), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}
                for bill, amount in parts
            ],
        },
        idempotency_key=f"test-bill-payment-{check}",
    )


def _procore(pair: Any) -> dict[str, Any]:
    procore = pair.session.connectors({"procore"})["procore"]
    return {
        "payments": records(procore, "commitment_payments"),
        "requisitions": {r["invoice_number"]: r for r in records(procore, "requisitions")},
        "contracts": {
            c["number"]: c
            for kind in ("work_order_contracts", "purchase_order_contracts")
            for c in records(procore, kind)
        },
    }


def _flow(report: Any) -> Any:
    return next(f for f in report.flows if f.flow == FLOW)


def _resync_writes_nothing(pair: Any) -> None:
    pair.clear_logs()
    report = reopen(pair).run(MINE)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []
    assert report.totals().get("create", 0) == 0 and report.totals().get("update", 0) == 0


def test_several_payments_on_one_bill_become_payments_on_its_commitment(synced: Any) -> None:
    pair, ids = synced
    bill = _bills(pair)["SUMC-1001"]
    assert bill["TotalAmt"] == Decimal("108000.00")
    _pay(pair, [(bill, "40000.00")], "2024-04-20", "2301")
    _pay(pair, [(bill, "67999.99")], "2024-05-02", "2302")
    _pay(pair, [(bill, "0.01")], "2024-05-03", "2303")
    report = reopen(pair).run(MINE)
    assert [f for f in report.flows if f.outcomes and any(o.action == "error" for o in f.outcomes)] == []
    assert dict(_flow(report).counts) == {"create": 3}
    assert _bills(pair)["SUMC-1001"]["Balance"] == Decimal("0")

    seen = _procore(pair)
    req, sc1 = seen["requisitions"]["SUMC-1001"], seen["contracts"]["SC-001"]
    made = sorted((p["date"], p["amount"], p["check_number"]) for p in seen["payments"] if p["origin_id"])
    assert made == [
        ("2024-04-20", Decimal("40000.00"), "2301"),
        ("2024-05-02", Decimal("67999.99"), "2302"),
        ("2024-05-03", Decimal("0.01"), "2303"),
    ]
    for payment in (p for p in seen["payments"] if p["origin_id"]):
        assert (payment["contract_id"], payment["requisition_id"], payment["project_id"]) == (
            sc1["id"],
            req["id"],
            ids["project_id"],
        )
        assert payment["payment_method"] == "check" and payment["notes"].startswith("QuickBooks bill payment ")
    # the payment keyed into Procore by hand (25 April, 108,000.00) is another payment: left alone
    [keyed] = [p for p in seen["payments"] if not p["origin_id"]]
    assert (keyed["date"], keyed["amount"], keyed["notes"]) == ("2024-04-25", Decimal("108000.0"), None)
    _resync_writes_nothing(pair)

    # Procore locks the payments Joist wrote: a memo added in QBO afterwards is shown as locked, not sent
    qbo = pair.session.connectors({"qbo"})["qbo"]
    second = next(p for p in records(qbo, "BillPayment") if p.get("DocNumber") == "2302")
    qbo.update("BillPayment", second["Id"], {"PrivateNote": "second draw"}, current=second)
    pair.clear_logs()
    report = reopen(pair).run(MINE)
    [locked] = [o for o in _flow(report).outcomes if o.action == "lock"]
    assert locked.source_id == second["Id"] and "origin_id" in locked.reason
    assert [c.path for c in locked.changes] == ["notes"]
    assert pair.writes("procore") == []


def test_one_cheque_over_two_invoices_of_a_subcontractor_and_a_bill_kept_in_qbo(synced: Any) -> None:
    pair, ids = synced
    procore = pair.session.connectors({"procore"})["procore"]
    # the concrete subcontractor's second invoice is approved in Procore; the next sync makes its bill
    sc1 = next(c for c in records(procore, "work_order_contracts") if c["number"] == "SC-001")
    procore.create(
        "requisitions",
        {
            "project_id": ids["project_id"],
            "commitment_id": sc1["id"],
            "invoice_number": "SUMC-1002",
            "billing_date": "2024-04-30",
            "requisition_start": "2024-04-01",
            "requisition_end": "2024-04-30",
            "status": "approved",
            "items": [{"work_completed_this_period": "50000.00"}],
        },
        idempotency_key="test-sumc-1002",
    )
    reopen(pair).run(MINE)
    bills = _bills(pair)
    assert bills["SUMC-1002"]["TotalAmt"] == Decimal("45000.00")  # 50,000.00 less 10% retainage
    # a bill of the same vendor entered in QBO only (no purchase order, no Procore invoice)
    qbo = pair.session.connectors({"qbo"})["qbo"]
    expense = next(a["Id"] for a in records(qbo, "Account") if a.get("AccountType") == "Expense")
    extra = qbo.create(
        "Bill",
        {
            "VendorRef": bills["SUMC-1001"]["VendorRef"],
            "DocNumber": "SUMC-PUMP",
            "TxnDate": "2024-04-18",
            "Line": [
                {
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "Amount": Decimal("750.00"),
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": expense}},
                }
            ],
        },
        idempotency_key="test-sumc-pump",
    )
    # one cheque: the first invoice in full (as keyed into Procore by hand), the second in part, the pump hire
    _pay(
        pair,
        [(bills["SUMC-1001"], "108000.00"), (bills["SUMC-1002"], "20000.50"), (extra, "750.00")],
        "2024-04-25",
        "2201",
    )
    report = reopen(pair).run(MINE)
    flow = _flow(report)
    assert (flow.counts["create"], flow.counts["skip"], flow.counts["adopt"] + flow.counts["update"]) == (1, 1, 1)
    assert [reason for reason in flow.skip_reasons if reason.startswith("source.where is false")]
    assert sorted(o.source_id.split("#")[1] for o in flow.outcomes) == sorted(
        [bills["SUMC-1001"]["Id"], bills["SUMC-1002"]["Id"]]
    )

    seen = _procore(pair)
    reqs = seen["requisitions"]
    by_invoice = {p["requisition_id"]: p for p in seen["payments"]}
    assert len(seen["payments"]) == 2
    first, second = by_invoice[reqs["SUMC-1001"]["id"]], by_invoice[reqs["SUMC-1002"]["id"]]
    # the hand-keyed payment on the same invoice, day and amount is that cheque's part: adopted, not doubled
    assert first["origin_id"] is None and first["contract_id"] == sc1["id"] and first["amount"] == Decimal("108000.00")
    assert first["notes"].startswith("QuickBooks bill payment ") and first["check_number"] == "2201"
    assert (second["contract_id"], second["project_id"]) == (sc1["id"], ids["project_id"])
    assert (second["date"], second["amount"], second["check_number"]) == ("2024-04-25", Decimal("20000.50"), "2201")
    _resync_writes_nothing(pair)


def _au_synced_and_paid(pair: Any) -> None:
    """The AU company, GST-inclusive Procore amounts; the concrete bill paid in two halves."""
    _use_au_realm(pair)
    qbo = pair.session.connectors({"qbo"})["qbo"]
    codes = {c["Name"]: c["Id"] for c in records(qbo, "TaxCode")}
    prepare(pair)
    session = set_params(
        pair,
        qbo_region="AU",
        purchase_tax_calculation="TaxInclusive",
        purchase_line_tax_code=codes["GST"],
        retainage_tax_code=codes["FRE"],
        sales_tax_calculation="TaxInclusive",
        sales_line_tax_code=codes["GST"],
        strip_payment_tax=False,
    )
    report = session.run(MINE)
    assert [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"] == []
    bill = _bills(pair)["SUMC-1001"]
    assert (bill["GlobalTaxCalculation"], bill["TotalAmt"]) == ("TaxInclusive", Decimal("108000.00"))
    _pay(pair, [(bill, "54000.00")], "2024-05-01", "3101")
    _pay(pair, [(bill, "54000.00")], "2024-05-31", "3102")
    report = reopen(pair).run(MINE)
    assert dict(_flow(report).counts) == {"create": 2}


def test_au_realm_a_paid_gst_inclusive_bill_becomes_the_commitment_payments(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        _au_synced_and_paid(pair)
        seen = _procore(pair)
        made = sorted(
            (p["date"], p["amount"], p["contract_id"], p["requisition_id"], p["project_id"])
            for p in seen["payments"]
            if p["origin_id"]
        )
        sc1, req = seen["contracts"]["SC-001"]["id"], seen["requisitions"]["SUMC-1001"]
        assert made == [
            ("2024-05-01", Decimal("54000.00"), sc1, req["id"], req["project_id"]),
            ("2024-05-31", Decimal("54000.00"), sc1, req["id"], req["project_id"]),
        ]
        pair.clear_logs()
        report = reopen(pair).run(MINE)
        assert pair.writes("procore") == []
        assert report.totals().get("create", 0) == 0
        # QBO keeps AU purchase order lines net of GST while the rule writes them gross; the
        # three-way merge sends only what changed in Procore, so the lines are not rewritten.


def test_au_realm_payments_issued_on_a_commitment_leave_its_purchase_order_alone(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        _au_synced_and_paid(pair)
        pair.clear_logs()
        reopen(pair).run(MINE)
        assert pair.writes("qbo") == []


def test_a_bill_payment_reaches_procore_without_the_paid_bill_s_own_gst_share(tmp_path: Path) -> None:
    """AU, GST-exclusive: the concrete subcontract is taxed at 10% in Procore, its retainage is
    GST-free, so the bill mixes a taxed and an untaxed line; a flat rate would be wrong."""
    from .test_ledger_tax import _tax_commitment_line

    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        _use_au_realm(pair)
        qbo = pair.session.connectors({"qbo"})["qbo"]
        codes = {c["Name"]: c["Id"] for c in records(qbo, "TaxCode")}
        prepare(pair)
        store = pair.boxes["procore"].store
        tx8 = next(row for row in store.rows("tax_codes") if row["code"] == "TX8")
        store.update(RESOURCES["tax_codes"], tx8, {"rate1": Decimal("10")})
        _tax_commitment_line(pair, "SC-001", "TX8")
        session = set_params(
            pair,
            qbo_region="AU",
            purchase_tax_calculation="TaxExcluded",
            purchase_line_tax_code=codes["GST"],
            retainage_tax_code=codes["FRE"],
            sales_tax_calculation="TaxExcluded",
            sales_line_tax_code=codes["GST"],
        )
        report = session.run(MINE)
        # (the purchase orders' checks are another matter: lines with no Procore tax code take GST)
        bill_flows = ("commitment_invoices_to_bills", FLOW)
        assert [
            (f.flow, o.reason) for f in report.flows if f.flow in bill_flows for o in f.outcomes if o.action == "error"
        ] == []
        bill = _bills(pair)["SUMC-1001"]
        # 120,000.00 billed with 12,000.00 GST, 12,000.00 retainage held GST-free
        assert (bill["TotalAmt"], bill["TxnTaxDetail"]["TotalTax"]) == (Decimal("120000.00"), Decimal("12000.00"))
        _pay(pair, [(bill, "30000.00")], "2024-05-01", "3201")
        _pay(pair, [(bill, "90000.00")], "2024-05-31", "3202")
        report = reopen(pair).run(MINE)
        assert dict(_flow(report).counts) == {"create": 2}
        made = sorted((p["date"], p["amount"]) for p in _procore(pair)["payments"] if p["origin_id"])
        # each less its share of the bill's 12,000.00 GST: together Procore's payment due, 108,000.00
        assert made == [("2024-05-01", Decimal("27000.00")), ("2024-05-31", Decimal("81000.00"))]
