"""Multicurrency as QBO does it: the home currency, the currency of names and transactions,
exchange rates and the home-currency figures QBO computes.

A company starts with multicurrency off (`Preferences.CurrencyPrefs.MultiCurrencyEnabled`);
once on it cannot be turned off and the home currency never changes. Customers and vendors
get one currency at creation (the home one unless `CurrencyRef` says otherwise), which QBO
will not change once the name has transactions. A transaction takes its name's currency
(a different `CurrencyRef` is refused); its `ExchangeRate` is home-currency units per one
foreign unit, given on the transaction or taken from the company's rate for `TxnDate` (the
`exchangerate` entity). `HomeTotalAmt` (and the invoice's `HomeBalance`) are the amounts
times the rate, rounded to the cent. With multicurrency off everything is in the home
currency and a rate sent by a client (python-quickbooks sends 0 or 1) is ignored.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.qbo import faults
from sandbox.qbo.store import Realm

CENT = Decimal("0.01")
NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "AUD": "Australian Dollar",
    "GBP": "British Pound Sterling",
    "EUR": "Euro",
    "NZD": "New Zealand Dollar",
    "MXN": "Mexican Peso",
    "INR": "Indian Rupee",
}
COUNTRY_HOME = {"US": "USD", "AU": "AUD", "CA": "CAD", "UK": "GBP", "GB": "GBP"}
PARTY_REF = {"VendorRef": "Vendor", "CustomerRef": "Customer"}
NO_HOME_TOTAL = ("Payment", "BillPayment", "TimeActivity")
RATES = "ExchangeRate"


def _prefs(realm: Realm) -> dict[str, Any]:
    return next(iter(realm.table("Preferences").values()), {}).get("CurrencyPrefs", {})


def home(realm: Realm) -> str:
    """The company's home currency code."""
    given = _prefs(realm).get("HomeCurrency", {}).get("value")
    return str(given) if given else COUNTRY_HOME.get(realm.country, "USD")


def enabled(realm: Realm) -> bool:
    """Whether multicurrency is on for the company."""
    return _prefs(realm).get("MultiCurrencyEnabled") is True


def ref(code: str) -> dict[str, str]:
    """A `CurrencyRef` as QBO serves it."""
    return {"value": code, "name": NAMES.get(code, code)}


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _code(value: Any, element: str) -> str:
    code = str((value or {}).get("value", "") if isinstance(value, dict) else value or "").upper()
    if code not in NAMES:
        raise faults.invalid_reference(element, code)
    return code


def _rate_value(value: Any, element: str) -> Decimal:
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise faults.invalid_number(element) from None
    if not rate.is_finite() or rate <= 0:
        raise faults.business("The exchange rate must be greater than zero.", element)
    return rate


def enable(realm: Realm) -> None:
    """Turn multicurrency on (what the QBO settings page does; the API cannot)."""
    prefs = next(iter(realm.table("Preferences").values()))
    currency = prefs.setdefault("CurrencyPrefs", {})
    currency["MultiCurrencyEnabled"] = True
    currency["HomeCurrency"] = {"value": home(realm)}


def _used_by_transactions(realm: Realm, entity: str, record_id: str) -> bool:
    keys = [key for key, kind in PARTY_REF.items() if kind == entity] + ["EntityRef"]
    for table in realm.data.values():
        for doc in table.values():
            for key in keys:
                target = doc.get(key)
                if isinstance(target, dict) and str(target.get("value")) == record_id:
                    return True
    return False


def name_currency(realm: Realm, entity: str, record: dict[str, Any], previous: dict[str, Any] | None) -> None:
    """Give a customer or vendor its currency, refusing what QBO refuses."""
    base = home(realm)
    given = _code(record["CurrencyRef"], "CurrencyRef") if record.get("CurrencyRef") else None
    old = str((previous or {}).get("CurrencyRef", {}).get("value", "")) or None
    code = given or old or base
    if code != base and not enabled(realm):
        raise faults.business(
            f"Multicurrency is not turned on for this company; {entity} currency must be {base}.", "CurrencyRef"
        )
    if previous is not None and old and code != old and _used_by_transactions(realm, entity, previous["Id"]):
        raise faults.business(
            f"You can't change the currency of this {entity.lower()} because it has transactions.", "CurrencyRef"
        )
    record["CurrencyRef"] = ref(code)


def _party_code(realm: Realm, record: dict[str, Any]) -> str | None:
    for key, entity in PARTY_REF.items():
        target = record.get(key)
        if isinstance(target, dict) and target.get("value"):
            party = realm.find(entity, str(target["value"])) or {}
            return str(party.get("CurrencyRef", {}).get("value") or home(realm))
    return None


def rate_for(realm: Realm, code: str, as_of: str) -> dict[str, Any] | None:
    """The company's rate for `code` on `as_of`: the latest one set on or before that day."""
    found = [r for r in realm.table(RATES).values() if r["SourceCurrencyCode"] == code and r["AsOfDate"] <= as_of]
    return max(found, key=lambda r: r["AsOfDate"]) if found else None


def transaction(realm: Realm, entity: str, record: dict[str, Any]) -> None:
    """Set `CurrencyRef`, `ExchangeRate` and the home-currency totals of a prepared transaction."""
    base = home(realm)
    given = _code(record["CurrencyRef"], "CurrencyRef") if record.get("CurrencyRef") else None
    party = _party_code(realm, record)
    code = party or given or base
    if given and given != code:
        raise faults.business(
            f"The transaction currency {given} must match the currency of the name ({code}).", "CurrencyRef"
        )
    if code != base and not enabled(realm):
        raise faults.business(f"Multicurrency is not turned on for this company; use {base}.", "CurrencyRef")
    record["CurrencyRef"] = ref(code)
    if code == base:
        record["ExchangeRate"] = Decimal("1")
    elif record.get("ExchangeRate") not in (None, "", 0, "0"):
        record["ExchangeRate"] = _rate_value(record["ExchangeRate"], "ExchangeRate")
    else:
        company_rate = rate_for(realm, code, str(record.get("TxnDate", "")))
        if company_rate is None:
            raise faults.business(f"No exchange rate for {code} on {record.get('TxnDate')}.", "ExchangeRate")
        record["ExchangeRate"] = company_rate["Rate"]
    if enabled(realm) and entity not in NO_HOME_TOTAL and "TotalAmt" in record:
        record["HomeTotalAmt"] = _money(Decimal(record["TotalAmt"]) * record["ExchangeRate"])
    if enabled(realm) and entity == "Invoice":
        record["HomeBalance"] = record.get("HomeTotalAmt", record.get("TotalAmt"))


def home_balance(doc: dict[str, Any]) -> Decimal | None:
    """The invoice's `HomeBalance` for its current `Balance`, or None where QBO shows none."""
    if "HomeBalance" not in doc:
        return None
    return _money(Decimal(doc["Balance"]) * Decimal(doc.get("ExchangeRate", 1)))


def read_rate(realm: Realm, params: dict[str, str], today: str) -> dict[str, Any]:
    """`GET /exchangerate?sourcecurrencycode=CAD&asofdate=...` (as-of defaults to today)."""
    if not enabled(realm):
        raise faults.business("Multicurrency is not turned on for this company.", "ExchangeRate")
    code = _code(params.get("sourcecurrencycode", ""), "sourcecurrencycode")
    as_of = params.get("asofdate") or today
    found = rate_for(realm, code, as_of)
    if found is None:
        raise faults.not_found("sourcecurrencycode")
    return dict(found)


def write_rate(realm: Realm, body: dict[str, Any], stamp: str) -> dict[str, Any]:
    """Set the company's rate for one currency on one date (`POST /exchangerate`)."""
    if not enabled(realm):
        raise faults.business("Multicurrency is not turned on for this company.", "ExchangeRate")
    code = _code(body.get("SourceCurrencyCode", ""), "SourceCurrencyCode")
    base = home(realm)
    if code == base or str(body.get("TargetCurrencyCode") or base) != base:
        raise faults.business(f"Exchange rates are set from a foreign currency into {base}.", "SourceCurrencyCode")
    as_of = str(body.get("AsOfDate") or "")
    if len(as_of) != 10:
        raise faults.required("AsOfDate")
    rate = _rate_value(body.get("Rate"), "Rate")
    key = f"{code}|{as_of}"
    existing = realm.table(RATES).get(key)
    token = "0"
    if existing is not None:
        if str(body.get("SyncToken", "")) != existing["SyncToken"]:
            raise faults.stale_object()
        token = str(int(existing["SyncToken"]) + 1)
    record = {
        "SourceCurrencyCode": code,
        "TargetCurrencyCode": base,
        "Rate": rate,
        "AsOfDate": as_of,
        "SyncToken": token,
        "MetaData": {"LastUpdatedTime": stamp},
    }
    realm.table(RATES)[key] = record
    return dict(record)
