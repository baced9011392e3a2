"""Fidelity check 9: webhooks end to end, to a receiver on 127.0.0.1, and the connector's receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.procore.auth import WebhookReceiver
from connectors.procore.errors import WebhookRejected
from sandbox.procore.app import create_sandbox
from sandbox.server import ServerThread
from sandbox.transport import InProcessTransport

SECRET = "Bearer hook-secret-123"


class Receiver:
    """A loopback endpoint that records deliveries and answers as told (ok, fail, slow)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.app = Starlette(routes=[Route("/hook", self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), json.loads(await request.body())))
        if self.mode == "fail":
            return Response(status_code=500)
        if self.mode == "slow":
            await asyncio.sleep(0.6)
        return Response(status_code=200)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ServerThread]]:
    found = Receiver()
    with ServerThread(found.app) as server:
        yield found, server


@pytest.fixture
def hooked(receiver: Any, new_connector: Any) -> Any:
    found, server = receiver
    box = create_sandbox(deliver_webhooks=False, webhook_timeout=0.3)
    import httpx

    client = httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710")
    headers = {"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)}
    hook = client.post(
        "/rest/v1.0/webhooks/hooks",
        headers=headers,
        json={
            "company_id": box.company_id,
            "hook": {
                "api_version": "v2",
                "namespace": "joist-test",
                "destination_url": f"{server.base_url}/hook",
                "destination_headers": {"Authorization": SECRET},
            },
        },
    )
    assert hook.status_code == 201, hook.text
    trigger = client.post(
        f"/rest/v1.0/webhooks/hooks/{hook.json()['id']}/triggers",
        headers=headers,
        json={
            "company_id": box.company_id,
            "api_version": "v2",
            "trigger": {"resource_name": "Company Vendors", "event_type": "update"},
        },
    )
    assert trigger.status_code == 201, trigger.text
    vendors = client.get("/rest/v1.0/vendors", params={"company_id": box.company_id}, headers=headers).json()

    def touch(n: int) -> None:
        answer = client.patch(
            f"/rest/v1.0/vendors/{vendors[n]['id']}",
            headers=headers,
            json={"company_id": box.company_id, "vendor": {"notes": f"touched {n}"}},
        )
        assert answer.status_code == 200

    return box, client, headers, hook.json()["id"], touch, vendors, found


def test_an_update_is_delivered_with_the_configured_authorization(hooked: Any) -> None:
    box, client, headers, hook_id, touch, vendors, found = hooked
    touch(0)
    assert box.webhooks.pump() == 1
    sent_headers, event = found.calls[0]
    assert sent_headers["authorization"] == SECRET
    assert len(event["ulid"]) == 26 and event["event_type"] == "update" and event["api_version"] == "v2"
    assert event["resource_name"] == "Company Vendors" and event["resource_id"] == vendors[0]["id"]
    assert event["company_id"] == box.company_id and event["project_id"] is None
    assert event["metadata"]["source_application_id"] == box.client_id
    assert event["timestamp"].endswith("Z") and "." in event["timestamp"]
    deliveries = client.get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries", params={"company_id": box.company_id}, headers=headers
    ).json()
    assert [d["outcome"] for d in deliveries] == ["ok"] and deliveries[0]["response_status"] == 200


def test_a_failing_receiver_pauses_the_queue_and_retries_with_growing_delays(hooked: Any) -> None:
    box, client, headers, hook_id, touch, vendors, found = hooked
    clock = box.control.clock
    found.mode = "fail"
    touch(0)
    touch(1)
    assert box.webhooks.pump() == 1  # the head fails; the second event waits behind it
    assert box.webhooks.pump() == 0  # not due yet
    failing = client.get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
        params={"company_id": box.company_id, "filters[status]": "failing"},
        headers=headers,
    ).json()
    assert [d["outcome"] for d in failing] == ["retried"] and failing[0]["response_status"] == 500
    delays = []
    for _ in range(3):
        delays.append(box.webhooks.state[hook_id]["delay"])
        clock.advance(box.webhooks.state[hook_id]["next_at"] - clock.now())
        assert box.webhooks.pump() == 1
    delays.append(box.webhooks.state[hook_id]["delay"])
    assert delays == [1.0, 2.0, 4.0, 8.0]
    found.mode = "ok"
    clock.advance(8)
    assert box.webhooks.pump() == 2
    order = [event["resource_id"] for _, event in found.calls]
    assert order[-2:] == [vendors[0]["id"], vendors[1]["id"]] and set(order[:-2]) == {vendors[0]["id"]}
    assert box.webhooks.state[hook_id]["failures"] == 0


def test_a_receiver_slower_than_the_timeout_counts_as_a_failure(hooked: Any) -> None:
    box, client, headers, hook_id, touch, vendors, found = hooked
    found.mode = "slow"
    touch(2)
    box.webhooks.pump()
    record = box.webhooks.list_deliveries(hook_id, "failing")[0]
    assert record["outcome"] == "retried" and record["response_error"] == "ReadTimeout"


def test_the_connector_receiver_checks_auth_and_drops_replays_and_echoes(hooked: Any) -> None:
    box, client, headers, hook_id, touch, vendors, found = hooked
    touch(0)
    box.webhooks.pump()
    sent_headers, event = found.calls[0]
    body = json.dumps(event).encode()
    receiver = WebhookReceiver(SECRET)
    first = receiver.accept(sent_headers, body)
    assert first is not None and first.entities == ("vendors",) and first.record_id == vendors[0]["id"]
    assert receiver.accept(sent_headers, body) is None  # replayed ulid
    with pytest.raises(WebhookRejected):
        receiver.accept({"authorization": "Bearer wrong"}, body)
    echo = WebhookReceiver(SECRET, own_client_id=box.client_id)
    assert echo.accept(sent_headers, body) is None  # Joist's own change


def test_the_background_dispatcher_delivers_without_pumping(receiver: Any) -> None:
    found, server = receiver
    box = create_sandbox(webhook_timeout=1.0)
    import time

    import httpx

    client = httpx.Client(transport=InProcessTransport(box.app), base_url="http://127.0.0.1:8710")
    headers = {"Authorization": f"Bearer {box.access_token()}", "Procore-Company-Id": str(box.company_id)}
    hook = client.post(
        "/rest/v1.0/webhooks/hooks",
        headers=headers,
        json={
            "company_id": box.company_id,
            "hook": {
                "namespace": "joist-bg",
                "destination_url": f"{server.base_url}/hook",
                "destination_headers": {"Authorization": SECRET},
            },
        },
    ).json()
    client.post(
        f"/rest/v1.0/webhooks/hooks/{hook['id']}/triggers",
        headers=headers,
        json={"company_id": box.company_id, "trigger": {"resource_name": "Company Vendors", "event_type": "create"}},
    )
    client.post("/rest/v1.0/vendors", headers=headers, json={"company_id": box.company_id, "vendor": {"name": "New"}})
    deadline = time.monotonic() + 5
    while not found.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    box.webhooks.stop()
    assert found.calls and found.calls[0][1]["event_type"] == "create"
