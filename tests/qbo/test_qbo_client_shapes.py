"""Requests shaped the way python-quickbooks 0.9.12 sends them (reference §6.4) are served
as QBO serves them: every default field, empty strings, echoed read-only fields."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx

from sandbox.qbo.app import US_REALM, QBOSandbox

if TYPE_CHECKING:
    from .conftest import Raw

PYQB_CUSTOMER = {
    "Active": True,
    "Balance": 0,
    "BalanceWithJobs": 0,
    "BillWithParent": False,
    "CompanyName": "",
    "DisplayName": "O'Brien Builders",
    "FamilyName": "",
    "FullyQualifiedName": "",
    "GivenName": "",
    "IsProject": False,
    "Job": False,
    "Level": 0,
    "MiddleName": "",
    "Notes": "",
    "OpenBalanceDate": "",
    "PrintOnCheckName": "",
    "ResaleNum": "",
    "Suffix": "",
    "SyncToken": 0,
    "Taxable": True,
    "Title": "",
    "domain": "QBO",
    "sparse": False,
    "CurrencyRef": {"name": "", "value": ""},
    "ParentRef": {"name": "", "type": "", "value": ""},
    "PrimaryEmailAddr": None,
}


def pyqb_body(payload: dict) -> str:
    """python-quickbooks' `to_json`: keys sorted, pretty-printed."""
    return json.dumps(payload, sort_keys=True, indent=4, default=float)


def test_customer_with_every_default_field(raw: Raw) -> None:
    created = raw.post("customer", pyqb_body(PYQB_CUSTOMER))
    assert created.status_code == 200, created.text
    customer = raw.data(created)["Customer"]
    assert customer["DisplayName"] == "O'Brien Builders" and customer["SyncToken"] == "0"
    assert customer["FullyQualifiedName"] == "O'Brien Builders" and "CompanyName" not in customer
    assert "ParentRef" not in customer and customer["Job"] is False
    echoed = dict(customer, CompanyName="OBB Ltd")
    updated = raw.post("customer", pyqb_body(echoed))
    assert updated.status_code == 200, updated.text
    again = raw.data(updated)["Customer"]
    assert again["SyncToken"] == "1" and again["CompanyName"] == "OBB Ltd" and again["Id"] == customer["Id"]
    found = raw.data(raw.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien Builders'"))["QueryResponse"]
    assert found["Customer"][0]["Id"] == customer["Id"]


def test_invoice_defaults_qty_zero_and_empty_dates(raw: Raw) -> None:
    customer = raw.data(raw.post("customer", {"DisplayName": "Defaults Co"}))["Customer"]
    item = raw.data(raw.query("SELECT *, Sku FROM Item ORDER BY Name"))["QueryResponse"]["Item"][0]
    line = {
        "Amount": 150,
        "Description": "",
        "DetailType": "SalesItemLineDetail",
        "LineNum": 0,
        "Id": None,
        "SalesItemLineDetail": {
            "ItemRef": {"name": "", "type": "", "value": item["Id"]},
            "Qty": 0,
            "UnitPrice": 0,
            "ServiceDate": "",
            "TaxInclusiveAmt": 0,
            "TaxCodeRef": {"value": "NON"},
        },
    }
    invoice = {
        "Balance": 0,
        "CustomField": [],
        "CustomerRef": {"name": "", "value": customer["Id"]},
        "Deposit": 0,
        "DocNumber": "",
        "DueDate": "",
        "EmailStatus": "NotSet",
        "ExchangeRate": 1,
        "GlobalTaxCalculation": "TaxExcluded",
        "HomeBalance": 0,
        "Line": [line],
        "LinkedTxn": [],
        "PrintStatus": "NotSet",
        "ShipDate": "",
        "SyncToken": 0,
        "TotalAmt": "",
        "TxnDate": "",
        "sparse": False,
    }
    response = raw.post("invoice", pyqb_body(invoice))
    assert response.status_code == 200, response.text
    created = raw.data(response)["Invoice"]
    assert created["TotalAmt"] == Decimal("150.00") and created["Balance"] == Decimal("150.00")
    assert created["TxnDate"] and created["DocNumber"] == "1001"
    assert isinstance(created["TotalAmt"], Decimal)
    assert b'"TotalAmt": 150.00' in response.content


def test_payment_total_is_an_input_and_codes_are_numeric_strings(raw: Raw) -> None:
    customer = raw.data(raw.post("customer", {"DisplayName": "Payer Co"}))["Customer"]
    payment = raw.data(raw.post("payment", pyqb_body({"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 75.5})))[
        "Payment"
    ]
    assert payment["TotalAmt"] == Decimal("75.50") and payment["UnappliedAmt"] == Decimal("75.50")
    error = raw.data(raw.post("payment", {"CustomerRef": {"value": customer["Id"]}}))["Fault"]["Error"][0]
    assert error["code"] == "2020" and error["element"] == "TotalAmt" and int(error["code"]) == 2020


def test_batch_with_36_character_bids(raw: Raw) -> None:
    bids = [str(uuid.uuid4()) for _ in range(2)]
    body = {
        "BatchItemRequest": [
            {"bId": bids[0], "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
            {"bId": bids[1], "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
        ]
    }
    items = raw.data(raw.post("batch", pyqb_body(body)))["BatchItemResponse"]
    assert [i["bId"] for i in items] == bids
    assert "Vendor" in items[0] and items[1]["Fault"]["Error"][0]["code"] == "6240"
    refused = raw.post("batch", body, {"requestid": str(uuid.uuid4())})
    assert raw.data(refused)["Fault"]["Error"][0]["element"] == "bId"


def test_cdc_with_naive_changed_since(raw: Raw, box: QBOSandbox) -> None:
    box.control.clock.advance(5)
    local = box.company().time_text()[:19]
    raw.post("customer", {"DisplayName": "Naive Co"})
    data = raw.data(raw.get("cdc", {"entities": "Customer", "changedSince": local}))
    names = [c["DisplayName"] for c in data["CDCResponse"][0]["QueryResponse"][0]["Customer"]]
    assert names == ["Naive Co"]
    empty = raw.data(raw.get("cdc", {"entities": "Invoice", "changedSince": local}))
    assert empty["CDCResponse"] == [{"QueryResponse": [{}]}]


def test_query_forms_get_and_order_by(raw: Raw) -> None:
    via_get = raw.client.get(
        raw.url("query"),
        params={"query": "select * from Term where Name LIKE '%net%'", "minorversion": "75", "format": "json"},
        headers=raw.headers({"Request-Id": "ignored"}),
    )
    terms = raw.data(via_get)["QueryResponse"]["Term"]
    assert sorted(t["Name"] for t in terms) == ["Net 15", "Net 30"]
    ordered = raw.data(raw.query("SELECT * FROM Account ORDERBY Name DESC MAXRESULTS 3"))["QueryResponse"]["Account"]
    names = [a["Name"] for a in ordered]
    assert names == sorted(names, reverse=True) and len(names) == 3
    curly = raw.query("SELECT * FROM Customer WHERE DisplayName = 'O\u2019Brien'")
    assert raw.data(curly)["Fault"]["Error"][0]["code"] == "4000"


def test_discovery_with_and_without_trailing_slash(client: httpx.Client) -> None:
    for path in ("/.well-known/openid_configuration", "/.well-known/openid_configuration/"):
        doc = client.get(path).json()
        assert doc["token_endpoint"].endswith("/oauth2/v1/tokens/bearer")
        assert doc["authorization_endpoint"].endswith("/connect/oauth2")
        assert {"issuer", "revocation_endpoint", "jwks_uri", "userinfo_endpoint"} <= set(doc)


def test_void_python_quickbooks_forms(raw: Raw) -> None:
    customer = raw.data(raw.post("customer", {"DisplayName": "Void Forms"}))["Customer"]
    payment = raw.data(raw.post("payment", {"CustomerRef": {"value": customer["Id"]}, "TotalAmt": 20}))["Payment"]
    voided = raw.post(
        "payment",
        {"Id": payment["Id"], "SyncToken": payment["SyncToken"], "sparse": True},
        {"operation": "update", "include": "void"},
    )
    body = raw.data(voided)["Payment"]
    assert body["TotalAmt"] == 0 and body["UnappliedAmt"] == 0 and body["PrivateNote"] == "Voided"
    buggy = raw.post("bill", {"operation": "void"}, {"operation": "void"})
    assert raw.data(buggy)["Fault"]["Error"][0]["element"] == "Id"


def test_entity_segment_case_and_minor_version(raw: Raw) -> None:
    lower = raw.client.get(raw.url("companyinfo/" + US_REALM), params={"minorversion": "4"}, headers=raw.headers())
    upper = raw.client.get(raw.url("CompanyInfo/" + US_REALM), headers=raw.headers())
    assert lower.status_code == upper.status_code == 200
    assert lower.headers["content-type"].startswith("application/json") and "intuit_tid" in lower.headers
    assert raw.data(upper)["CompanyInfo"]["CompanyName"] == "Joist Demo Builders"


def test_node_quickbooks_upload_then_link(raw: Raw) -> None:
    boundary = "nodeBoundary123"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_content_01"; filename="site.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff\xd8\xff jpeg"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = raw.client.post(
        raw.url("upload"),
        content=body,
        params={"minorversion": "75"},
        headers=raw.headers({"Content-Type": f"multipart/form-data; boundary={boundary}"}),
    )
    attachable = raw.data(response)["AttachableResponse"][0]["Attachable"]
    assert attachable["FileName"] == "site.jpg" and attachable["Size"] == 8
    linked = raw.post(
        "attachable",
        {
            "Id": attachable["Id"],
            "SyncToken": attachable["SyncToken"],
            "sparse": True,
            "AttachableRef": [{"EntityRef": {"type": "Customer", "value": "34"}}],
        },
    )
    after = raw.data(linked)["Attachable"]
    assert after["Size"] == 8 and after["AttachableRef"][0]["EntityRef"]["value"] == "34"
    bad = raw.post("attachable", {"Note": "x", "AttachableRef": [{"EntityRef": {"type": "Account", "value": "1"}}]})
    assert raw.data(bad)["Fault"]["Error"][0]["code"] == "6050"
