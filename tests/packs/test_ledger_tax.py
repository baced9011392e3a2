"""Tax end to end between the seeded sandboxes: each owner-invoice line taxed by its own
Procore tax code (through the tax_codes link), QBO's computed tax equal to Procore's to the
cent, and payments reaching Procore without the tax share of the invoice they pay."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.session import session_params
from engine.reports.reconcile import reconcile
from sandbox.procore.resources import RESOURCES

from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params

RECEIVABLES = "tag:receivables"


def _tax_schedule_of_values(pair: SandboxPair, codes: list[str]) -> dict[str, Any]:
    """Give the seeded prime contract's schedule-of-values lines these Procore tax codes, in order."""
    store = pair.boxes["procore"].store
    by_code = {row["code"]: row for row in store.rows("tax_codes")}
    [prime] = store.rows("prime_contracts")
    lines = sorted(store.children("PrimeContract", prime["id"]), key=lambda r: r.get("position") or 0)
    for line, code in zip(lines, codes):
        store.update(RESOURCES["line_items"], line, {"tax_code_id": by_code[code]["id"]})
    return by_code


def _errors(report: Any) -> list[Any]:
    return [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]


def _invoice(pair: SandboxPair, doc_number: str) -> dict[str, Any]:
    qbo = pair.session.connectors({"qbo"})["qbo"]
    return next(i for i in records(qbo, "Invoice") if i["DocNumber"] == doc_number)


def _reconciled(pair: SandboxPair) -> Any:
    conns = pair.session.connectors({"procore", "qbo"})
    return reconcile(conns["procore"], conns["qbo"], pair.session.state, session_params(pair.session))


def test_each_owner_invoice_line_is_taxed_by_its_own_procore_tax_code(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        prepare(pair)
        _tax_schedule_of_values(pair, ["TX8", "TX8", "EXEMPT"])
        report = reopen(pair).run(MINE)
        assert _errors(report) == []
        procore = pair.session.connectors({"procore"})["procore"]
        [app] = [a for a in records(procore, "payment_applications") if a["invoice_number"] == "NSDC-2024-01"]
        shown = procore.get("payment_applications", str(app["id"]), scope={"project_id": app["project_id"]})
        # Procore taxes the 30,000.00 and 150,000.00 billed on TX8 lines at 9.25%; the rest is exempt
        assert Decimal(str(shown["g702"]["tax_applicable_to_this_payment"])) == Decimal("16650.00")
        invoice = _invoice(pair, "NSDC-2024-01")
        codes = [
            ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in invoice["Line"] if "SalesItemLineDetail" in ln
        ]
        assert codes == ["TAX", "TAX", "NON", "NON"]  # the retainage line is untaxed
        alameda = next(
            c["Id"] for c in records(pair.session.connectors({"qbo"})["qbo"], "TaxCode") if c["Name"] == "Alameda"
        )
        assert invoice["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == alameda
        assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("16650.00")
        assert invoice["TotalAmt"] == Decimal("223650.00")  # 207,000.00 due + 16,650.00 tax
        result = _reconciled(pair)
        assert result.ok, result.to_dict()  # `joist reconcile` would exit 0


def test_a_payment_reaches_procore_without_the_tax_share_of_the_invoice_it_pays(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        prepare(pair)
        _tax_schedule_of_values(pair, ["TX8", "TX8", "TX8"])
        assert _errors(reopen(pair).run(MINE)) == []
        invoice = _invoice(pair, "NSDC-2024-01")
        # 230,000.00 taxable at 9.25% (21,275.00), 23,000.00 retainage held untaxed
        assert (invoice["TotalAmt"], invoice["TxnTaxDetail"]["TotalTax"]) == (Decimal("228275.00"), Decimal("21275.00"))
        qbo = pair.session.connectors({"qbo"})["qbo"]
        payment = qbo.create(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": Decimal("228275.00"),
                "TxnDate": "2024-04-25",
                "PaymentRefNum": "100460",
                "Line": [
                    {"Amount": Decimal("228275.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
                ],
            },
            idempotency_key="tax-share-payment",
        )
        report = reopen(pair).run(RECEIVABLES)
        assert _errors(report) == []
        procore = pair.session.connectors({"procore"})["procore"]
        link = pair.session.state.find_link("owner_payments", qbo_id=str(payment["Id"]))
        assert link is not None
        paid = next(p for p in records(procore, "prime_contract_payments") if str(p["id"]) == str(link.procore_id))
        assert Decimal(str(paid["amount"])) == Decimal("207000.00")
        result = _reconciled(pair)  # paid agrees: QBO's payment less the invoice's own tax share
        assert result.ok, result.to_dict()
        assert result.project("2024-001 Riverside Medical Office").figure("paid").qbo == Decimal("207000.00")


def _tax_commitment_line(pair: SandboxPair, number: str, code: str) -> None:
    store = pair.boxes["procore"].store
    by_code = {row["code"]: row for row in store.rows("tax_codes")}
    [contract] = [c for c in store.rows("work_order_contracts") if c["number"] == number]
    for line in store.children("WorkOrderContract", contract["id"]):
        store.update(RESOURCES["line_items"], line, {"tax_code_id": by_code[code]["id"]})


def test_au_realm_every_flow_takes_the_gst_code_each_line_s_own_tax_code_links_to(tmp_path: Path) -> None:
    from .test_receivables_au_realm import _use_au_realm

    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        _use_au_realm(pair)
        qbo = pair.session.connectors({"qbo"})["qbo"]
        codes = {c["Name"]: c["Id"] for c in records(qbo, "TaxCode")}
        services = next(i["Id"] for i in records(qbo, "Item") if i["Name"] == "Services")
        prepare(pair)
        # an Australian Procore company's TX8 is GST at 10%; the third schedule-of-values line and
        # subcontract SC-001 are GST-free in Procore (EXEMPT maps to FRE)
        by_code = _tax_schedule_of_values(pair, ["TX8", "TX8", "EXEMPT"])
        pair.boxes["procore"].store.update(RESOURCES["tax_codes"], by_code["TX8"], {"rate1": Decimal("10")})
        _tax_commitment_line(pair, "SC-001", "EXEMPT")
        session = set_params(
            pair,
            qbo_region="AU",
            change_order_item=services,
            sales_tax_calculation="TaxExcluded",
            sales_line_tax_code=codes["GST"],
            retainage_tax_code=codes["FRE"],
            purchase_tax_calculation="TaxInclusive",
            purchase_line_tax_code=codes["GST"],
        )
        assert _errors(session.run(MINE)) == []
        qbo = session.connectors({"qbo"})["qbo"]

        def line_codes(entity: str, number: str) -> list[str]:
            doc = next(d for d in records(qbo, entity) if d.get("DocNumber") == number)
            return [
                detail["TaxCodeRef"]["value"]
                for ln in doc["Line"]
                for detail in [ln.get(ln["DetailType"]) or {}]
                if "TaxCodeRef" in detail
            ]

        gst, fre = codes["GST"], codes["FRE"]
        assert line_codes("Estimate", "PC-001") == [gst, gst, fre, gst]  # the change-order line has no code: GST
        assert line_codes("Invoice", "NSDC-2024-01") == [gst, gst, fre, fre]  # the last is the retainage
        assert line_codes("PurchaseOrder", "SC-001")[0] == fre
        invoice = next(d for d in records(qbo, "Invoice") if d.get("DocNumber") == "NSDC-2024-01")
        # GST on the 180,000.00 of taxed lines only, as Procore taxes them: the check passed
        assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("18000.00")
        assert invoice["TotalAmt"] == Decimal("225000.00")
        result = _reconciled(pair)
        assert result.ok, result.to_dict()
