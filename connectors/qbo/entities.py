"""What the connector knows about each QBO entity: URL segment, how it is removed, its name field.

The entity names are the catalogue's (`schemas/catalog/qbo.yaml`), spelled as the API
spells them. The catalogue entity name from a webhook or CDC (`invoice`) is matched
case-insensitively with `canonical`.
"""

from __future__ import annotations

from typing import Any

NAME_LISTS = (
    "Account",
    "Class",
    "Department",
    "Item",
    "Customer",
    "Vendor",
    "Employee",
    "Term",
    "PaymentMethod",
    "TaxCode",
    "TaxRate",
    "TaxAgency",
)
TRANSACTIONS = (
    "Estimate",
    "Invoice",
    "Payment",
    "PurchaseOrder",
    "Bill",
    "BillPayment",
    "VendorCredit",
    "Purchase",
    "JournalEntry",
    "TimeActivity",
)
OTHERS = ("Attachable", "CompanyInfo", "Preferences")
ALL = NAME_LISTS + TRANSACTIONS + OTHERS
VOID = {
    "Invoice": ("void", False),
    "Payment": ("update", True),
    "BillPayment": ("update", True),
    "SalesReceipt": ("update", True),
}
#: What stands for a void where QBO has none: a purchase order is closed by hand.
CLOSE: dict[str, dict[str, Any]] = {"PurchaseOrder": {"POStatus": "Closed", "ManuallyClosed": True}}
_BY_LOWER = {name.lower(): name for name in ALL}


def canonical(name: str) -> str:
    """The catalogue spelling of an entity name; `ValueError` with the near names otherwise."""
    found = _BY_LOWER.get(name.lower())
    if found is None:
        from engine.errors import suggest

        near = suggest(name, ALL)
        raise ValueError(f"QuickBooks has no entity {name!r}" + (f"; did you mean {near[0]!r}?" if near else ""))
    return found


def segment(entity: str) -> str:
    """The URL path segment: the entity name in lower case."""
    return canonical(entity).lower()


def is_name_list(entity: str) -> bool:
    return entity in NAME_LISTS


def is_voided(entity: str, record: Any) -> bool:
    """A transaction QBO voided: still readable, its total zeroed, "Voided" opening its private note."""
    if entity not in VOID or not isinstance(record, dict):
        return False
    note = str(record.get("PrivateNote") or "")
    return note.startswith("Voided") and str(record.get("TotalAmt", "0")) in ("0", "0.0", "0.00")


def is_subtotal_line(item: Any) -> bool:
    """QBO's subtotal line, which QBO adds to sales documents on its own."""
    return isinstance(item, dict) and item.get("DetailType") == "SubTotalLineDetail"
