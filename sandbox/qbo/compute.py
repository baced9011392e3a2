"""What QBO computes on a transaction: line ids, amounts, tax, totals, balances and links.

`prepare` checks and completes one transaction before it is stored; `relink` recomputes
what other transactions imply (Invoice.Balance from Payments, Bill.Balance from
BillPayments, PurchaseOrder lines received by Bills, the `LinkedTxn` summaries both ways,
name balances), bumping the SyncToken of every record it changes, as QBO does.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.qbo import currency, faults
from sandbox.qbo.store import Realm
from sandbox.qbo.validate import decimal

CENT = Decimal("0.01")
SALES_DOCS = ("Invoice", "Estimate")
PURCHASE_DOCS = ("PurchaseOrder", "Bill", "VendorCredit", "Purchase")
NEEDS_LINES = SALES_DOCS + PURCHASE_DOCS + ("JournalEntry",)
REQUIRED = {
    "Invoice": ("CustomerRef",),
    "Estimate": ("CustomerRef",),
    "Payment": ("CustomerRef", "TotalAmt"),
    "PurchaseOrder": ("VendorRef",),
    "Bill": ("VendorRef",),
    "VendorCredit": ("VendorRef",),
    "BillPayment": ("VendorRef", "PayType", "TotalAmt"),
    "Purchase": ("PaymentType", "AccountRef"),
    "TimeActivity": ("NameOf",),
}
ITEM_DETAILS = ("SalesItemLineDetail", "ItemBasedExpenseLineDetail")
PRICED_DETAILS = (
    "SalesItemLineDetail",
    "GroupLineDetail",
    "ItemBasedExpenseLineDetail",
    "AccountBasedExpenseLineDetail",
    "JournalEntryLineDetail",
)
DOC_NUMBER_CHECKED = ("Invoice", "Estimate", "JournalEntry", "Bill", "VendorCredit", "PurchaseOrder")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _detail(line: dict[str, Any]) -> dict[str, Any]:
    detail = line.get(str(line.get("DetailType", "")))
    return detail if isinstance(detail, dict) else {}


def _assign_line_ids(record: dict[str, Any], previous: dict[str, Any] | None) -> None:
    old_ids = {str(ln.get("Id")) for ln in (previous or {}).get("Line", []) if ln.get("Id")}
    numeric = [int(i) for i in old_ids if i.isdigit()]
    counter = max(numeric, default=0)
    for position, line in enumerate(record.get("Line", []), start=1):
        given = str(line.get("Id", ""))
        if given not in old_ids:
            counter += 1
            line["Id"] = str(counter)
        line["LineNum"] = position


def _line_amounts(entity: str, lines: list[dict[str, Any]]) -> None:
    for index, line in enumerate(lines):
        where = f"Line[{index}]"
        kind = line.get("DetailType")
        if not kind:
            raise faults.required(f"{where}.DetailType")
        if kind == "DescriptionOnly":
            line["Amount"] = money(decimal(line.get("Amount", 0), f"{where}.Amount"))
            continue
        if "Amount" not in line:
            raise faults.required(f"{where}.Amount")
        amount = money(decimal(line["Amount"], f"{where}.Amount"))
        line["Amount"] = amount
        detail = _detail(line)
        if kind in ITEM_DETAILS and "Qty" in detail and "UnitPrice" in detail:
            qty = decimal(detail["Qty"], f"{where}.{kind}.Qty")
            price = decimal(detail["UnitPrice"], f"{where}.{kind}.UnitPrice")
            detail["Qty"], detail["UnitPrice"] = qty, price
            if qty and price and money(qty * price) != amount:
                raise faults.amount_mismatch(f"{where}.Amount")
        if kind == "JournalEntryLineDetail":
            if detail.get("PostingType") not in ("Debit", "Credit"):
                raise faults.required(f"{where}.JournalEntryLineDetail.PostingType")
            if "AccountRef" not in detail:
                raise faults.required(f"{where}.JournalEntryLineDetail.AccountRef")
        if kind == "AccountBasedExpenseLineDetail" and "AccountRef" not in detail:
            raise faults.required(f"{where}.AccountBasedExpenseLineDetail.AccountRef")


def _rates(realm: Realm, code_id: str, purchase: bool) -> list[tuple[dict[str, Any], Decimal]]:
    code = realm.find("TaxCode", code_id) or {}
    rate_list = code.get("PurchaseTaxRateList" if purchase else "SalesTaxRateList") or {}
    out = []
    for item in rate_list.get("TaxRateDetail", []):
        rate = realm.find("TaxRate", item["TaxRateRef"]["value"])
        if rate is not None:
            out.append((rate, decimal(rate.get("RateValue", 0), "RateValue")))
    return out


def _tax_line(rate: dict[str, Any], percent: Decimal, net: Decimal, amount: Decimal) -> dict[str, Any]:
    return {
        "Amount": amount,
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate["Id"], "name": rate.get("Name", "")},
            "PercentBased": True,
            "TaxPercent": percent,
            "NetAmountTaxable": money(net),
        },
    }


def _tax(realm: Realm, entity: str, record: dict[str, Any], taxable: list[dict[str, Any]]) -> tuple[Decimal, Decimal]:
    """(tax, amount the lines add to the total); fills TxnTaxDetail, and line nets when inclusive."""
    purchase = entity in PURCHASE_DOCS
    detail = record.setdefault("TxnTaxDetail", {})
    if realm.country == "US":
        record.pop("GlobalTaxCalculation", None)
        base = sum(
            (ln["Amount"] for ln in taxable if _detail(ln).get("TaxCodeRef", {}).get("value") == "TAX"), Decimal("0")
        )
        for ln in taxable:
            code = _detail(ln).get("TaxCodeRef", {}).get("value")
            if code and code not in ("TAX", "NON") and not purchase:
                raise faults.validation("6100", "Invalid tax code", "For US, specify TAX or NON", "TaxCodeRef")
        lines_total = sum((ln["Amount"] for ln in taxable), Decimal("0"))
        group = detail.get("TxnTaxCodeRef", {}).get("value")
        tax_lines = []
        if group and not purchase:
            for rate, percent in _rates(realm, group, False):
                tax_lines.append(_tax_line(rate, percent, base, money(base * percent / 100)))
        total_tax = sum((t["Amount"] for t in tax_lines), Decimal("0"))
        detail["TotalTax"] = money(total_tax)
        if tax_lines:
            detail["TaxLine"] = tax_lines
        return money(total_tax), lines_total
    mode = record.setdefault("GlobalTaxCalculation", "TaxExcluded")
    if mode not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
        raise faults.validation("2170", "Invalid Enumeration", f"Invalid Enumeration : {mode}", "GlobalTaxCalculation")
    if mode == "NotApplicable":
        if detail.get("TxnTaxCodeRef"):
            raise faults.validation(
                "6170",
                "Invalid tax calculation",
                "A transaction with GlobalTaxCalculation NotApplicable cannot carry tax.",
                "TxnTaxDetail",
            )
        record.pop("TxnTaxDetail", None)
        return Decimal("0"), sum((ln["Amount"] for ln in taxable), Decimal("0"))
    by_rate: dict[str, list[Any]] = {}
    gross_total = Decimal("0")
    for index, ln in enumerate(taxable):
        line_detail = _detail(ln)
        code = line_detail.get("TaxCodeRef", {}).get("value")
        if not code:
            raise faults.required(f"Line[{index}].{ln['DetailType']}.TaxCodeRef")
        rates = _rates(realm, code, purchase)
        percent = sum((p for _, p in rates), Decimal("0"))
        if mode == "TaxInclusive":
            gross = money(decimal(line_detail.get("TaxInclusiveAmt", ln["Amount"]), "TaxInclusiveAmt"))
            net = money(gross * 100 / (100 + percent))
            ln["Amount"], line_detail["TaxInclusiveAmt"] = net, gross
            gross_total += gross
        for rate, rate_percent in rates:
            # QBO outside the US taxes line by line: each line's tax at each rate is rounded to
            # the cent, then the tax line sums them (so it can differ from the rate on the total)
            entry = by_rate.setdefault(rate["Id"], [rate, rate_percent, Decimal("0"), Decimal("0")])
            entry[2] += ln["Amount"]
            entry[3] += money(ln["Amount"] * rate_percent / 100)
    tax_lines = [_tax_line(rate, p, net, tax) for rate, p, net, tax in by_rate.values()]
    net_total = sum((ln["Amount"] for ln in taxable), Decimal("0"))
    if mode == "TaxInclusive":
        total_tax = gross_total - net_total
        if tax_lines:
            computed = sum((t["Amount"] for t in tax_lines), Decimal("0"))
            tax_lines[-1]["Amount"] += total_tax - computed
    else:
        total_tax = sum((t["Amount"] for t in tax_lines), Decimal("0"))
    detail["TotalTax"] = money(total_tax)
    detail["TaxLine"] = tax_lines
    return money(total_tax), net_total


def prepare(
    realm: Realm,
    entity: str,
    record: dict[str, Any],
    previous: dict[str, Any] | None,
    today: str,
    next_doc_number: Callable[[], str | None],
) -> None:
    """Check and complete a transaction in place: required fields, lines, tax, totals."""
    for name in REQUIRED.get(entity, ()):
        if name not in record:
            raise faults.required(name)
    if entity in NEEDS_LINES and not record.get("Line"):
        raise faults.required("Line")
    record.setdefault("TxnDate", today)
    doc = record.get("DocNumber")
    if doc is not None and len(str(doc)) > 21:
        raise faults.string_length("DocNumber", 21, len(str(doc)))
    if doc is None and entity in SALES_DOCS + ("JournalEntry",):
        number = next_doc_number()
        if number:
            record["DocNumber"] = number
    if entity == "TimeActivity":
        _time_activity(record)
        return
    if entity in ("Payment", "BillPayment"):
        _payment(entity, record)
    else:
        lines = record.get("Line", [])
        _assign_line_ids(record, previous)
        _line_amounts(entity, lines)
        priced = [ln for ln in lines if ln.get("DetailType") in PRICED_DETAILS]
        if entity == "JournalEntry":
            debit = sum((ln["Amount"] for ln in priced if _detail(ln)["PostingType"] == "Debit"), Decimal("0"))
            credit = sum((ln["Amount"] for ln in priced if _detail(ln)["PostingType"] == "Credit"), Decimal("0"))
            if debit != credit:
                raise faults.business("Transaction must balance: the debits and credits are not equal.", "Line")
            record["TotalAmt"] = money(debit)
        else:
            tax, lines_total = _tax(realm, entity, record, priced)
            discount = Decimal("0")
            for ln in lines:
                if ln.get("DetailType") == "DiscountLineDetail":
                    detail = _detail(ln)
                    if detail.get("PercentBased"):
                        ln["Amount"] = money(
                            lines_total * decimal(detail.get("DiscountPercent", 0), "DiscountPercent") / 100
                        )
                    discount += ln["Amount"]
            record["TotalAmt"] = money(lines_total - discount + tax)
            if entity in SALES_DOCS:
                record["Line"].append(
                    {"Amount": money(lines_total), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
                )
    if entity in ("Invoice", "Bill", "VendorCredit"):
        record["Balance"] = record["TotalAmt"]
    currency.transaction(realm, entity, record)
    if entity == "PurchaseOrder":
        record.setdefault("POStatus", "Open")
    if entity == "Estimate":
        record.setdefault("TxnStatus", "Pending")


def _payment(entity: str, record: dict[str, Any]) -> None:
    total = money(decimal(record["TotalAmt"], "TotalAmt"))
    if total < 0:
        raise faults.business("The payment amount cannot be negative.", "TotalAmt")
    record["TotalAmt"] = total
    applied = Decimal("0")
    wanted = ("Invoice", "CreditMemo") if entity == "Payment" else ("Bill", "VendorCredit", "JournalEntry")
    for index, line in enumerate(record.get("Line", [])):
        line["Amount"] = money(decimal(line.get("Amount", 0), f"Line[{index}].Amount"))
        links = line.get("LinkedTxn") or []
        if not links or any(link.get("TxnType") not in wanted or not link.get("TxnId") for link in links):
            raise faults.required(f"Line[{index}].LinkedTxn")
        applied += line["Amount"] if links[0]["TxnType"] not in ("CreditMemo", "VendorCredit") else -line["Amount"]
    if applied > total:
        raise faults.business("The amount applied to transactions is more than the payment amount.", "Line")
    if entity == "Payment":
        record["UnappliedAmt"] = money(total - applied)
    else:
        pay_type = record["PayType"]
        if pay_type == "Check" and not record.get("CheckPayment", {}).get("BankAccountRef"):
            raise faults.required("CheckPayment.BankAccountRef")
        if pay_type == "CreditCard" and not record.get("CreditCardPayment", {}).get("CCAccountRef"):
            raise faults.required("CreditCardPayment.CCAccountRef")
        if pay_type not in ("Check", "CreditCard"):
            raise faults.validation("2170", "Invalid Enumeration", f"Invalid Enumeration : {pay_type}", "PayType")


def _time_activity(record: dict[str, Any]) -> None:
    name_of = record["NameOf"]
    ref = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}.get(name_of)
    if ref is None:
        raise faults.validation("2170", "Invalid Enumeration", f"Invalid Enumeration : {name_of}", "NameOf")
    if ref not in record:
        raise faults.required(ref)
    has_hours = "Hours" in record or "Minutes" in record
    has_span = "StartTime" in record or "EndTime" in record
    if has_hours and has_span:
        raise faults.validation(
            "6390", "Invalid time", "Specify either Hours and Minutes or StartTime and EndTime, not both."
        )
    if not has_hours and not has_span:
        raise faults.required("Hours")
    if record.get("BillableStatus") == "Billable":
        if "CustomerRef" not in record:
            raise faults.validation(
                "6310", "Customer required", "A billable time activity needs a CustomerRef.", "CustomerRef"
            )
        if "HourlyRate" not in record:
            raise faults.validation(
                "6330", "Rate required", "A billable time activity needs an HourlyRate.", "HourlyRate"
            )
    for key in ("HourlyRate", "CostRate"):
        if key in record:
            record[key] = decimal(record[key], key)


def void(record: dict[str, Any]) -> None:
    """Zero the amounts of a voided transaction and mark it, keeping it readable."""
    for line in record.get("Line", []):
        line["Amount"] = Decimal("0.00")
    for key in ("TotalAmt", "Balance", "UnappliedAmt"):
        if key in record:
            record[key] = Decimal("0.00")
    if isinstance(record.get("TxnTaxDetail"), dict):
        record["TxnTaxDetail"]["TotalTax"] = Decimal("0.00")
        record["TxnTaxDetail"].pop("TaxLine", None)
    note = record.get("PrivateNote")
    record["PrivateNote"] = "Voided" if not note else f"Voided - {note}"
