"""Input as QBO reads it: defaults and read-only fields ignored, names and references checked.

python-quickbooks sends every field it knows with a default (`""`, `0`, empty refs,
`ExchangeRate: 0`, `Qty 0 x UnitPrice 0` beside a real Amount). QBO treats `""` as unset
and ignores read-only fields; `clean` does the same so those bodies are accepted.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.qbo import faults
from sandbox.qbo.store import PARTY_TYPES, Realm

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
ENTITIES = NAME_LISTS + TRANSACTIONS + ("Attachable", "CompanyInfo", "Preferences")
READ_ONLY_TYPES = ("CompanyInfo", "Preferences", "TaxRate", "TaxAgency")
SEGMENTS = {name.lower(): name for name in ENTITIES}
SEGMENTS["taxservice/taxcode"] = "TaxCode"

_ALWAYS_READ_ONLY = {
    "Id",
    "SyncToken",
    "MetaData",
    "domain",
    "sparse",
    "status",
    "time",
    "FullyQualifiedName",
    "Level",
    "Balance",
    "BalanceWithJobs",
    "HomeBalance",
    "HomeTotalAmt",
    "UnappliedAmt",
    "CurrentBalance",
    "CurrentBalanceWithSubAccounts",
    "Classification",
    "IsProject",
    "InvoiceLink",
    "Size",
    "FileAccessUri",
    "TempDownloadUri",
    "ThumbnailFileAccessUri",
    "ThumbnailTempDownloadUri",
    "LinkedTxn",
}
TOTAL_IS_INPUT = ("Payment", "BillPayment")

REF_TARGETS = {
    "CustomerRef": "Customer",
    "VendorRef": "Vendor",
    "EmployeeRef": "Employee",
    "ItemRef": "Item",
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "SalesTermRef": "Term",
    "TermRef": "Term",
    "PaymentMethodRef": "PaymentMethod",
    "TaxCodeRef": "TaxCode",
    "TxnTaxCodeRef": "TaxCode",
    "DefaultTaxCodeRef": "TaxCode",
    "SalesTaxCodeRef": "TaxCode",
    "PurchaseTaxCodeRef": "TaxCode",
    "TaxRateRef": "TaxRate",
    "AgencyRef": "TaxAgency",
    "ProjectRef": "Customer",
}
PSEUDO_TAX_CODES = ("TAX", "NON")
_MISSING = object()


def _clean(value: Any) -> Any:
    if value is None or value == "":
        return _MISSING
    if isinstance(value, dict):
        if value and set(value) <= {"value", "name", "type"} and value.get("value") in (None, ""):
            return _MISSING
        out = {}
        for key, item in value.items():
            cleaned = _clean(item)
            if cleaned is not _MISSING:
                out[key] = cleaned
        return out if out or not value else _MISSING
    if isinstance(value, list):
        items = [c for c in (_clean(v) for v in value) if c is not _MISSING]
        return items or _MISSING
    return value


def _zero(value: Any) -> bool:
    try:
        return Decimal(str(value)) == 0
    except InvalidOperation:
        return False


def _clean_line(line: dict[str, Any]) -> dict[str, Any] | None:
    line.pop("LineNum", None)
    line.pop("Received", None)
    if line.get("DetailType") == "SubTotalLineDetail":
        return None
    for key, detail in line.items():
        if key.endswith("Detail") and isinstance(detail, dict):
            if _zero(detail.get("Qty", 0)) and _zero(detail.get("UnitPrice", 0)):
                detail.pop("Qty", None)
                detail.pop("UnitPrice", None)
            if _zero(detail.get("TaxInclusiveAmt", 1)):
                detail.pop("TaxInclusiveAmt", None)
    return line


def clean(entity: str, body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields of a request body, with `""`, empty refs and read-only fields gone."""
    cleaned = _clean(body)
    out: dict[str, Any] = cleaned if isinstance(cleaned, dict) else {}
    for key in list(out):
        if key in _ALWAYS_READ_ONLY:
            out.pop(key)
    if entity in TOTAL_IS_INPUT and "TotalAmt" in body and body["TotalAmt"] != "":
        out["TotalAmt"] = body["TotalAmt"]
    else:
        out.pop("TotalAmt", None)
    if entity == "Term":
        out.pop("Type", None)
    if isinstance(out.get("TxnTaxDetail"), dict):
        out["TxnTaxDetail"].pop("TaxLine", None)
        out["TxnTaxDetail"].pop("TotalTax", None)
        if not out["TxnTaxDetail"]:
            out.pop("TxnTaxDetail")
    if "Line" in out:
        out["Line"] = [ln for ln in (_clean_line(dict(x)) for x in out["Line"] if isinstance(x, dict)) if ln]
    elif body.get("Line") == []:  # sent empty: a list is replaced whole, so the lines go (a Payment becomes a credit)
        out["Line"] = []
    return out


def decimal(value: Any, element: str) -> Decimal:
    """A money or quantity field as `Decimal` (JSON number or numeric string); else 2100."""
    if isinstance(value, bool):
        raise faults.invalid_number(element)
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise faults.invalid_number(element) from None


def record_name(entity: str, record: dict[str, Any]) -> str:
    """What QBO puts in `name` of a reference to this record."""
    if entity in PARTY_TYPES:
        return record.get("FullyQualifiedName") or record.get("DisplayName", "")
    return record.get("FullyQualifiedName") or record.get("Name") or record.get("DisplayName", "")


class RefChecker:
    """Resolves every `...Ref` in a record: 2500 if it does not exist, 610 if it is inactive.

    `hidden` holds records created earlier in the same batch: QBO runs batch items one
    after another but they cannot see each other's results.
    """

    def __init__(self, realm: Realm, entity: str, hidden: set[tuple[str, str]] | None = None) -> None:
        self.realm = realm
        self.entity = entity
        self.hidden = hidden or set()

    def target(self, key: str, ref: dict[str, Any]) -> str | None:
        if key == "ParentRef":
            return self.entity
        if key == "EntityRef":
            return ref.get("type") if ref.get("type") in PARTY_TYPES else None
        if key.endswith("AccountRef"):
            return "Account"
        return REF_TARGETS.get(key)

    def check(self, key: str, ref: dict[str, Any], path: str) -> None:
        target = self.target(key, ref)
        if target is None or "value" not in ref:
            return
        value = str(ref["value"])
        ref["value"] = value
        if target == "TaxCode" and value in PSEUDO_TAX_CODES:
            if self.realm.country != "US":
                raise faults.invalid_reference(path, value)
            ref.pop("name", None)
            return
        found = self.realm.find(target, value)
        if found is None or (target, value) in self.hidden:
            raise faults.invalid_reference(path, value)
        if found.get("Active") is False:
            raise faults.not_found(path)
        ref["name"] = record_name(target, found)

    def walk(self, node: Any, path: str = "") -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{path}.{key}" if path else key
                if isinstance(value, dict) and (key.endswith("Ref")) and "value" in value:
                    self.check(key, value, here)
                elif key == "Entity" and isinstance(value, dict) and isinstance(value.get("EntityRef"), dict):
                    value["EntityRef"].setdefault("type", value.get("Type", ""))
                    self.check("EntityRef", value["EntityRef"], here + ".EntityRef")
                elif key not in ("LinkedTxn", "AttachableRef"):
                    self.walk(value, here)
        elif isinstance(node, list):
            for item in node:
                self.walk(item, path)


def check_name(realm: Realm, entity: str, record: dict[str, Any], own_id: str | None) -> None:
    """Names: no ':' (the hierarchy separator), length, and uniqueness (6240).

    DisplayName is unique across Customer, Vendor and Employee, inactive ones included;
    other lists' Name only within their own type.
    """
    field = "DisplayName" if entity in PARTY_TYPES else "Name"
    if entity in ("TaxCode", "TaxRate", "TaxAgency") and field not in record:
        return
    name = record.get(field)
    if entity in PARTY_TYPES and not name:
        parts = [record.get(p, "") for p in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
        name = " ".join(p for p in parts if p) or record.get("CompanyName")
        if not name:
            raise faults.validation(
                "6080",
                "Name required",
                "You must specify a DisplayName or at least one of Title, GivenName, MiddleName, FamilyName or Suffix.",
                "DisplayName",
            )
        record[field] = name
    if not name:
        raise faults.required(field)
    if not isinstance(name, str):
        raise faults.invalid_string(field, f"{field} must be a string")
    if ":" in name or (entity == "Account" and '"' in name):
        raise faults.invalid_string(
            field, f"Invalid String : {field} cannot contain ':'" + (" or '\"'" if entity == "Account" else "")
        )
    limit = 500 if entity in PARTY_TYPES else 100
    if len(name) > limit:
        raise faults.string_length(field, limit, len(name))
    owner = realm.name_owner(entity, name)
    if owner is not None and owner != (entity, own_id):
        raise faults.duplicate_name()


def name_hierarchy(realm: Realm, entity: str, record: dict[str, Any]) -> None:
    """FullyQualifiedName and Level from ParentRef; Customer jobs need Job=true with ParentRef (6150)."""
    field = "DisplayName" if entity in PARTY_TYPES else "Name"
    flag = {
        "Customer": "Job",
        "Account": "SubAccount",
        "Class": "SubClass",
        "Department": "SubDepartment",
        "Item": "SubItem",
    }.get(entity)
    if flag is None:
        return
    parent_ref = record.get("ParentRef")
    if entity == "Customer" and bool(record.get("Job")) != bool(parent_ref):
        raise faults.validation(
            "6150",
            "ParentRef Required",
            "ParentRef Required Error : A sub-customer needs Job set to true and a ParentRef.",
            "ParentRef",
        )
    if parent_ref:
        parent = realm.find(entity, parent_ref["value"])
        assert parent is not None  # RefChecker ran first
        level = int(parent.get("Level", 0)) + 1
        if level > 5:
            raise faults.validation(
                "6180", "Sub Level Limit", "You can only have 5 levels of sub-entities.", "ParentRef"
            )
        record[flag] = True
        record["Level"] = level
        record["FullyQualifiedName"] = f"{record_name(entity, parent)}:{record[field]}"
        if entity == "Customer":
            record.setdefault("BillWithParent", False)
    else:
        record[flag] = False
        record["Level"] = 0
        record["FullyQualifiedName"] = record[field]
    if entity == "Customer":
        record["IsProject"] = False
