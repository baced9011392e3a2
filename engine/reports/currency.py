"""The currencies `joist reconcile` compares in. Pure.

Procore keeps a project's money in the project's currency: each financial document says so
in `currency_configuration.currency_iso_code`. QBO keeps each document in its name's
currency, with `ExchangeRate` = home-currency units per one unit of it. The report compares
a project in the project's currency, so QBO documents are taken in that currency (as the
packs write them) and, when the project is not in the home currency, added up a second time
in the home currency (each document at its own rate) for the figures QBO's reports show.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.reports.figures import amount

Record = dict[str, Any]
PROJECT_DOCUMENTS = (
    "prime_contracts",
    "work_order_contracts",
    "purchase_order_contracts",
    "payment_applications",
    "requisitions",
)
MONEY = ("Amount", "TotalAmt", "TaxInclusiveAmt", "TotalTax", "Balance", "UnappliedAmt")


def document_currency(doc: Mapping[str, Any], home: str) -> str:
    """The currency of a QBO document (its `CurrencyRef`; the home one when it has none)."""
    ref = doc.get("CurrencyRef")
    code = ref.get("value") if isinstance(ref, Mapping) else None
    return str(code or home).upper()


def project_currency(procore_records: Mapping[str, list[Record]], project_id: str, home: str) -> str:
    """A Procore project's currency, as its financial documents state it (home when none does)."""
    for entity in PROJECT_DOCUMENTS:
        for doc in procore_records.get(entity, ()):
            if str(doc.get("project_id")) != project_id:
                continue
            config = doc.get("currency_configuration")
            code = config.get("currency_iso_code") if isinstance(config, Mapping) else None
            if code:
                return str(code).upper()
    return home.upper()


def _scaled(value: Any, factor: Decimal) -> Any:
    if isinstance(value, dict):
        return {
            k: (amount(v) * factor if k in MONEY and v is not None else _scaled(v, factor)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scaled(v, factor) for v in value]
    return value


def in_currency(qbo_records: Mapping[str, list[Record]], target: str, home: str) -> dict[str, list[Record]]:
    """The QBO documents with their amounts in `target`: as they are when already in it, at
    their own rate when `target` is the home currency. A document in another foreign
    currency cannot be taken into `target` and is kept as it is (its total then differs from
    its Procore document's, which the report lists)."""
    out: dict[str, list[Record]] = {}
    for entity, docs in qbo_records.items():
        rows = out.setdefault(entity, [])
        for doc in docs:
            if document_currency(doc, home) != target.upper() and target.upper() == home.upper():
                rows.append(_scaled(copy.deepcopy(doc), amount(doc.get("ExchangeRate") or 1)))
            else:
                rows.append(doc)
    return out
