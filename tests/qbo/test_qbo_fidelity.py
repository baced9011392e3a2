"""The fidelity checks of reference §8, each run against the sandbox through the connector
(and, where the check is about the wire, with the raw request a real client sends)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from .conftest import Raw

from connectors.base import AuthError, Conflict
from connectors.qbo import errors
from connectors.qbo.client import BatchOp, QBOConnector
from connectors.qbo.query import Where, parse_webhook, verify_webhook
from sandbox.qbo.app import US_REALM, QBOSandbox
from sandbox.server import ServerThread

# 1. Stale SyncToken ------------------------------------------------------------------------------


def test_stale_synctoken_is_5010_and_changes_nothing(qbo: QBOConnector, raw: Raw) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Stale Co", "CompanyName": "One"}, idempotency_key="s1")
    updated = qbo.update("Customer", customer["Id"], {"CompanyName": "Two"}, current=customer)
    assert updated["SyncToken"] == "1"
    response = raw.post("customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Three"})
    assert response.status_code == 400
    fault = raw.data(response)["Fault"]
    assert fault["type"] == "ValidationFault"
    assert fault["Error"][0]["code"] == "5010" and fault["Error"][0]["Message"] == "Stale Object Error"
    with pytest.raises(errors.QBOStaleObject) as caught:
        qbo.update("Customer", customer["Id"], {"CompanyName": "Three"}, current=customer)
    assert isinstance(caught.value, Conflict)
    assert caught.value.api_code == "5010" and caught.value.current["SyncToken"] == "1"
    fresh = qbo.get("Customer", customer["Id"])
    assert fresh["SyncToken"] == "1" and fresh["CompanyName"] == "Two"


# 2. Cross-type name uniqueness ------------------------------------------------------------------


def test_display_names_are_unique_across_customer_vendor_employee(qbo: QBOConnector) -> None:
    qbo.create("Customer", {"DisplayName": "Acme"}, idempotency_key="n1")
    with pytest.raises(errors.QBODuplicateName) as caught:
        qbo.create("Vendor", {"DisplayName": "Acme"}, idempotency_key="n2")
    assert caught.value.api_code == "6240" and "suffix" in caught.value.hint
    account = next(qbo.find("Account", Where().eq("Name", "Construction Income")))
    item = qbo.create(
        "Item", {"Name": "Acme", "Type": "Service", "IncomeAccountRef": {"value": account["Id"]}}, idempotency_key="n3"
    )
    assert item["Name"] == "Acme"
    with pytest.raises(errors.QBODuplicateName):
        qbo.create(
            "Item",
            {"Name": "acme", "Type": "Service", "IncomeAccountRef": {"value": account["Id"]}},
            idempotency_key="n4",
        )


def test_inactive_names_still_block_and_colons_are_refused(qbo: QBOConnector) -> None:
    gone = qbo.create("Vendor", {"DisplayName": "Old Supplier"}, idempotency_key="i1")
    qbo.delete("Vendor", gone["Id"])
    assert qbo.get("Vendor", gone["Id"])["Active"] is False
    with pytest.raises(errors.QBODuplicateName):
        qbo.create("Customer", {"DisplayName": "Old Supplier"}, idempotency_key="i2")
    with pytest.raises(errors.QBORejected) as caught:
        qbo.create("Customer", {"DisplayName": "Job: Phase 2"}, idempotency_key="i3")
    assert caught.value.api_code == "2040"


# 3. Query envelope, paging and defaults ------------------------------------------------------------


def test_query_envelopes(qbo: QBOConnector, raw: Raw) -> None:
    empty = raw.data(raw.query("SELECT * FROM Customer WHERE DisplayName = 'Nope'"))
    assert empty["QueryResponse"] == {} and set(empty) == {"QueryResponse", "time"}
    count = raw.data(raw.query("SELECT COUNT(*) FROM Customer "))["QueryResponse"]
    assert count == {"totalCount": 4}
    too_many = raw.query("SELECT * FROM Customer MAXRESULTS 1001")
    assert too_many.status_code == 400
    error = raw.data(too_many)["Fault"]["Error"][0]
    assert error["code"] == "4001" and "Max allowed value is 1000" in error["Detail"]
    page = raw.data(raw.query("select * from customer startposition 1 maxresults 2"))["QueryResponse"]
    assert page["startPosition"] == 1 and page["maxResults"] == 2 and len(page["Customer"]) == 2
    assert "totalCount" not in page


def test_query_hides_inactive_and_escapes_quotes(qbo: QBOConnector, raw: Raw) -> None:
    brien = qbo.create("Customer", {"DisplayName": "O'Brien"}, idempotency_key="q1")
    gone = qbo.create("Customer", {"DisplayName": "Closed Account"}, idempotency_key="q2")
    qbo.delete("Customer", gone["Id"])
    names = {c["DisplayName"] for c in raw.data(raw.query("SELECT * FROM Customer"))["QueryResponse"]["Customer"]}
    assert "Closed Account" not in names and "O'Brien" in names
    both = raw.data(raw.query("SELECT * FROM Customer WHERE Active IN (true,false)"))["QueryResponse"]["Customer"]
    assert "Closed Account" in {c["DisplayName"] for c in both}
    found = raw.data(raw.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien'"))["QueryResponse"]
    assert [c["Id"] for c in found["Customer"]] == [brien["Id"]]
    assert [c["Id"] for c in qbo.find("Customer", Where().eq("DisplayName", "O'Brien"))] == [brien["Id"]]


# 4. Full vs sparse update ----------------------------------------------------------------------------


def test_full_update_clears_and_sparse_keeps(qbo: QBOConnector, raw: Raw, box: QBOSandbox) -> None:
    c = qbo.create(
        "Customer", {"DisplayName": "Update Co", "CompanyName": "Kept Ltd", "Notes": "n"}, idempotency_key="u1"
    )
    box.control.clock.advance(5)
    sparse = raw.data(raw.post("customer", {"Id": c["Id"], "SyncToken": "0", "sparse": True, "Notes": "m"}))["Customer"]
    assert sparse["CompanyName"] == "Kept Ltd" and sparse["SyncToken"] == "1"
    assert sparse["MetaData"]["LastUpdatedTime"] > c["MetaData"]["LastUpdatedTime"]
    box.control.clock.advance(5)
    full = raw.data(raw.post("customer", {"Id": c["Id"], "SyncToken": "1", "DisplayName": "Update Co"}))["Customer"]
    assert "CompanyName" not in full and full["SyncToken"] == "2"
    assert full["MetaData"]["LastUpdatedTime"] > sparse["MetaData"]["LastUpdatedTime"]


def test_sparse_update_with_lines_replaces_all_lines(h: SimpleNamespace, qbo: QBOConnector) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Lines Co"}, idempotency_key="l1")
    item = h.item_id(qbo)
    invoice = qbo.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": h.invoice_lines(item)}, idempotency_key="l2"
    )
    one_line = [
        {
            "Amount": Decimal("40"),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}},
        }
    ]
    updated = qbo.update("Invoice", invoice["Id"], {"Line": one_line}, current=invoice)
    priced = [ln for ln in updated["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert len(priced) == 1 and updated["TotalAmt"] == Decimal("40.00")


# 5. Invoice computation ---------------------------------------------------------------------------


def test_invoice_totals_lines_and_payment_links(h: SimpleNamespace, qbo: QBOConnector) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Compute Co"}, idempotency_key="c1")
    item = h.item_id(qbo)
    bad = h.invoice_lines(item)
    bad[1]["Amount"] = Decimal("26")
    with pytest.raises(errors.QBOAmountMismatch) as caught:
        qbo.create("Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": bad}, idempotency_key="c2")
    assert caught.value.api_code == "6070"
    invoice = qbo.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": h.invoice_lines(item)}, idempotency_key="c3"
    )
    assert invoice["TotalAmt"] == Decimal("125.00") and invoice["Balance"] == invoice["TotalAmt"]
    assert [ln.get("Id") for ln in invoice["Line"][:2]] == ["1", "2"]
    assert [ln.get("LineNum") for ln in invoice["Line"][:2]] == [1, 2]
    assert invoice["Line"][-1]["DetailType"] == "SubTotalLineDetail" and invoice["Line"][-1]["Amount"] == Decimal("125")
    payment = qbo.create(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": Decimal("100.00"),
            "Line": [{"Amount": Decimal("60.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
        idempotency_key="c4",
    )
    assert payment["UnappliedAmt"] == Decimal("40.00")
    after = qbo.get("Invoice", invoice["Id"])
    assert after["Balance"] == Decimal("65.00")
    assert {"TxnId": payment["Id"], "TxnType": "Payment"} in after["LinkedTxn"]
    assert qbo.get("Customer", customer["Id"])["Balance"] == Decimal("65.00")


# 6. Delete and void -----------------------------------------------------------------------------------


def test_delete_void_and_stale_delete(h: SimpleNamespace, qbo: QBOConnector, raw: Raw) -> None:
    customer = qbo.create("Customer", {"DisplayName": "Delete Co"}, idempotency_key="d1")
    item = h.item_id(qbo)
    first = qbo.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": h.invoice_lines(item)}, idempotency_key="d2"
    )
    deleted = raw.data(
        raw.post("invoice", {"Id": first["Id"], "SyncToken": first["SyncToken"]}, {"operation": "delete"})
    )
    assert deleted["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": first["Id"]}
    gone = raw.get(f"invoice/{first['Id']}")
    assert gone.status_code == 400 and raw.data(gone)["Fault"]["Error"][0]["code"] == "610"
    assert qbo.get("Invoice", first["Id"]) is None
    second = qbo.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": h.invoice_lines(item)}, idempotency_key="d3"
    )
    voided = qbo.delete("Invoice", second["Id"], mode="void")
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and "Voided" in voided["PrivateNote"]
    assert qbo.get("Invoice", second["Id"])["TotalAmt"] == 0
    third = qbo.create(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": h.invoice_lines(item)}, idempotency_key="d4"
    )
    qbo.update("Invoice", third["Id"], {"PrivateNote": "edited"}, current=third)
    stale = raw.post("invoice", {"Id": third["Id"], "SyncToken": "0"}, {"operation": "delete"})
    assert raw.data(stale)["Fault"]["Error"][0]["code"] == "5010"
    with pytest.raises(errors.QBOStaleObject):
        qbo.delete("Invoice", third["Id"], current=third)


# 7. Batch ------------------------------------------------------------------------------------------------


def test_batch_items_answer_by_bid(qbo: QBOConnector, raw: Raw) -> None:
    qbo.create("Customer", {"DisplayName": "Taken Name"}, idempotency_key="b0")
    body = {
        "BatchItemRequest": [
            {"bId": "bid1", "operation": "create", "Customer": {"DisplayName": "Batch New"}},
            {"bId": "bid2", "operation": "create", "Vendor": {"DisplayName": "Taken Name"}},
            {"bId": "bid3", "Query": "select * from Customer where DisplayName = 'Batch New'"},
        ]
    }
    response = raw.post("batch", body)
    assert response.status_code == 200
    items = {i["bId"]: i for i in raw.data(response)["BatchItemResponse"]}
    assert items["bid1"]["Customer"]["DisplayName"] == "Batch New"
    assert items["bid2"]["Fault"]["Error"][0]["code"] == "6240"
    assert "QueryResponse" in items["bid3"]
    too_big = raw.post(
        "batch", {"BatchItemRequest": [{"bId": str(i), "Query": "select * from Term"} for i in range(31)]}
    )
    assert too_big.status_code == 400 and raw.data(too_big)["Fault"]["Error"][0]["code"] == "1040"
    results = qbo.batch(
        [
            BatchOp("create", "Customer", {"DisplayName": "Batch Two"}),
            BatchOp("create", "Customer", {"DisplayName": "Batch Two"}),
        ]
    )
    assert results[0].ok and results[0].record["DisplayName"] == "Batch Two"
    assert isinstance(results[1].error, errors.QBODuplicateName)


def test_batch_items_cannot_see_each_other(qbo: QBOConnector) -> None:
    results = qbo.batch(
        [
            BatchOp("create", "Customer", {"DisplayName": "Fresh In Batch"}),
            BatchOp("query", query="select * from Customer where DisplayName = 'Fresh In Batch'"),
        ]
    )
    assert results[0].ok and results[1].query_response.get("Customer", [{}])[0].get("DisplayName") == "Fresh In Batch"
    customer_id = results[0].record["Id"]
    dependent = qbo.batch(
        [
            BatchOp("create", "Customer", {"DisplayName": "Parent In Batch"}),
            BatchOp(
                "create",
                "Customer",
                {"DisplayName": "Child", "Job": True, "ParentRef": {"value": str(int(customer_id) + 1)}},
            ),
        ]
    )
    assert dependent[0].ok and isinstance(dependent[1].error, errors.QBOInvalidReference)


# 8. CDC ---------------------------------------------------------------------------------------------------


def test_cdc_reports_changes_and_deleted_stubs(
    h: SimpleNamespace, qbo: QBOConnector, raw: Raw, box: QBOSandbox
) -> None:
    box.control.clock.advance(5)
    pages = list(qbo.read("Customer"))
    cursor = pages[-1].cursor
    box.control.clock.advance(2)
    customer = qbo.create("Customer", {"DisplayName": "CDC Co"}, idempotency_key="cdc1")
    qbo.update("Customer", customer["Id"], {"Notes": "changed"})
    invoice = qbo.create(
        "Invoice",
        {"CustomerRef": {"value": customer["Id"]}, "Line": h.invoice_lines(h.item_id(qbo))},
        idempotency_key="cdc2",
    )
    qbo.delete("Invoice", invoice["Id"])
    data = raw.data(raw.get("cdc", {"entities": "Customer,Invoice", "changedSince": cursor}))
    groups = data["CDCResponse"][0]["QueryResponse"]
    assert len(groups) == 2
    assert [c["DisplayName"] for c in groups[0]["Customer"]] == ["CDC Co"]
    assert groups[1]["Invoice"] == [
        {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"], "MetaData": groups[1]["Invoice"][0]["MetaData"]}
    ]
    changes = list(qbo.read("Invoice", since=cursor))
    assert changes[-1].records[0]["status"] == "Deleted" and changes[-1].cursor
    box.control.clock.advance(31 * 86400)
    raw.renew(box)
    old = raw.get("cdc", {"entities": "Customer", "changedSince": cursor})
    assert old.status_code == 400
    fallback = list(qbo.read("Customer", since=cursor))
    assert sum(len(p.records) for p in fallback) == 5 and fallback[-1].cursor > cursor


# 9. Upload (python-quickbooks multipart) -------------------------------------------------------------------


def test_python_quickbooks_upload_with_lf_and_base64(qbo: QBOConnector, raw: Raw) -> None:
    vendor = qbo.create("Vendor", {"DisplayName": "Upload Vendor"}, idempotency_key="up1")
    account = next(qbo.find("Account", Where().eq("Name", "Job Expenses")))
    bill = qbo.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "Amount": Decimal("10"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account["Id"]}},
                }
            ],
        },
        idempotency_key="up2",
    )
    pdf = b"%PDF-1.4 joist test \x00\xff binary"
    meta = json.dumps(
        {
            "AttachableRef": [{"EntityRef": {"type": "Bill", "value": bill["Id"]}}],
            "ContentType": "application/pdf",
            "FileName": "a.pdf",
        }
    )
    boundary = "-------------PythonMultipartPost"
    body = (
        f'\n--{boundary}\nContent-Disposition: form-data; name="file_metadata_01"\n'
        f"Content-Type: application/json\n\n{meta}\n--{boundary}\n"
        f'Content-Disposition: form-data; name="file_content_01"\nContent-Type: application/pdf\n'
        f"Content-Transfer-Encoding: base64\n\n{base64.b64encode(pdf).decode()}\n--{boundary}--\n"
    )
    response = raw.client.post(
        raw.url("upload"),
        content=body.encode(),
        params={"minorversion": "75"},
        headers=raw.headers({"Content-Type": f"multipart/form-data; boundary={boundary}"}),
    )
    assert response.status_code == 200, response.text
    attachable = raw.data(response)["AttachableResponse"][0]["Attachable"]
    assert attachable["Size"] == len(pdf)
    read = raw.data(raw.get(f"attachable/{attachable['Id']}"))["Attachable"]
    assert read["AttachableRef"][0]["EntityRef"] == {"type": "Bill", "value": bill["Id"]}
    assert qbo.download(attachable["Id"]) == pdf
    own = qbo.upload("Bill", bill["Id"], "receipt.png", b"\x89PNG data", "image/png")
    assert own["Size"] == 9 and qbo.download(own["Id"]) == b"\x89PNG data"
    assert {a["Id"] for a in qbo.attachments("Bill", bill["Id"])} == {attachable["Id"], own["Id"]}


# 10. Auth, idempotency, throttling ----------------------------------------------------------------------------


def test_bad_token_is_401_with_lowercase_fault(raw: Raw) -> None:
    response = raw.client.get(raw.url("customer/1"), headers={"Authorization": "Bearer not-a-real-token-at-all"})
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["code"] == "3200"


def test_refresh_rotates_and_old_token_is_invalid_grant(client: httpx.Client, box: QBOSandbox) -> None:
    basic = base64.b64encode(f"{box.client_id}:{box.client_secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    first = box.refresh_token()
    answer = client.post(
        "/oauth2/v1/tokens/bearer", data={"grant_type": "refresh_token", "refresh_token": first}, headers=headers
    ).json()
    assert answer["expires_in"] == 3600 and answer["refresh_token"] != first
    again = client.post(
        "/oauth2/v1/tokens/bearer", data={"grant_type": "refresh_token", "refresh_token": first}, headers=headers
    )
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
    revoke = client.post("/v2/oauth2/tokens/revoke", json={"token": answer["refresh_token"]}, headers=headers)
    assert revoke.status_code == 200
    revoked = client.post(
        "/oauth2/v1/tokens/bearer",
        headers=headers,
        data={"grant_type": "refresh_token", "refresh_token": answer["refresh_token"]},
    )
    assert revoked.json() == {"error": "invalid_grant"}


def test_requestid_replays_byte_identical(raw: Raw, box: QBOSandbox) -> None:
    first = raw.post("customer", {"DisplayName": "Replay Co"}, {"requestid": "7f1c2a9e-replay"})
    box.control.clock.advance(3)
    second = raw.post("customer", {"DisplayName": "Replay Co"}, {"requestid": "7f1c2a9e-replay"})
    assert first.status_code == second.status_code == 200 and first.content == second.content
    rows = raw.data(raw.query("SELECT * FROM Customer WHERE DisplayName = 'Replay Co'"))["QueryResponse"]["Customer"]
    assert len(rows) == 1


def test_rate_limit_500_per_minute_and_10_in_flight(box: QBOSandbox, client: httpx.Client, raw: Raw) -> None:
    box.rate_per_minute = 5
    answers = [raw.get("companyinfo/" + US_REALM).status_code for _ in range(7)]
    assert answers[:4] == [200] * 4 and answers[-1] == 429
    throttled = raw.get("preferences")
    error = raw.data(throttled)["Fault"]
    assert throttled.status_code == 429 and error["Error"][0]["code"] == "3001" and error["type"] == "SERVICE"
    box.control.clock.advance(61)
    again = raw.get("preferences")
    assert again.status_code == 200, again.text
    box.rate_per_minute = 500
    box.processing_delay = 0.3
    with ServerThread(box.app) as server:
        statuses: list[int] = []

        def call() -> None:
            with httpx.Client(base_url=server.base_url) as c:
                statuses.append(c.get(raw.url("preferences"), headers=raw.headers()).status_code)

        threads = [threading.Thread(target=call) for _ in range(14)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses.count(429) >= 1 and statuses.count(200) >= 10


# 11. Webhook signature ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["legacy", "cloudevents"])
def test_webhook_is_signed_and_tampering_fails(qbo: QBOConnector, box: QBOSandbox, shape: str) -> None:
    received: list[tuple[bytes, str]] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        received.append((request.content, request.headers["intuit-signature"]))
        return httpx.Response(200)

    box.webhooks.client = httpx.Client(transport=httpx.MockTransport(endpoint))
    box.webhooks.configure("https://hooks.example/qbo", "verifier-token-123", shape)
    customer = qbo.create("Customer", {"DisplayName": "Hooked Co"}, idempotency_key="w1")
    assert box.webhooks.deliver() == 1
    body, signature = received[0]
    expected = base64.b64encode(hmac.new(b"verifier-token-123", body, hashlib.sha256).digest()).decode()
    assert signature == expected and verify_webhook(body, signature, "verifier-token-123")
    assert not verify_webhook(body[:-1] + bytes([body[-1] ^ 1]), signature, "verifier-token-123")
    notes = parse_webhook(body)
    assert (notes[0].entity.lower(), notes[0].record_id, notes[0].operation) == ("customer", customer["Id"], "Create")
    assert notes[0].realm_id == US_REALM


def test_auth_error_when_refresh_token_is_dead(make_connector: Callable[..., QBOConnector]) -> None:
    qbo = make_connector()
    qbo.tokens.store.save(qbo.tokens.key, {"refresh_token": "RT1-not-valid-anymore", "access_token": None})
    with pytest.raises(AuthError) as caught:
        qbo.get("Customer", "1")
    assert "RT1" not in caught.value.format()


def test_optional_batch_call_limit(box: QBOSandbox, raw: Raw) -> None:
    box.batch_per_minute = 2
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Term"}]}
    assert [raw.post("batch", body).status_code for _ in range(3)] == [200, 200, 429]
    assert raw.get("preferences").status_code == 200
