"""Every region end to end between sandboxes seeded for it (`joist sandbox up --region`): the
prime contract, an owner invoice with retainage, a subcontractor invoice against a commitment
and a direct cost, each line carrying the QBO tax code its own Procore tax code links to; QBO's
tax equal to Procore's to the cent; payments both ways reaching Procore without tax (under the
UK's CIS reverse charge the subcontractor is paid the net: QBO books the VAT both ways); a
re-sync writes nothing; `joist reconcile` agrees."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.session import session_params
from engine.project.writing import sandbox_params
from engine.reports.reconcile import reconcile
from sandbox.procore.resources import RESOURCES

from .test_receivables_support import MINE, PACK_NAMES, PACKS, prepare, records, reopen, set_params

# (case, region, Procore code on the schedule of values, its QBO code, Procore code on SC-001, its QBO code)
CASES = [
    ("ca-hst", "CA", "TX8", "HST ON", "TX8", "HST ON"),
    ("ca-gst-pst", "CA", "GSTPST-BC", "GST/PST BC", "GSTPST-BC", "GST/PST BC"),
    ("uk-vat", "UK", "TX8", "20.0% S", "VAT5", "5.0% R"),
    ("uk-cis", "UK", "TX8", "20.0% S", "RC-CIS", "20.0% RC CIS"),
    ("au", "AU", "TX8", "GST", "TX8", "GST"),
    ("us", "US", "TX8", "TAX", "EXEMPT", ""),  # US purchase lines carry no tax code
]
KEPT = ("retainage_receivable_item", "retention_payable_account")  # made by prepare() in this realm


def _errors(report: Any) -> list[Any]:
    return [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]


def _tax_lines(pair: SandboxPair, rows: list[Any], code: str, with_amount: bool = False) -> None:
    """Give these Procore lines a tax code (and, on a commitment, the tax Procore shows for it)."""
    store = pair.boxes["procore"].store
    tax_code = next(r for r in store.rows("tax_codes") if r["code"] == code)
    for line in rows:
        changes: dict[str, Any] = {"tax_code_id": tax_code["id"]}
        if with_amount:
            rate = Decimal(str(tax_code["rate1"]))
            changes["tax_amount"] = (Decimal(str(line["amount"])) * rate / 100).quantize(Decimal("0.01"))
        store.update(RESOURCES["line_items"], line, changes)


def _codes(doc: dict[str, Any]) -> list[str]:
    return [
        detail["TaxCodeRef"]["value"]
        for ln in doc["Line"]
        for detail in [ln.get(ln.get("DetailType", "")) or {}]
        if isinstance(detail, dict) and "TaxCodeRef" in detail
    ]


@pytest.mark.parametrize(
    ("region", "sov_code", "sales", "sc_code", "purchases"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_region_end_to_end(
    tmp_path: Path, region: str, sov_code: str, sales: str, sc_code: str, purchases: str
) -> None:
    options = {"procore": {"region": region}, "qbo": {"region": region}}
    with sandbox_pair(tmp_path / "project", packs=PACKS, options=options) as pair:
        ids = prepare(pair)
        wanted = sandbox_params(PACK_NAMES, region)
        session = set_params(pair, **{k: v for k, v in wanted.items() if k not in KEPT})
        store = pair.boxes["procore"].store
        [prime] = store.rows("prime_contracts")
        _tax_lines(pair, store.children("PrimeContract", prime["id"]), sov_code)
        [sc1] = [c for c in store.rows("work_order_contracts") if c["number"] == "SC-001"]
        _tax_lines(pair, store.children("WorkOrderContract", sc1["id"]), sc_code, with_amount=True)
        report = reopen(pair).run(MINE)
        assert _errors(report) == []
        made = {f.flow: f.counts.get("create", 0) for f in report.flows}
        # the prime contract, the owner invoice, the commitment, its subcontractor invoice, a direct cost
        for flow in (
            "prime_contracts_to_estimates",
            "owner_invoices_to_invoices",
            "commitments_to_purchase_orders",
            "commitment_invoices_to_bills",
            "invoice_direct_costs_to_bills",
        ):
            assert made.get(flow, 0) >= 1, flow

        conns = reopen(pair).connectors({"procore", "qbo"})
        qbo, procore = conns["qbo"], conns["procore"]
        names = {c["Id"]: c["Name"] for c in records(qbo, "TaxCode")}
        by_number = {(e, d.get("DocNumber")): d for e in ("Invoice", "Bill") for d in records(qbo, e)}
        invoice, bill = by_number[("Invoice", "NSDC-2024-01")], by_number[("Bill", "SUMC-1001")]
        untaxed = "NON" if region == "US" else names[wanted["retainage_tax_code"]]
        # each billed line carries its own code's QBO code; the retainage line is untaxed
        assert [names.get(c, c) for c in _codes(invoice)] == [sales, sales, sales, untaxed]
        bill_codes = [names.get(c, c) for c in _codes(bill)]
        assert (purchases in bill_codes) if purchases else bill_codes == []
        [app] = [a for a in records(procore, "payment_applications") if a["invoice_number"] == "NSDC-2024-01"]
        shown = procore.get("payment_applications", str(app["id"]), scope={"project_id": app["project_id"]})
        procore_tax = Decimal(str(shown["g702"]["tax_applicable_to_this_payment"]))
        assert procore_tax > 0 and invoice["TxnTaxDetail"]["TotalTax"] == procore_tax  # to the cent
        rates = sorted(t["TaxLineDetail"]["TaxRateRef"]["name"] for t in invoice["TxnTaxDetail"].get("TaxLine", []))
        if sales == "GST/PST BC":
            assert rates == ["GST", "PST BC"]  # one tax line per rate, as QBO shows them
        if sc_code == "RC-CIS":
            # QBO books the 20% VAT as input and output: the subcontractor is owed the net
            amounts = sorted(t["Amount"] for t in bill["TxnTaxDetail"]["TaxLine"])
            assert amounts[0] == -amounts[-1] < 0 and bill["TxnTaxDetail"]["TotalTax"] == 0

        # the owner pays the invoice in full; the subcontractor's bill is paid in full
        customer_payment = qbo.create(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": invoice["TotalAmt"],
                "TxnDate": "2024-04-25",
                "PaymentRefNum": "9001",
                "Line": [
                    {"Amount": invoice["TotalAmt"], "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
                ],
            },
            idempotency_key=f"region-payment-{region}",
        )
        bank = next(a["Id"] for a in records(qbo, "Account") if a.get("AccountType") == "Bank")
        qbo.create(
            "BillPayment",
            {
                "VendorRef": bill["VendorRef"],
                "PayType": "Check",
                "TxnDate": "2024-04-26",
                "DocNumber": "9002",
                "TotalAmt": bill["TotalAmt"],
                "CheckPayment": {"BankAccountRef": {"value": bank}},
                "Line": [{"Amount": bill["TotalAmt"], "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
            },
            idempotency_key=f"region-bill-payment-{region}",
        )
        session = reopen(pair)
        assert _errors(session.run(MINE)) == []
        procore = session.connectors({"procore"})["procore"]
        link = session.state.find_link("owner_payments", qbo_id=str(customer_payment["Id"]))
        assert link is not None
        paid = next(p for p in records(procore, "prime_contract_payments") if str(p["id"]) == str(link.procore_id))
        assert Decimal(str(paid["amount"])) == invoice["TotalAmt"] - procore_tax  # Procore gets it without tax
        if sc_code == "RC-CIS":
            [made] = [p for p in records(procore, "commitment_payments") if p.get("check_number") == "9002"]
            assert Decimal(str(made["amount"])) == bill["TotalAmt"]  # the net: no VAT was paid to them

        pair.clear_logs()
        session = reopen(pair)
        report = session.run(MINE)
        assert pair.writes("qbo") == [] and pair.writes("procore") == []
        assert report.totals().get("create", 0) == 0 and report.totals().get("update", 0) == 0
        conns = session.connectors({"procore", "qbo"})
        result = reconcile(conns["procore"], conns["qbo"], session.state, session_params(session))
        assert result.ok, result.to_dict()
        assert ids["project_id"]
