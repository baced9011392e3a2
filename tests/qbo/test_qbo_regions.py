"""The seeded Canadian and UK companies: country, tax codes, and tax computed as QBO does there
(HST, GST+PST as two tax lines, UK VAT, and the CIS domestic reverse charge on purchases)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from connectors.qbo.client import QBOConnector
from connectors.qbo.query import Where
from sandbox.procore.app import create_sandbox as create_procore
from sandbox.qbo.app import CA_REALM, UK_REALM, create_sandbox


def _first(qbo: QBOConnector, entity: str, name: str) -> dict[str, Any]:
    return next(qbo.find(entity, Where().eq("Name", name)))


def _sale(item: str, code: str, amount: str) -> dict[str, Any]:
    return {
        "Amount": Decimal(amount),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item}, "TaxCodeRef": {"value": code}},
    }


def test_canadian_company_hst_and_gst_pst_each_rate_its_own_tax_line(
    make_connector: Callable[..., QBOConnector],
) -> None:
    ca = make_connector(CA_REALM)
    info = ca.get("CompanyInfo", CA_REALM)
    assert info["Country"] == "CA" and info["CompanyAddr"]["CountrySubDivisionCode"] == "ON"
    hst, gst_pst = _first(ca, "TaxCode", "HST ON"), _first(ca, "TaxCode", "GST/PST BC")
    customer, item = next(ca.find("Customer")), _first(ca, "Item", "Services")
    invoice = ca.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [_sale(item["Id"], hst["Id"], "1000.00"), _sale(item["Id"], gst_pst["Id"], "200.05")],
        },
        idempotency_key="ca1",
    )
    lines = {t["TaxLineDetail"]["TaxRateRef"]["name"]: t["Amount"] for t in invoice["TxnTaxDetail"]["TaxLine"]}
    # 13% of 1,000.00; GST 5% and PST 7% of 200.05 each rounded on their own (10.00 + 14.00)
    assert lines == {"HST ON": Decimal("130.00"), "GST": Decimal("10.00"), "PST BC": Decimal("14.00")}
    assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("154.00")
    assert invoice["TotalAmt"] == Decimal("1354.05")
    assert invoice["CurrencyRef"]["value"] == "CAD"
    inclusive = ca.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "GlobalTaxCalculation": "TaxInclusive",
            "Line": [_sale(item["Id"], gst_pst["Id"], "112.00")],
        },
        idempotency_key="ca2",
    )
    assert inclusive["TotalAmt"] == Decimal("112.00") and inclusive["Line"][0]["Amount"] == Decimal("100.00")
    assert inclusive["TxnTaxDetail"]["TotalTax"] == Decimal("12.00")
    # QBO taxes line by line: three lines of 0.05 at 13% are 0.01 each, 0.03 (13% of 0.15 would be 0.02)
    small = ca.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [_sale(item["Id"], hst["Id"], "0.05") for _ in range(3)],
        },
        idempotency_key="ca3",
    )
    assert small["TxnTaxDetail"]["TotalTax"] == Decimal("0.03") and small["TotalAmt"] == Decimal("0.18")


def test_uk_company_vat_rates_and_the_cis_reverse_charge_owes_the_subcontractor_the_net(
    make_connector: Callable[..., QBOConnector],
) -> None:
    uk = make_connector(UK_REALM)
    assert uk.get("CompanyInfo", UK_REALM)["Country"] == "GB"
    codes = {c["Name"]: c["Id"] for c in uk.find("TaxCode")}
    assert {"20.0% S", "5.0% R", "0.0% Z", "Exempt", "No VAT", "20.0% RC CIS"} <= set(codes)
    customer, item = next(uk.find("Customer")), _first(uk, "Item", "Services")
    invoice = uk.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [
                _sale(item["Id"], codes["20.0% S"], "1000.00"),
                _sale(item["Id"], codes["5.0% R"], "100.00"),
                _sale(item["Id"], codes["0.0% Z"], "50.00"),
                _sale(item["Id"], codes["Exempt"], "25.00"),
            ],
        },
        idempotency_key="uk1",
    )
    assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("205.00") and invoice["TotalAmt"] == Decimal("1380.00")
    assert invoice["CurrencyRef"]["value"] == "GBP"
    vendor, account = next(uk.find("Vendor")), _first(uk, "Account", "Subcontractors")
    bill = uk.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [
                {
                    "Amount": Decimal("5000.00"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {
                        "AccountRef": {"value": account["Id"]},
                        "TaxCodeRef": {"value": codes["20.0% RC CIS"]},
                    },
                }
            ],
        },
        idempotency_key="uk2",
    )
    # QBO books 1,000.00 input VAT and 1,000.00 output VAT: the subcontractor is owed the net only
    assert sorted(t["Amount"] for t in bill["TxnTaxDetail"]["TaxLine"]) == [Decimal("-1000.00"), Decimal("1000.00")]
    assert bill["TxnTaxDetail"]["TotalTax"] == Decimal("0.00") and bill["TotalAmt"] == Decimal("5000.00")


def test_sandbox_region_picks_the_realm_and_procore_tax_codes_follow() -> None:
    assert create_sandbox(region="CA").connection_info("x")["realm_id"] == CA_REALM
    assert create_sandbox(region="uk").connection_info("x")["realm_id"] == UK_REALM
    rows = {r["code"]: r for r in create_procore(region="UK").store.rows("tax_codes")}
    assert rows["TX8"]["rate1"] == Decimal("20") and rows["RC-CIS"]["rate1"] == Decimal("0")
    rows = {r["code"]: r for r in create_procore(region="CA").store.rows("tax_codes")}
    assert (rows["TX8"]["rate1"], rows["GSTPST-BC"]["rate1"]) == (Decimal("13"), Decimal("12"))
    assert "GSTPST-BC" not in {r["code"] for r in create_procore().store.rows("tax_codes")}
