"""The packs against the seeded Australian QBO company: GST-inclusive Procore amounts
(`TaxInclusive`), GST on the claim, GST-free retainage. QBO splits the GST out; Joist checks
the totals it computed, and they reconcile with Procore's to the cent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import yaml
from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.session import session_params
from engine.project.writing import write_sandbox_project
from engine.reports.reconcile import reconcile
from sandbox.qbo.app import AU_REALM

from .test_receivables_support import MINE, PACKS, prepare, records, reopen, set_params


def _use_au_realm(pair: SandboxPair) -> None:
    """Point the project at the sandbox's AU company, keeping its packs and params."""
    path = pair.project_dir / "joist.yaml"
    kept = yaml.safe_load(path.read_text())
    info = {n: b.connection_info(f"http://{n}.sandbox.localhost") for n, b in pair.boxes.items()}
    info["qbo"] = {**info["qbo"], "realm_id": AU_REALM, "refresh_token": pair.boxes["qbo"].refresh_token(AU_REALM)}
    write_sandbox_project(pair.project_dir, info)
    text = path.read_text()
    doc = yaml.safe_load(text)
    doc.update(packs=kept["packs"], params=kept.get("params") or {})
    header = "".join(line + "\n" for line in text.splitlines()[:2] if line.startswith("#"))
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    reopen(pair)


def test_au_realm_gst_inclusive_claims_reconcile_to_the_cent(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        _use_au_realm(pair)
        qbo = pair.session.connectors({"qbo"})["qbo"]
        codes = {c["Name"]: c["Id"] for c in records(qbo, "TaxCode")}
        services = next(i["Id"] for i in records(qbo, "Item") if i["Name"] == "Services")
        prepare(pair)
        session = set_params(
            pair,
            qbo_region="AU",
            change_order_item=services,
            sales_tax_calculation="TaxInclusive",
            sales_line_tax_code=codes["GST"],
            retainage_tax_code=codes["FRE"],
            purchase_tax_calculation="TaxInclusive",
            purchase_line_tax_code=codes["GST"],
            strip_payment_tax=False,
        )
        report = session.run(MINE)
        assert [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"] == []

        qbo = session.connectors({"qbo"})["qbo"]
        invoice = next(i for i in records(qbo, "Invoice") if i["DocNumber"] == "NSDC-2024-01")
        assert invoice["GlobalTaxCalculation"] == "TaxInclusive"
        assert invoice["TotalAmt"] == Decimal("207000.00")  # what Procore claims, GST included
        # QBO splits the GST out line by line (27,272.73 + 136,363.64 + 45,454.55 net of 230,000.00)
        assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("20909.08")
        retainage = [
            ln
            for ln in invoice["Line"]
            if ln.get("SalesItemLineDetail", {}).get("TaxCodeRef", {}).get("value") == codes["FRE"]
        ]
        assert [ln["Amount"] for ln in retainage] == [Decimal("-23000.00")]  # GST-free

        qbo.create(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": Decimal("207000.00"),
                "TxnDate": "2024-04-20",
                "PaymentRefNum": "100452",
                "Line": [
                    {"Amount": Decimal("207000.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
                ],
            },
            idempotency_key="au-payment",
        )
        reopen(pair).run(MINE)
        conns = pair.session.connectors({"procore", "qbo"})
        result = reconcile(conns["procore"], conns["qbo"], pair.session.state, session_params(pair.session))
        assert result.ok, result.to_dict()
        figures = {f.name: f.qbo for f in result.project("2024-001 Riverside Medical Office").figures}
        assert figures == {
            "contract value": Decimal("905000.00"),
            "billed": Decimal("230000.00"),
            "retainage held": Decimal("23000.00"),
            "paid": Decimal("207000.00"),
            "committed": Decimal("663200.00"),
            "billed by subcontractors": Decimal("120000.00"),
            "retainage payable": Decimal("12000.00"),
        }
