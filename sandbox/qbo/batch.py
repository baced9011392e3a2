"""`/batch` (up to 30 items, each answered on its own under its `bId`) and `/taxservice/taxcode`.

Batch items run one after another but cannot see each other's results: a record created
by an earlier item is invisible to the references of a later one. A failed item does not
stop the others; the HTTP status is 200 unless the batch itself is refused.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.qbo import faults
from sandbox.qbo.ops import Company
from sandbox.qbo.validate import ENTITIES, SEGMENTS, decimal

MAX_ITEMS = 30


def _item(company: Company, item: dict[str, Any], hidden: set[tuple[str, str]]) -> dict[str, Any]:
    if "Query" in item:
        return {"QueryResponse": company.query(str(item["Query"]), SEGMENTS)}
    if "CDCQuery" in item:
        cdc = item["CDCQuery"]
        entities = [
            SEGMENTS[e.strip().lower()]
            for e in str(cdc.get("Entities", "")).split(",")
            if e.strip().lower() in SEGMENTS
        ]
        return {"CDCResponse": [{"QueryResponse": company.cdc(entities, str(cdc.get("ChangedSince", "")))}]}
    names = [k for k in item if k in ENTITIES]
    if len(names) != 1:
        raise faults.validation(
            "2010",
            "Request has invalid or unsupported property",
            "A batch item needs exactly one entity, Query or CDCQuery.",
        )
    entity = names[0]
    body = item[entity]
    operation = str(item.get("operation", "create")).lower()
    include = {o.strip().lower() for o in str(item.get("optionsData", "")).split(",") if o.strip()}
    if operation == "create":
        record = company.create(entity, body, include, hidden)
        hidden.add((entity, record["Id"]))
        return {entity: record}
    if operation == "update":
        return {entity: company.update(entity, body, include, hidden)}
    if operation == "delete":
        return {entity: company.delete(entity, body)}
    if operation == "void":
        return {entity: company.void(entity, body)}
    raise faults.validation("2170", "Invalid Enumeration", f"Invalid Enumeration : {operation}", "operation")


def run_batch(company: Company, body: Any, request_id: str | None) -> dict[str, Any]:
    """The `BatchItemResponse` of a batch request."""
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise faults.required("BatchItemRequest")
    if len(items) > MAX_ITEMS:
        raise faults.batch_too_large(len(items))
    seen: set[str] = set()
    for item in items:
        bid = str(item.get("bId", ""))
        if not bid or bid in seen:
            raise faults.validation(
                "2010",
                "Request has invalid or unsupported property",
                f"Every batch item needs a unique bId (got {bid!r}).",
                "bId",
            )
        if request_id and len(bid) > 10:
            raise faults.string_length("bId", 10, len(bid))
        seen.add(bid)
    hidden: set[tuple[str, str]] = set()
    out = []
    for item in items:
        try:
            result = _item(company, item, hidden)
        except faults.Fault as fault:
            result = {"Fault": fault.to_json()}
        out.append({"bId": str(item["bId"]), **result})
    return {"BatchItemResponse": out}


def tax_service(company: Company, body: Any) -> dict[str, Any]:
    """`POST /taxservice/taxcode`: a tax code and its rates in one call (unwrapped response)."""
    if not isinstance(body, dict) or not body.get("TaxCode"):
        raise faults.required("TaxCode")
    details = body.get("TaxRateDetails") or []
    if not details:
        raise faults.required("TaxRateDetails")
    realm = company.realm
    if realm.name_owner("TaxCode", body["TaxCode"]):
        raise faults.duplicate_name()
    sales: list[dict[str, Any]] = []
    purchase: list[dict[str, Any]] = []
    answered: list[dict[str, Any]] = []
    for index, detail in enumerate(details):
        rate_id = detail.get("TaxRateId")
        if rate_id:
            rate = realm.find("TaxRate", str(rate_id))
            if rate is None:
                raise faults.invalid_reference(f"TaxRateDetails[{index}].TaxRateId", str(rate_id))
        else:
            agency = realm.find("TaxAgency", str(detail.get("TaxAgencyId", "")))
            if agency is None:
                raise faults.invalid_reference(f"TaxRateDetails[{index}].TaxAgencyId", str(detail.get("TaxAgencyId")))
            rate = {
                "Name": detail.get("TaxRateName") or f"{body['TaxCode']} rate {index + 1}",
                "Active": True,
                "RateValue": decimal(detail.get("RateValue", Decimal("0")), "RateValue"),
                "AgencyRef": {"value": agency["Id"], "name": agency["DisplayName"]},
                "SpecialTaxType": "NONE",
                "DisplayType": "ReadOnly",
            }
            company._store("TaxRate", rate, None)
        entry = {
            "TaxRateRef": {"value": rate["Id"], "name": rate["Name"]},
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 0,
        }
        (purchase if detail.get("TaxApplicableOn") == "Purchase" else sales).append(entry)
        answered.append(
            {
                "TaxRateName": rate["Name"],
                "TaxRateId": rate["Id"],
                "RateValue": rate["RateValue"],
                "TaxAgencyId": rate["AgencyRef"]["value"],
                "TaxApplicableOn": detail.get("TaxApplicableOn", "Sales"),
            }
        )
    code = {
        "Name": body["TaxCode"],
        "Active": True,
        "Taxable": True,
        "TaxGroup": True,
        "Hidden": False,
        "SalesTaxRateList": {"TaxRateDetail": sales},
        "PurchaseTaxRateList": {"TaxRateDetail": purchase},
    }
    company._store("TaxCode", code, None)
    return {"TaxCode": code["Name"], "TaxCodeId": code["Id"], "TaxRateDetails": answered}
