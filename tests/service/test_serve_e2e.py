"""`joist serve` end to end: both sandboxes on 127.0.0.1, the service in a subprocess, no
`joist sync` typed after the first one. Changes made in either system reach the other by
webhook (or by polling alone), forged deliveries are refused, repeats apply once."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sandbox_pair import SandboxPair, sandbox_pair
from servekit import Served, inbox_rows, legacy_qbo_body, person, qbo_signed, wait_for, webhook_secret

pytestmark = pytest.mark.slow


def _qbo_vendors(pair: SandboxPair, name: str) -> list[dict[str, Any]]:
    qbo = pair.session.connectors({"qbo"})["qbo"]
    return [v for v in qbo.find("Vendor") if v["DisplayName"] == name]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxPair, Served, Any]]:
    """A project synced once, then left to `joist serve` (webhooks only: no polling)."""
    with sandbox_pair(tmp_path_factory.mktemp("serve") / "p", loopback=True) as pair:
        first = pair.session.run(None)
        assert first.ok, [o.reason for f in first.flows for o in f.outcomes if o.action == "error"]
        service = Served(pair.project_dir, poll_every=0).start()
        desk = person(pair.boxes["procore"], pair.servers["procore"].base_url)
        try:
            yield pair, service, desk
        finally:
            assert service.stop() == 0, service.log.read_text()[-3000:]


def test_a_vendor_made_in_procore_appears_in_qbo_and_an_edit_follows(live: Any) -> None:
    pair, service, desk = live
    vendor = desk.create("vendors", {"name": "Webhook Framing Co"}, idempotency_key="desk-vendor-1")
    found = wait_for(lambda: _qbo_vendors(pair, "Webhook Framing Co"), what="the vendor in QBO")
    assert len(found) == 1
    desk.update("vendors", str(vendor["id"]), {"name": "Webhook Framing Company"})
    wait_for(lambda: _qbo_vendors(pair, "Webhook Framing Company"), what="the renamed vendor in QBO")
    assert _qbo_vendors(pair, "Webhook Framing Co") == []  # updated in place, not created again


def test_an_approved_owner_invoice_becomes_a_qbo_invoice_and_its_payment_comes_back(live: Any) -> None:
    pair, service, desk = live
    prime = _records(desk, "prime_contracts")[0]
    app = desk.create(
        "payment_applications",
        {
            "project_id": prime["project_id"],
            "prime_contract_id": prime["id"],
            "invoice_number": "NSDC-2024-02",
            "billing_date": "2024-04-30",
            "period_start": "2024-04-01",
            "period_end": "2024-04-30",
            "status": "approved",
            "items": [{"work_completed_this_period": "40000.00"}],
        },
        idempotency_key="desk-app-2",
        scope={"project_id": prime["project_id"]},
    )
    qbo = pair.session.connectors({"qbo"})["qbo"]
    invoice = wait_for(
        lambda: next((i for i in qbo.find("Invoice") if i.get("DocNumber") == "NSDC-2024-02"), None),
        what="the owner invoice in QBO",
    )
    assert invoice["TotalAmt"] > 0 and app["id"]
    before = _procore_payments(desk, prime["project_id"])
    qbo.create(
        "Payment",
        {
            "CustomerRef": invoice["CustomerRef"],
            "TotalAmt": Decimal("10000.00"),
            "TxnDate": "2024-05-20",
            "PaymentRefNum": "100777",
            "Line": [{"Amount": Decimal("10000.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
        idempotency_key="serve-payment-1",
    )

    def arrived() -> list[dict[str, Any]] | None:
        now = _procore_payments(desk, prime["project_id"])
        return now if len(now) > len(before) else None

    after = wait_for(arrived, what="the payment in Procore")
    assert len(after) == len(before) + 1


def _records(desk: Any, entity: str, **scope: Any) -> list[dict[str, Any]]:
    return [r for page in desk.read(entity, scope=scope or None) for r in page.records]


def _procore_payments(desk: Any, project_id: int) -> list[dict[str, Any]]:
    return _records(desk, "prime_contract_payments", project_id=project_id)


def test_forged_deliveries_are_refused_and_nothing_is_stored(live: Any) -> None:
    pair, service, desk = live
    realm = pair.session.project.connections["qbo"].account_id
    before = inbox_rows(pair.project_dir)
    body = legacy_qbo_body(realm, "Vendor", "1", "Update", "2026-01-01T00:00:00Z")
    forged = service.post("/webhooks/qbo", body, {"intuit-signature": qbo_signed(body, "not-the-verifier")})
    unsigned = service.post("/webhooks/qbo", body, {})
    wrong = service.post(
        "/webhooks/procore",
        b'{"ulid": "01J", "resource_name": "Company Vendors", "resource_id": 1, "event_type": "update"}',
        {"Authorization": "guess"},
    )
    assert (forged.status_code, unsigned.status_code, wrong.status_code) == (401, 401, 401)
    assert inbox_rows(pair.project_dir) == before
    assert service.metric("joist_events_rejected_total") >= 3


def test_the_same_event_delivered_three_times_is_applied_once(live: Any) -> None:
    pair, service, desk = live
    vendor = desk.create("vendors", {"name": "Thrice Told Electric"}, idempotency_key="desk-vendor-3")
    wait_for(lambda: _qbo_vendors(pair, "Thrice Told Electric"), what="the vendor in QBO")
    body = (
        '{"id": 990001, "ulid": "01JSAMEEVENTDELIVEREDTHRICE", "resource_name": "Company Vendors", '
        f'"resource_id": {vendor["id"]}, "event_type": "update", "company_id": {desk.company_id}}}'
    ).encode()
    secret = webhook_secret(pair.project_dir, f"procore:{desk.company_id}", "secret")
    answers = [service.post("/webhooks/procore", body, {"Authorization": secret}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["accepted"] for a in answers] == [1, 0, 0]
    assert inbox_rows(pair.project_dir, "event_id LIKE ?", ("procore:01JSAMEEVENTDELIVEREDTHRICE:%",)) == 1
    wait_for(lambda: inbox_rows(pair.project_dir, "state = 'pending'") == 0, what="the inbox to empty")
    assert len(_qbo_vendors(pair, "Thrice Told Electric")) == 1


def test_with_webhooks_off_polling_alone_converges(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True) as pair:
        assert pair.session.run(None).ok
        service = Served(pair.project_dir, poll_every=1, register=False).start()
        try:
            desk = person(pair.boxes["procore"], pair.servers["procore"].base_url)
            desk.create("vendors", {"name": "Polled Plumbing"}, idempotency_key="desk-vendor-poll")
            wait_for(lambda: _qbo_vendors(pair, "Polled Plumbing"), timeout=40, what="the vendor in QBO by polling")
            assert service.metric("joist_events_received_total") == 0
        finally:
            assert service.stop() == 0


def test_status_names_the_serving_process_and_its_inbox(live: Any) -> None:
    pair, service, desk = live
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "cli", "--project", str(pair.project_dir), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    doc = json.loads(done.stdout)
    assert doc["served_by"]["pid"] == service.proc.pid and doc["served_by"]["url"] == service.url
    assert doc["inbox"] == inbox_rows(pair.project_dir, "state = 'pending'")
