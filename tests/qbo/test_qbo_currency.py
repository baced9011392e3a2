"""Multicurrency in the QBO sandbox: home currency, names in a foreign currency, the rate on
transactions, the home-currency totals QBO computes, the exchangerate entity, and what QBO
refuses (issue 20)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .conftest import Raw

from connectors.qbo.wire import loads
from sandbox.qbo.app import US_REALM, QBOSandbox

CAD_RATE = Decimal("0.7312")


def ok(response: httpx.Response, entity: str) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return _data(response)[entity]


def _data(response: httpx.Response) -> Any:
    return loads(response.content)


def refused(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    return str(_data(response)["Fault"]["Error"][0]["code"])


def account(raw: Raw, name: str) -> str:
    rows = _data(raw.query(f"select * from Account where Name = '{name}'"))["QueryResponse"]["Account"]
    return str(rows[0]["Id"])


def bill(raw: Raw, vendor: str, amount: str, date: str, **extra: Any) -> httpx.Response:
    line = {
        "Amount": amount,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account(raw, "Subcontractors")}},
    }
    return raw.post("bill", {"VendorRef": {"value": vendor}, "TxnDate": date, "Line": [line], **extra})


def test_multicurrency_off_keeps_everything_in_the_home_currency(raw: Raw) -> None:
    prefs = ok(raw.get("preferences"), "Preferences")
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    assert refused(raw.post("vendor", {"DisplayName": "Nord Steel", "CurrencyRef": {"value": "CAD"}})) == "6000"
    vendor = ok(raw.post("vendor", {"DisplayName": "Nord Steel"}), "Vendor")
    assert vendor["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    # python-quickbooks sends ExchangeRate 0 on a bill: ignored for a home-currency document
    made = ok(bill(raw, vendor["Id"], "100.00", "2026-03-02", ExchangeRate=0), "Bill")
    assert made["ExchangeRate"] == Decimal("1") and "HomeTotalAmt" not in made
    assert refused(bill(raw, vendor["Id"], "100.00", "2026-03-02", CurrencyRef={"value": "CAD"})) == "6000"
    assert refused(raw.get("exchangerate", {"sourcecurrencycode": "CAD"})) == "6000"


def test_foreign_vendor_bill_and_payment_carry_both_currencies(box: QBOSandbox, raw: Raw) -> None:
    box.enable_multicurrency(US_REALM, {("CAD", "2026-01-01"): CAD_RATE})
    assert ok(raw.get("preferences"), "Preferences")["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    vendor = ok(raw.post("vendor", {"DisplayName": "Maple Framing", "CurrencyRef": {"value": "CAD"}}), "Vendor")
    assert vendor["CurrencyRef"] == {"value": "CAD", "name": "Canadian Dollar"}
    made = ok(bill(raw, vendor["Id"], "1234.57", "2026-03-02"), "Bill")
    assert made["CurrencyRef"]["value"] == "CAD" and made["ExchangeRate"] == CAD_RATE
    assert made["TotalAmt"] == Decimal("1234.57") and made["HomeTotalAmt"] == Decimal("902.72")  # 902.717...
    given = ok(bill(raw, vendor["Id"], "100.00", "2026-03-02", ExchangeRate="0.75"), "Bill")
    assert given["HomeTotalAmt"] == Decimal("75.00")
    # a transaction in another currency than its name's is refused, both ways
    assert refused(bill(raw, vendor["Id"], "1.00", "2026-03-02", CurrencyRef={"value": "USD"})) == "6000"
    home_vendor = ok(raw.post("vendor", {"DisplayName": "Bay Steel US"}), "Vendor")
    assert refused(bill(raw, home_vendor["Id"], "1.00", "2026-03-02", CurrencyRef={"value": "CAD"})) == "6000"
    # no company rate before the first one set
    assert refused(bill(raw, vendor["Id"], "1.00", "2025-12-31")) == "6000"
    payment = ok(
        raw.post(
            "billpayment",
            {
                "VendorRef": {"value": vendor["Id"]},
                "PayType": "Check",
                "TxnDate": "2026-03-10",
                "TotalAmt": "400.00",
                "CheckPayment": {"BankAccountRef": {"value": account(raw, "Checking")}},
                "Line": [{"Amount": "400.00", "LinkedTxn": [{"TxnId": made["Id"], "TxnType": "Bill"}]}],
            },
        ),
        "BillPayment",
    )
    assert payment["CurrencyRef"]["value"] == "CAD" and payment["ExchangeRate"] == CAD_RATE
    after = ok(raw.get(f"bill/{made['Id']}"), "Bill")
    assert after["Balance"] == Decimal("834.57") and after["HomeTotalAmt"] == Decimal("902.72")


def test_foreign_invoice_home_balance_follows_payments(box: QBOSandbox, raw: Raw) -> None:
    box.enable_multicurrency(US_REALM, {("CAD", "2026-01-01"): CAD_RATE})
    customer = ok(raw.post("customer", {"DisplayName": "Toronto Owner", "CurrencyRef": {"value": "CAD"}}), "Customer")
    item = _data(raw.query("select * from Item where Name = 'Services'"))["QueryResponse"]["Item"][0]["Id"]
    line = {
        "Amount": "1000.00",
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item}},
    }
    invoice = ok(
        raw.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "TxnDate": "2026-02-01", "Line": [line]}),
        "Invoice",
    )
    assert invoice["HomeTotalAmt"] == Decimal("731.20") and invoice["HomeBalance"] == Decimal("731.20")
    ok(
        raw.post(
            "payment",
            {
                "CustomerRef": {"value": customer["Id"]},
                "TotalAmt": "250.00",
                "Line": [{"Amount": "250.00", "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
            },
        ),
        "Payment",
    )
    after = ok(raw.get(f"invoice/{invoice['Id']}"), "Invoice")
    assert after["Balance"] == Decimal("750.00") and after["HomeBalance"] == Decimal("548.40")


def test_a_name_currency_is_fixed_once_it_has_transactions(box: QBOSandbox, raw: Raw) -> None:
    box.enable_multicurrency(US_REALM, {("CAD", "2026-01-01"): CAD_RATE, ("EUR", "2026-01-01"): Decimal("1.1")})
    vendor = ok(raw.post("vendor", {"DisplayName": "Maple Framing", "CurrencyRef": {"value": "CAD"}}), "Vendor")
    moved = ok(
        raw.post(
            "vendor",
            {"Id": vendor["Id"], "SyncToken": vendor["SyncToken"], "sparse": True, "CurrencyRef": {"value": "EUR"}},
        ),
        "Vendor",
    )
    assert moved["CurrencyRef"]["value"] == "EUR"
    ok(bill(raw, vendor["Id"], "10.00", "2026-03-02"), "Bill")
    again = ok(raw.get(f"vendor/{vendor['Id']}"), "Vendor")
    body = {"Id": vendor["Id"], "SyncToken": again["SyncToken"], "sparse": True, "CurrencyRef": {"value": "CAD"}}
    assert refused(raw.post("vendor", body)) == "6000"
    # a full update that leaves the currency out keeps it
    kept = ok(
        raw.post("vendor", {"Id": vendor["Id"], "SyncToken": again["SyncToken"], "DisplayName": "Maple Framing Ltd"}),
        "Vendor",
    )
    assert kept["CurrencyRef"]["value"] == "EUR"


def test_exchange_rate_entity_read_and_set_for_a_date(box: QBOSandbox, raw: Raw) -> None:
    box.enable_multicurrency(US_REALM, {("CAD", "2026-01-01"): CAD_RATE})
    rate = ok(raw.get("exchangerate", {"sourcecurrencycode": "CAD", "asofdate": "2026-03-02"}), "ExchangeRate")
    assert (rate["SourceCurrencyCode"], rate["TargetCurrencyCode"]) == ("CAD", "USD")
    assert (rate["Rate"], rate["AsOfDate"]) == (CAD_RATE, "2026-01-01")
    body = {"SourceCurrencyCode": "CAD", "TargetCurrencyCode": "USD", "AsOfDate": "2026-03-05", "Rate": "0.7400"}
    made = ok(raw.post("exchangerate", body), "ExchangeRate")
    assert made["SyncToken"] == "0" and made["Rate"] == Decimal("0.7400")
    assert refused(raw.post("exchangerate", {**body, "Rate": "0.75", "SyncToken": "7"})) == "5010"
    moved = ok(raw.post("exchangerate", {**body, "Rate": "0.75", "SyncToken": "0"}), "ExchangeRate")
    assert moved["SyncToken"] == "1"
    vendor = ok(raw.post("vendor", {"DisplayName": "Maple Framing", "CurrencyRef": {"value": "CAD"}}), "Vendor")
    assert ok(bill(raw, vendor["Id"], "100.00", "2026-03-06"), "Bill")["ExchangeRate"] == Decimal("0.75")
    assert ok(bill(raw, vendor["Id"], "100.00", "2026-03-04"), "Bill")["ExchangeRate"] == CAD_RATE
    assert refused(raw.post("exchangerate", {**body, "SourceCurrencyCode": "USD"})) == "6000"
    assert refused(raw.post("exchangerate", {**body, "Rate": "0"})) == "6000"
