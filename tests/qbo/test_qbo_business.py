"""Business rules the sandbox computes: tax (US and AU), links both ways, projects, journal
entries, time activities; plus persistence across restarts and webhook retries."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from .conftest import Raw

from connectors.qbo import errors
from connectors.qbo.client import QBOConnector
from connectors.qbo.query import Where
from sandbox.qbo.app import AU_REALM, US_REALM, QBOSandbox, create_sandbox
from sandbox.transport import InProcessTransport


def first(qbo: QBOConnector, entity: str, name: str) -> dict:
    return next(qbo.find(entity, Where().eq("Name", name)))


def test_us_tax_from_the_transaction_tax_group(qbo: QBOConnector, h: SimpleNamespace) -> None:
    group = first(qbo, "TaxCode", "Alameda")
    lines = h.invoice_lines(h.item_id(qbo))
    lines[0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    lines[1]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "NON"}
    invoice = qbo.create(
        "Invoice",
        {
            "CustomerRef": {"value": "34"},
            "Line": lines,
            "GlobalTaxCalculation": "TaxExcluded",
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": group["Id"]}},
        },
        idempotency_key="t1",
    )
    assert invoice["TxnTaxDetail"]["TotalTax"] == Decimal("9.25")
    assert [t["Amount"] for t in invoice["TxnTaxDetail"]["TaxLine"]] == [Decimal("7.25"), Decimal("2.00")]
    assert invoice["TotalAmt"] == Decimal("134.25") and "GlobalTaxCalculation" not in invoice
    lines[0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": group["Id"]}
    with pytest.raises(errors.QBORejected) as caught:
        qbo.create("Invoice", {"CustomerRef": {"value": "34"}, "Line": lines}, idempotency_key="t2")
    assert caught.value.api_code == "6100"


def test_au_tax_exclusive_and_inclusive(make_connector: Callable[..., QBOConnector]) -> None:
    au = make_connector(AU_REALM)
    gst = first(au, "TaxCode", "GST")
    customer = next(au.find("Customer"))
    account = first(au, "Account", "Job Expenses")
    item = first(au, "Item", "Services")

    def line(amount: str) -> dict:
        return {
            "Amount": Decimal(amount),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "TaxCodeRef": {"value": gst["Id"]}},
        }

    exclusive = au.create(
        "Invoice",
        {"CustomerRef": {"value": customer["Id"]}, "GlobalTaxCalculation": "TaxExcluded", "Line": [line("100.00")]},
        idempotency_key="au1",
    )
    assert exclusive["TxnTaxDetail"]["TotalTax"] == Decimal("10.00") and exclusive["TotalAmt"] == Decimal("110.00")
    inclusive = au.create(
        "Invoice",
        {"CustomerRef": {"value": customer["Id"]}, "GlobalTaxCalculation": "TaxInclusive", "Line": [line("110.00")]},
        idempotency_key="au2",
    )
    assert inclusive["TotalAmt"] == Decimal("110.00") and inclusive["TxnTaxDetail"]["TotalTax"] == Decimal("10.00")
    assert inclusive["Line"][0]["Amount"] == Decimal("100.00")
    assert inclusive["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] == Decimal("110.00")
    vendor = next(au.find("Vendor"))
    bill = au.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "GlobalTaxCalculation": "TaxInclusive",
            "Line": [
                {
                    "Amount": Decimal("55.00"),
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {
                        "AccountRef": {"value": account["Id"]},
                        "TaxCodeRef": {"value": gst["Id"]},
                    },
                }
            ],
        },
        idempotency_key="au3",
    )
    assert bill["TotalAmt"] == Decimal("55.00") and bill["TxnTaxDetail"]["TotalTax"] == Decimal("5.00")
    with pytest.raises(errors.QBORejected) as caught:
        au.create(
            "Invoice",
            {
                "CustomerRef": {"value": customer["Id"]},
                "GlobalTaxCalculation": "NotApplicable",
                "TxnTaxDetail": {"TxnTaxCodeRef": {"value": gst["Id"]}},
                "Line": [line("1")],
            },
            idempotency_key="au4",
        )
    assert caught.value.api_code == "6170"


def test_bill_links_purchase_order_and_bill_payment_pays_it(qbo: QBOConnector) -> None:
    vendor = qbo.create("Vendor", {"DisplayName": "Link Sub"}, idempotency_key="lk0")
    item = first(qbo, "Item", "Services")
    bank = first(qbo, "Account", "Checking")
    order = qbo.create(
        "PurchaseOrder",
        {
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "Amount": Decimal("500"),
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 5, "UnitPrice": 100},
                }
            ],
        },
        idempotency_key="lk1",
    )
    assert order["POStatus"] == "Open"
    header_only = qbo.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "LinkedTxn": [{"TxnId": order["Id"], "TxnType": "PurchaseOrder"}],
            "Line": [
                {
                    "Amount": Decimal("1"),
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}},
                }
            ],
        },
        idempotency_key="lk2",
    )
    assert "LinkedTxn" not in header_only
    qbo.delete("Bill", header_only["Id"])
    with pytest.raises(errors.QBOMissingField):
        qbo.create(
            "Bill",
            {
                "VendorRef": {"value": vendor["Id"]},
                "Line": [
                    {
                        "Amount": Decimal("500"),
                        "DetailType": "ItemBasedExpenseLineDetail",
                        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}},
                        "LinkedTxn": [{"TxnId": order["Id"], "TxnType": "PurchaseOrder"}],
                    }
                ],
            },
            idempotency_key="lk3",
        )
    bill = qbo.create(
        "Bill",
        {
            "VendorRef": {"value": vendor["Id"]},
            "Line": [
                {
                    "Amount": Decimal("500"),
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}},
                    "LinkedTxn": [
                        {"TxnId": order["Id"], "TxnType": "PurchaseOrder", "TxnLineId": order["Line"][0]["Id"]}
                    ],
                }
            ],
        },
        idempotency_key="lk4",
    )
    assert {"TxnId": order["Id"], "TxnType": "PurchaseOrder"} in bill["LinkedTxn"]
    order_after = qbo.get("PurchaseOrder", order["Id"])
    assert order_after["POStatus"] == "Closed" and {"TxnId": bill["Id"], "TxnType": "Bill"} in order_after["LinkedTxn"]
    assert order_after["SyncToken"] == "1"
    payment = qbo.create(
        "BillPayment",
        {
            "VendorRef": {"value": vendor["Id"]},
            "PayType": "Check",
            "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}},
            "TotalAmt": Decimal("200"),
            "Line": [{"Amount": Decimal("200"), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
        idempotency_key="lk5",
    )
    paid = qbo.get("Bill", bill["Id"])
    assert paid["Balance"] == Decimal("300.00")
    assert {"TxnId": payment["Id"], "TxnType": "BillPaymentCheck"} in paid["LinkedTxn"]
    assert qbo.get("Vendor", vendor["Id"])["Balance"] == Decimal("300.00")
    with pytest.raises(errors.QBOBusinessRule):
        qbo.create(
            "BillPayment",
            {
                "VendorRef": {"value": vendor["Id"]},
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": {"value": bank["Id"]}},
                "TotalAmt": Decimal("400"),
                "Line": [{"Amount": Decimal("400"), "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
            },
            idempotency_key="lk6",
        )
    qbo.delete("BillPayment", payment["Id"], mode="void")
    assert qbo.get("Bill", bill["Id"])["Balance"] == Decimal("500.00")


def test_projects_are_sub_customers(qbo: QBOConnector) -> None:
    parent = qbo.create("Customer", {"DisplayName": "Harbor Authority"}, idempotency_key="pj1")
    job = qbo.create(
        "Customer",
        {"DisplayName": "Pier 9 Retrofit", "Job": True, "ParentRef": {"value": parent["Id"]}, "IsProject": True},
        idempotency_key="pj2",
    )
    assert job["FullyQualifiedName"] == "Harbor Authority:Pier 9 Retrofit" and job["Level"] == 1
    assert job["IsProject"] is False and job["ParentRef"]["name"] == "Harbor Authority"
    with pytest.raises(errors.QBORejected) as caught:
        qbo.create("Customer", {"DisplayName": "Orphan Job", "Job": True}, idempotency_key="pj3")
    assert caught.value.api_code == "6150"
    level = job
    for depth in range(4):
        level = qbo.create(
            "Customer",
            {"DisplayName": f"Phase {depth}", "Job": True, "ParentRef": {"value": level["Id"]}},
            idempotency_key=f"pj-d{depth}",
        )
    with pytest.raises(errors.QBORejected) as deep:
        qbo.create(
            "Customer",
            {"DisplayName": "Too Deep", "Job": True, "ParentRef": {"value": level["Id"]}},
            idempotency_key="pj4",
        )
    assert deep.value.api_code == "6180"


def test_journal_entry_must_balance(qbo: QBOConnector) -> None:
    expense = first(qbo, "Account", "Job Expenses")
    bank = first(qbo, "Account", "Checking")

    def line(kind: str, amount: str, account: dict) -> dict:
        return {
            "Amount": Decimal(amount),
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {
                "PostingType": kind,
                "AccountRef": {"value": account["Id"]},
                "Entity": {"Type": "Customer", "EntityRef": {"value": "34"}},
            },
        }

    entry = qbo.create(
        "JournalEntry",
        {"Line": [line("Debit", "80.00", expense), line("Credit", "80.00", bank)]},
        idempotency_key="je1",
    )
    assert entry["TotalAmt"] == Decimal("80.00") and entry["DocNumber"]
    assert entry["Line"][0]["JournalEntryLineDetail"]["Entity"]["EntityRef"]["name"] == "Riverside Medical Center"
    with pytest.raises(errors.QBOBusinessRule):
        qbo.create(
            "JournalEntry", {"Line": [line("Debit", "80", expense), line("Credit", "79", bank)]}, idempotency_key="je2"
        )


def test_time_activity_rules(qbo: QBOConnector) -> None:
    employee = next(qbo.find("Employee"))
    base = {"NameOf": "Employee", "EmployeeRef": {"value": employee["Id"]}, "TxnDate": "2026-11-30"}
    made = qbo.create(
        "TimeActivity", {**base, "Hours": 7, "Minutes": 30, "HourlyRate": Decimal("65.00")}, idempotency_key="ta1"
    )
    assert made["Hours"] == 7 and made["HourlyRate"] == Decimal("65.00")
    for payload, code in (
        ({**base, "Hours": 1, "StartTime": "2026-11-30T08:00:00-08:00"}, "6390"),
        ({**base, "Hours": 1, "BillableStatus": "Billable"}, "6310"),
        ({**base, "Hours": 1, "BillableStatus": "Billable", "CustomerRef": {"value": "34"}}, "6330"),
    ):
        with pytest.raises(errors.QBORejected) as caught:
            qbo.create("TimeActivity", payload, idempotency_key="ta-" + code)
        assert caught.value.api_code == code


def test_state_persists_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "qbo.json"
    box = create_sandbox(state_file=path)
    company = box.company()
    made = company.create("Customer", {"DisplayName": "Survivor", "Notes": "kept"})
    invoice = company.create(
        "Invoice",
        {
            "CustomerRef": {"value": made["Id"]},
            "Line": [
                {
                    "Amount": Decimal("12.50"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"ItemRef": {"value": "19"}},
                }
            ],
        },
    )
    info = box.connection_info("http://127.0.0.1:8720")
    assert set(info) == {"base_url", "realm_id", "client_id", "client_secret", "refresh_token"}
    box.save()
    again = create_sandbox(state_file=path)
    assert again.company().read("Customer", made["Id"])["Notes"] == "kept"
    assert again.company().read("Invoice", invoice["Id"])["TotalAmt"] == Decimal("12.50")
    assert again.client_secret == box.client_secret
    transport = InProcessTransport(again.app)
    try:
        with httpx.Client(transport=transport, base_url="http://x") as client:
            answer = client.post(
                "/oauth2/v1/tokens/bearer",
                auth=(again.client_id, again.client_secret),
                data={"grant_type": "refresh_token", "refresh_token": info["refresh_token"]},
            )
            assert answer.status_code == 200
    finally:
        transport.close()
    with pytest.raises(Exception):
        again.company().create("Customer", {"DisplayName": "Survivor"})


def test_webhook_retry_schedule_and_cloudevents_shape(box: QBOSandbox) -> None:
    answers = iter([500, 200])
    bodies: list[bytes] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(next(answers))

    box.webhooks.client = httpx.Client(transport=httpx.MockTransport(endpoint))
    box.webhooks.configure("https://hooks.example/qbo", "vt", "cloudevents")
    made = box.company().create("Vendor", {"DisplayName": "Event Vendor"})
    assert box.webhooks.deliver() == 0
    assert box.webhooks.deliver() == 0 and len(bodies) == 1
    box.control.clock.advance(11)
    assert box.webhooks.deliver() == 1 and bodies[0] == bodies[1]
    event = json.loads(bodies[1])[0]
    assert event["type"] == "qbo.vendor.created.v1" and event["intuitentityid"] == made["Id"]
    assert event["intuitaccountid"] == US_REALM and event["specversion"] == "1.0"


def test_webhook_endpoint_registered_over_http_receives_signed_posts(box: QBOSandbox, raw: Raw) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from connectors.qbo.query import parse_webhook, verify_webhook
    from sandbox.server import ServerThread

    got: list[tuple[bytes, str]] = []

    async def hook(request: Request) -> Response:
        got.append((await request.body(), request.headers["intuit-signature"]))
        return Response(status_code=200)

    with ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        config = raw.client.post("/_qbo/webhooks", json={"url": receiver.base_url + "/hook", "verifier": "vt-9"})
        assert config.json()["url"].endswith("/hook") and "verifier" not in config.json()
        made = raw.data(raw.post("vendor", {"DisplayName": "Hook Vendor"}))["Vendor"]
        assert raw.client.post("/_qbo/webhooks/deliver").json() == {"delivered": 1}
    body, signature = got[0]
    assert verify_webhook(body, signature, "vt-9")
    note = parse_webhook(body)[0]
    assert (note.entity, note.record_id, note.operation) == ("Vendor", made["Id"], "Create")
    assert note.last_updated and note.last_updated[-5] in "+-" and ":" not in note.last_updated[-5:]
