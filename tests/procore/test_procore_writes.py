"""Connector writes: idempotent creates, updates with conflicts, locking (check 8), deletes,
attachments and downloads (check 10), faults (10% of calls) and requests cut off mid-body."""

from __future__ import annotations

import socket
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.base import Conflict
from connectors.http import RetryPolicy
from connectors.procore.errors import OriginIdTaken, ReadOnlyEntity, RecordLocked
from sandbox.procore.app import create_sandbox
from sandbox.server import ServerThread
from sandbox.transport import InProcessTransport


def first_project(connector: Any) -> int:
    return next(p["id"] for page in connector.read("projects") for p in page.records if p["active"])


def test_create_writes_origin_id_and_the_same_key_finds_it(connector: Any, box: Any) -> None:
    made = connector.create(
        "vendors", {"name": "Acme Drywall", "email_address": "ap@acme.example"}, idempotency_key="joist:vendors:q-57"
    )
    assert made["origin_id"] == "joist:vendors:q-57" and made["name"] == "Acme Drywall"
    again = connector.create("vendors", {"name": "Acme Drywall"}, idempotency_key="joist:vendors:q-57")
    assert again["id"] == made["id"]  # the taken origin_id leads back to the first record
    assert connector.find_created("vendors", "joist:vendors:q-57")["id"] == made["id"]
    assert connector.find_created("vendors", "never-used") is None
    assert len(box.store.rows("vendors", origin_id="joist:vendors:q-57")) == 1


def test_records_come_back_with_decimal_money_and_project_ids(connector: Any, read_all: Any) -> None:
    contracts = read_all(connector, "work_order_contracts")
    assert all(isinstance(c["grand_total"], Decimal) and c["project_id"] for c in contracts)
    first = next(c for c in contracts if c["number"] == "SC-001")
    assert first["grand_total"] == Decimal("380000") and first["line_items"][0]["amount"] == Decimal("380000")
    assert first["line_items"][0]["wbs_code"]["flat_code"] == "03-300.S"
    costs = read_all(connector, "direct_costs")
    assert sum(len(c["line_items"]) for c in costs) == 5
    assert all(isinstance(li["quantity"], Decimal) for c in costs for li in c["line_items"])
    hours = read_all(connector, "timecard_entries")
    assert len(hours) == 6 and all(isinstance(h["hours"], Decimal) and h["project_id"] for h in hours)


def test_incremental_read_returns_changes_since_the_cursor(connector: Any, box: Any, read_all: Any) -> None:
    pages = list(connector.read("vendors"))
    cursor = pages[-1].cursor
    assert cursor == max(r["updated_at"] for p in pages for r in p.records)
    assert len(read_all(connector, "vendors", since=cursor)) == 8  # all inside the 5-minute overlap
    vendors = [r for p in pages for r in p.records]
    box.control.clock.advance(3600)
    connector.update("vendors", str(vendors[0]["id"]), {"website": "https://changed.example"})
    after_first = list(connector.read("vendors", since=cursor))[-1].cursor
    assert after_first > cursor
    box.control.clock.advance(3600)
    connector.update("vendors", str(vendors[1]["id"]), {"website": "https://changed-again.example"})
    changed = list(connector.read("vendors", since=after_first))
    # the record at the cursor itself is re-read (inclusive overlap); the six untouched ones are not
    assert {v["id"] for p in changed for v in p.records} == {vendors[0]["id"], vendors[1]["id"]}
    assert changed[-1].cursor > after_first
    log = [e.query for e in box.control.log.entries if e.path == "/rest/v1.0/vendors"]
    assert "filters%5Bupdated_at%5D" in log[-1]


def test_project_scoped_create_update_and_conflict(connector: Any, box: Any) -> None:
    project = first_project(connector)
    vendor = next(r for p in connector.read("vendors") for r in p.records if r["name"] == "Harbor Steel Works")
    made = connector.create(
        "work_order_contracts",
        {
            "title": "Steel package",
            "vendor_id": vendor["id"],
            "retainage_percent": Decimal("5"),
            "line_items": [{"description": "Structural steel", "amount": Decimal("120500.50"), "cost_code_id": None}],
        },
        idempotency_key="joist:po:q-9",
        scope={"project_id": project},
    )
    assert made["project_id"] == project and made["grand_total"] == Decimal("120500.5")
    assert made["vendor"]["name"] == "Harbor Steel Works"
    current = connector.get("work_order_contracts", str(made["id"]), scope={"project_id": project})
    box.control.clock.advance(5)
    updated = connector.update(
        "work_order_contracts",
        str(made["id"]),
        {"title": "Steel package rev 1"},
        current=current,
        scope={"project_id": project},
    )
    assert updated["title"] == "Steel package rev 1"
    with pytest.raises(Conflict):  # `current` is now stale
        connector.update(
            "work_order_contracts", str(made["id"]), {"title": "rev 2"}, current=current, scope={"project_id": project}
        )
    assert connector.get("work_order_contracts", str(made["id"]))["title"] == "Steel package rev 1"  # no scope


def test_direct_cost_with_lines_is_locked_once_synced(connector: Any, raw: Any) -> None:
    project = first_project(connector)
    made = connector.create(
        "direct_costs",
        {
            "direct_cost_type": "expense",
            "direct_cost_date": "2024-05-02",
            "description": "Fuel",
            "line_items": [
                {"description": "Diesel", "amount": Decimal("410.25")},
                {"description": "Oil", "amount": Decimal("39.75")},
            ],
        },
        idempotency_key="joist:purchase:q-301",
        scope={"project_id": project},
    )
    assert made["grand_total"] == Decimal("450") and len(made["line_items"]) == 2
    refused = raw.send("PATCH", f"/rest/v1.0/projects/{project}/direct_costs/{made['id']}", {"item": {"amount": "1"}})
    assert refused.status_code == 422 and "errors" in refused.json()
    with pytest.raises(RecordLocked) as caught:
        connector.update(
            "direct_costs", str(made["id"]), {"description": "Fuel and oil"}, scope={"project_id": project}
        )
    assert caught.value.retryable is False and caught.value.status == 422


def test_requisitions_are_created_with_items_before_the_lock(connector: Any, read_all: Any) -> None:
    project = first_project(connector)
    contract = next(
        c for c in read_all(connector, "work_order_contracts", scope={"project_id": project}) if c["number"] == "SC-002"
    )
    line = contract["line_items"][0]["id"]
    made = connector.create(
        "requisitions",
        {
            "commitment_id": contract["id"],
            "invoice_number": "BREL-78",
            "billing_date": "2024-04-30",
            "items": [{"line_item_id": line, "work_completed_this_period": Decimal("40000")}],
        },
        idempotency_key="joist:bill:q-88",
        scope={"project_id": project},
    )
    assert made["origin_id"] == "joist:bill:q-88" and made["origin_data"] is None
    assert made["number"] == 2 and made["total_claimed_amount"] == Decimal("40000")
    assert made["items"][0]["work_completed_from_previous_application"] == Decimal("60000")
    assert made["summary"]["less_previous_certificates_for_payment"] == Decimal("54000")
    with pytest.raises(RecordLocked):
        connector.update("requisitions", str(made["id"]), {"invoice_number": "X"}, scope={"project_id": project})
    assert connector.find_created("requisitions", "joist:bill:q-88", scope={"project_id": project})["id"] == made["id"]


def test_timecard_origin_ids_are_integers(connector: Any, box: Any) -> None:
    project = first_project(connector)
    made = connector.create(
        "timecard_entries",
        {"date": "2024-05-06", "hours": Decimal("7.5"), "description": "Framing"},
        idempotency_key="joist:time:q-12",
        scope={"project_id": project},
    )
    assert isinstance(made["origin_id"], int)
    assert connector.find_created("timecard_entries", "joist:time:q-12")["id"] == made["id"]


def test_line_item_types_are_written_with_csv_import_code(connector: Any) -> None:
    made = connector.create(
        "line_item_types", {"name": "Permits", "code": "P", "base_type": "other"}, idempotency_key="joist:class:q-3"
    )
    assert made["code"] == "P"


def test_delete_deactivate_void_and_read_only(connector: Any, box: Any) -> None:
    project = first_project(connector)
    vendor = connector.create("vendors", {"name": "Temp Vendor"}, idempotency_key="k-temp")
    gone = connector.delete("vendors", str(vendor["id"]), mode="deactivate")
    assert gone["is_active"] is False
    contract = connector.create(
        "purchase_order_contracts", {"title": "PO to void"}, idempotency_key="k-po", scope={"project_id": project}
    )
    assert (
        connector.delete("purchase_order_contracts", str(contract["id"]), mode="void", scope={"project_id": project})[
            "status"
        ]
        == "Void"
    )
    assert connector.delete("purchase_order_contracts", str(contract["id"]), scope={"project_id": project}) is None
    assert connector.get("purchase_order_contracts", str(contract["id"]), scope={"project_id": project}) is None
    with pytest.raises(ReadOnlyEntity):
        connector.create("wbs_codes", {"description": "x"}, idempotency_key="k", scope={"project_id": project})
    with pytest.raises(OriginIdTaken):  # another record already owns the origin_id: no silent adoption
        raw_client = httpx.Client(transport=connector.client._transport, base_url="http://127.0.0.1:8710")
        raw_client.post(
            "/rest/v1.0/departments",
            json={"company_id": box.company_id, "department": {"name": "Owned elsewhere", "origin_id": "other-system"}},
            headers={"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)},
        )
        connector.find_created = lambda *a, **k: None  # type: ignore[method-assign]  # as if not visible to us
        connector.create("departments", {"name": "Mine"}, idempotency_key="other-system")


def test_multipart_direct_cost_with_two_attachments_and_a_safe_download(connector: Any, box: Any) -> None:
    project = first_project(connector)
    made = connector.create(
        "direct_costs",
        {
            "direct_cost_type": "invoice",
            "invoice_number": "INV-9",
            "direct_cost_date": "2024-05-01",
            "description": "Crane",
        },
        idempotency_key="joist:bill:q-9",
        scope={"project_id": project},
        attachments=[
            ("invoice.pdf", b"%PDF-1.4 invoice", "application/pdf"),
            ("receipt.jpg", b"\xff\xd8\xff receipt", "image/jpeg"),
        ],
    )
    assert [a["filename"] for a in made["attachments"]] == ["invoice.pdf", "receipt.jpg"]
    url = made["attachments"][0]["url"]
    raw = httpx.Client(transport=connector.client._transport)
    assert raw.get(url).status_code == 401  # no bearer: refused
    redirected = raw.get(
        url, headers={"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)}
    )
    assert redirected.status_code == 302 and httpx.URL(redirected.headers["location"]).host == "localhost"
    leaked = raw.get(redirected.headers["location"], headers={"Authorization": "Bearer x"})
    assert leaked.status_code == 400  # storage refuses a request carrying a bearer token
    assert connector.download(url) == b"%PDF-1.4 invoice"
    storage = [e for e in box.control.log.entries if e.path.startswith("/_storage/")]
    assert storage[-1].status == 200


def test_attach_adds_files_to_an_existing_record(connector: Any) -> None:
    project = first_project(connector)
    contract = connector.create(
        "work_order_contracts", {"title": "With files"}, idempotency_key="k-files", scope={"project_id": project}
    )
    shown = connector.attach(
        "work_order_contracts",
        str(contract["id"]),
        [("scope.pdf", b"scope", "application/pdf")],
        scope={"project_id": project},
    )
    assert [a["filename"] for a in shown["attachments"]] == ["scope.pdf"]


def test_a_200_record_write_run_with_10_percent_faults_leaves_each_record_once(box: Any, new_connector: Any) -> None:
    connector = new_connector(policy=RetryPolicy(attempts=8))
    connector.auth.token()
    box.control.set_faults(
        error_rate=0.025,
        throttle_rate=0.025,
        drop_before_rate=0.025,
        drop_after_rate=0.025,
        path_pattern="^/rest/",
        seed=20261201,
    )
    for n in range(200):
        connector.create("vendors", {"name": f"Fault Test Vendor {n:03d}"}, idempotency_key=f"joist:faults:{n}")
    box.control.set_faults()
    faults = {e.fault for e in box.control.log.entries if e.fault}
    assert faults == {"error", "throttle", "drop_before", "drop_after"}
    for n in range(200):
        assert len(box.store.rows("vendors", origin_id=f"joist:faults:{n}")) == 1
    assert len([v for v in box.store.rows("vendors") if v["name"].startswith("Fault Test Vendor")]) == 200


def test_a_request_cut_off_before_its_body_arrived_is_never_executed() -> None:
    box = create_sandbox(deliver_webhooks=False)
    with ServerThread(box.app) as server:
        body = b'{"company_id": %d, "vendor": {"name": "Half Sent Vendor"}}' % box.company_id
        head = (
            f"POST /rest/v1.0/vendors HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {box.access_token()}\r\nProcore-Company-Id: {box.company_id}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(head + body[:20])
        whole = httpx.post(
            f"{server.base_url}/rest/v1.0/vendors",
            content=body,
            headers={
                "Authorization": f"Bearer {box.access_token()}",
                "Content-Type": "application/json",
                "Procore-Company-Id": str(box.company_id),
            },
        )
        assert whole.status_code == 201
    assert len([v for v in box.store.rows("vendors") if v["name"] == "Half Sent Vendor"]) == 1


def test_v1_0_multipart_create_with_item_fields_and_two_attachments(raw: Any) -> None:
    project = raw.project()
    fields = [
        ("item[direct_cost_type]", "invoice"),
        ("item[invoice_number]", "MP-1"),
        ("item[direct_cost_date]", "2024-05-03"),
        ("item[description]", "Multipart"),
        ("item[line_items][][description]", "Rental"),
        ("item[line_items][][amount]", "99.90"),
        ("item[line_items][][description]", "Delivery"),
        ("item[line_items][][amount]", "10.10"),
    ]
    files = [(k, (None, v.encode())) for k, v in fields]
    files += [
        ("attachments[]", ("a.pdf", b"first", "application/pdf")),
        ("attachments[]", ("b.pdf", b"second", "application/pdf")),
    ]
    made = raw.client.post(f"/rest/v1.0/projects/{project['id']}/direct_costs", files=files, headers=raw.headers())
    assert made.status_code == 201, made.text
    body = made.json()
    assert [set(a) >= {"id", "url", "filename"} for a in body["attachments"]] == [True, True]
    assert [li["amount"] for li in body["line_items"]] == ["99.9", "10.1"] and body["grand_total"] == "110.0"


def test_sandbox_state_survives_a_restart(tmp_path: Any) -> None:
    state = tmp_path / "procore.json"
    box = create_sandbox(state_file=state, deliver_webhooks=False)
    client = httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710")
    headers = {"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)}
    made = client.post(
        "/rest/v1.0/vendors",
        headers=headers,
        json={"company_id": box.company_id, "vendor": {"name": "Kept", "origin_id": "keep-1"}},
    )
    refresh = box.connection_info("x")["refresh_token"]
    box.save()
    again = create_sandbox(state_file=state, deliver_webhooks=False)
    assert again.client_secret == box.client_secret
    assert again.store.get("vendors", made.json()["id"])["origin_id"] == "keep-1"
    assert again.connection_info("x")["refresh_token"] == refresh  # still live after the restart
    client2 = httpx.Client(transport=InProcessTransport(again.app), base_url="http://127.0.0.1:8710")
    answer = client2.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": again.client_id,
            "client_secret": again.client_secret,
        },
    )
    assert answer.status_code == 200
    lines = again.store.children("WorkOrderContract", again.store.rows("work_order_contracts")[0]["id"])
    assert lines and isinstance(lines[0]["amount"], Decimal)


def test_entities_without_origin_id_are_read_only(connector: Any) -> None:
    project = first_project(connector)
    for entity in ("wbs_codes", "timesheets", "companies"):
        with pytest.raises(ReadOnlyEntity):
            connector.create(entity, {"name": "x"}, idempotency_key="k", scope={"project_id": project})
