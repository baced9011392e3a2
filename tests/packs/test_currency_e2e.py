"""Issue 20, multi-currency end to end: a US company (QBO home currency USD, multicurrency on)
runs its Canadian jobs in Procore in CAD, with Canadian subcontractors billed in CAD. The
master pack makes the subcontractors CAD vendors (and the owner and jobs CAD customers);
the payables and receivables packs write purchase orders, bills and invoices in CAD with
the rate of their date, from QBO's exchangerate entity or from a fixed table; a bill paid in
QBO in CAD becomes the Procore payment in CAD; a re-sync writes nothing; `joist reconcile`
compares in CAD, shows the USD figures, and exits 0."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sandbox_pair import SandboxPair, sandbox_pair

import cli
from sandbox.qbo.app import US_REALM

from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params

CAD = {("CAD", "2024-01-01"): Decimal("0.7400"), ("CAD", "2024-04-15"): Decimal("0.7500")}


def _go_canadian(pair: SandboxPair, **extra: Any) -> dict[str, Any]:
    """Multicurrency on in QBO with company CAD rates; every Procore job in CAD; the params
    that make its companies CAD names."""
    pair.boxes["qbo"].enable_multicurrency(US_REALM, CAD)
    store = pair.boxes["procore"].store
    projects = store.rows("projects")
    for project in projects:
        pair.boxes["procore"].set_project_currency(project["id"], "CAD")
    ids = prepare(pair)
    vendors = {str(c["vendor_id"]) for c in store.rows("work_order_contracts") + store.rows("purchase_order_contracts")}
    vendors |= {str(d["vendor_id"]) for d in store.rows("direct_costs") if d.get("vendor_id")}
    owners = {str(c["vendor_id"]) for c in store.rows("prime_contracts")}
    set_params(
        pair,
        vendor_currencies={v: "CAD" for v in sorted(vendors)},
        customer_currencies={o: "CAD" for o in sorted(owners)},
        project_currencies={str(p["id"]): "CAD" for p in projects},
        **extra,
    )
    return ids


def _errors(report: Any) -> list[tuple[str, str, str]]:
    return [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]


def _qbo(pair: SandboxPair, entity: str) -> list[dict[str, Any]]:
    return records(reopen(pair).connectors({"qbo"})["qbo"], entity)


def _reconcile(pair: SandboxPair) -> tuple[int, dict[str, Any], str]:
    reopen(pair).close()
    runner = CliRunner()
    as_json = runner.invoke(cli.main, ["--project", str(pair.project_dir), "reconcile", "--json"])
    shown = runner.invoke(cli.main, ["--project", str(pair.project_dir), "reconcile"])
    return as_json.exit_code, json.loads(as_json.output), shown.output


def test_a_canadian_subcontractor_billed_in_cad_end_to_end(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS, loopback=True) as pair:
        _go_canadian(pair)
        report = reopen(pair).run(MINE)
        assert _errors(report) == []
        vendors = {v["DisplayName"]: v for v in _qbo(pair, "Vendor")}
        assert vendors["Summit Concrete LLC"]["CurrencyRef"]["value"] == "CAD"
        assert vendors["Bay Concrete Supply"]["CurrencyRef"]["value"] == "USD"  # QBO's own, left alone
        # the subcontractor's approved invoice: 120,000 CAD of work less 10% retainage, at the
        # company rate for 31 March (0.74, QBO's exchangerate entity)
        bill = next(b for b in _qbo(pair, "Bill") if b.get("DocNumber") == "SUMC-1001")
        assert (bill["CurrencyRef"]["value"], bill["ExchangeRate"]) == ("CAD", Decimal("0.7400"))
        assert (bill["TotalAmt"], bill["HomeTotalAmt"]) == (Decimal("108000.00"), Decimal("79920.00"))
        orders = _qbo(pair, "PurchaseOrder")
        assert orders and {o["CurrencyRef"]["value"] for o in orders} == {"CAD"}
        invoice = next(i for i in _qbo(pair, "Invoice") if i.get("DocNumber") == "NSDC-2024-01")
        assert invoice["CurrencyRef"]["value"] == "CAD"
        assert invoice["HomeTotalAmt"] == (invoice["TotalAmt"] * Decimal("0.74")).quantize(Decimal("0.01"))

        # paid in QBO in CAD on 20 April, when the company rate is 0.75
        qbo = reopen(pair).connectors({"qbo"})["qbo"]
        bank = next(a["Id"] for a in records(qbo, "Account") if a.get("AccountType") == "Bank")
        payment = qbo.create(
            "BillPayment",
            {
                "VendorRef": bill["VendorRef"],
                "PayType": "Check",
                "TxnDate": "2024-04-20",
                "DocNumber": "2401",
                "TotalAmt": Decimal("108000.00"),
                "CheckPayment": {"BankAccountRef": {"value": bank}},
                "Line": [{"Amount": Decimal("108000.00"), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
            },
            idempotency_key="test-cad-bill-payment",
        )
        assert (payment["CurrencyRef"]["value"], payment["ExchangeRate"]) == ("CAD", Decimal("0.7500"))
        assert payment["TotalAmt"] * payment["ExchangeRate"] == Decimal("81000.0000")  # USD paid
        report = reopen(pair).run(MINE)
        assert _errors(report) == []
        procore = reopen(pair).connectors({"procore"})["procore"]
        made = [p for p in records(procore, "commitment_payments") if p.get("origin_id")]
        assert [(p["date"], p["amount"], p["check_number"]) for p in made] == [
            ("2024-04-20", Decimal("108000.00"), "2401")
        ]
        contract = next(c for c in records(procore, "work_order_contracts") if c["number"] == "SC-001")
        assert contract["currency_configuration"] == {"currency_iso_code": "CAD"}  # Procore's amounts: CAD

        pair.clear_logs()
        again = reopen(pair).run(MINE)
        assert pair.writes("qbo") == [] and pair.writes("procore") == []
        assert again.totals().get("create", 0) == 0 and again.totals().get("update", 0) == 0

        code, shown, text = _reconcile(pair)
        assert code == 0 and shown["ok"] is True
        riverside = next(p for p in shown["projects"] if p["name"].endswith("Riverside Medical Office"))
        assert (riverside["currency"], riverside["home_currency"]) == ("CAD", "USD")
        billed = next(f for f in riverside["figures"] if f["name"] == "billed by subcontractors")
        assert Decimal(str(billed["procore"])) == Decimal(str(billed["qbo"])) == Decimal("120000.00")
        assert Decimal(str(billed["qbo_home"])) == Decimal("88800.00")  # 120,000 CAD at 0.74
        assert "QBO (USD)" in text and "88,800.00" in text


def test_rates_from_a_fixed_table(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        # the table's first CAD rate is dated after the prime contract (10 January), the
        # commitments (1 February) and the direct costs (20 March): those fail with M445, the
        # subcontractor invoice waits for its purchase order
        _go_canadian(pair, exchange_rate_source="table", exchange_rates={"CAD": {"2024-03-25": "0.7350"}})
        report = reopen(pair).run(MINE)
        failed = _errors(report)
        assert {(flow, reason) for flow, _, reason in failed} == {
            ("prime_contracts_to_estimates", "no exchange rate for CAD on 2024-01-10"),
            ("commitments_to_purchase_orders", "no exchange rate for CAD on 2024-02-01"),
            ("purchase_orders_to_purchase_orders", "no exchange rate for CAD on 2024-02-01"),
            ("invoice_direct_costs_to_bills", "no exchange rate for CAD on 2024-03-20"),
        }
        assert not [b for b in _qbo(pair, "Bill") if b.get("DocNumber") == "SUMC-1001"]
        # the earlier rate added, the next sync writes them all at the table's rates
        set_params(pair, exchange_rates={"CAD": {"2024-01-01": "0.7300", "2024-03-25": "0.7350"}})
        report = reopen(pair).run(MINE)
        assert _errors(report) == []
        bills = _qbo(pair, "Bill")
        bill = next(b for b in bills if b.get("DocNumber") == "SUMC-1001")
        assert (bill["ExchangeRate"], bill["HomeTotalAmt"]) == (Decimal("0.7350"), Decimal("79380.00"))
        direct = [b for b in bills if b.get("DocNumber") != "SUMC-1001"]
        assert direct and {b["ExchangeRate"] for b in direct} == {Decimal("0.7300")}
        assert {(o["CurrencyRef"]["value"], o["ExchangeRate"]) for o in _qbo(pair, "PurchaseOrder")} == {
            ("CAD", Decimal("0.7300"))
        }
        pair.clear_logs()
        reopen(pair).run(MINE)
        assert pair.writes("qbo") == [] and pair.writes("procore") == []
