"""`joist serve --deployment`'s intake: deliveries checked, split by realm or company, into each connection's inbox."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import redis
from fleetkit import REPO, Deployment
from parts import free_port
from servekit import legacy_qbo_body, qbo_signed, wait_for

from engine.state.inbox import Inbox
from engine.state.registry import Registry
from serve.fleet_app import FleetService, create_fleet_app

if TYPE_CHECKING:
    from parts import PostgresServer, RedisServer


def _qbo_delivery(*notes: tuple[str, str]) -> bytes:
    merged: list[dict[str, object]] = []
    for realm, record_id in notes:
        merged += json.loads(legacy_qbo_body(realm, "Vendor", record_id, "Create", "2026-12-06T10:00:00Z"))[
            "eventNotifications"
        ]
    return json.dumps({"eventNotifications": merged}).encode()


class Client:
    """Posts to the deployment's ASGI app in-process (httpx.ASGITransport)."""

    def __init__(self, app: object) -> None:
        self.app = app

    def post(self, path: str, *, content: bytes | str, headers: dict[str, str]) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://fleet.test") as client:
                return await client.post(path, content=content, headers=headers)

        return asyncio.run(send())


def _depths(database: str, names: list[str]) -> list[int]:
    with Registry(database) as registry:
        depths = []
        for name in names:
            with registry.open_state(name) as state:
                depths.append(Inbox(state).depth())
        return depths


def test_deliveries_reach_only_their_connections_inbox_and_queue_one_task_each(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    fleet = Deployment.build(tmp_path, postgres_server, redis_server, 2, 0, redis_db=11)
    acme, bolt = fleet.names
    queue = redis.Redis.from_url(fleet.broker)
    queue.flushdb()
    try:
        service = FleetService(fleet.project, database=fleet.database, broker=fleet.broker, poll_every=0)
        client = Client(create_fleet_app(service))
        service.start()
        try:
            body = _qbo_delivery((fleet.realms[acme], "11"), (fleet.realms[acme], "12"), (fleet.realms[bolt], "13"))
            body_unknown = _qbo_delivery(("123456789", "14"))
            verifier = service.secrets.qbo_verifier
            assert verifier is not None
            answer = client.post(
                "/webhooks/qbo", content=body, headers={"intuit-signature": qbo_signed(body, verifier)}
            )
            assert answer.json() == {"accepted": 3, "duplicates": 0, "unknown": 0}
            again = client.post("/webhooks/qbo", content=body, headers={"intuit-signature": qbo_signed(body, verifier)})
            assert again.json() == {"accepted": 0, "duplicates": 3, "unknown": 0}
            stray = client.post(
                "/webhooks/qbo", content=body_unknown, headers={"intuit-signature": qbo_signed(body_unknown, verifier)}
            )
            assert stray.json() == {"accepted": 0, "duplicates": 0, "unknown": 1}
            forged = client.post("/webhooks/qbo", content=body, headers={"intuit-signature": "AAAA"})
            assert forged.status_code == 401
            assert _depths(fleet.database, fleet.names) == [2, 1]
            assert queue.llen("celery") == 2  # one events task per connection with new events

            secret = service.secrets.procore_secret
            assert secret is not None
            delivery = {
                "ulid": "01JEVT0000000000000000000A",
                "resource_name": "Company Vendors",
                "resource_id": 77,
                "event_type": "create",
                "company_id": fleet.companies[bolt],
            }
            answer = client.post("/webhooks/procore", content=json.dumps(delivery), headers={"Authorization": secret})
            assert answer.json() == {"accepted": 1, "duplicates": 0, "unknown": 0}
            assert _depths(fleet.database, fleet.names) == [2, 2]
            assert service.poll_all() == 2
            assert queue.llen("celery") == 5
        finally:
            service.stop()
    finally:
        queue.flushdb()
        fleet.close()


def test_serve_deployment_queues_a_poll_per_connection_on_its_schedule(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    fleet = Deployment.build(tmp_path, postgres_server, redis_server, 2, 0, redis_db=12)
    queue = redis.Redis.from_url(fleet.broker)
    queue.flushdb()
    port = free_port()
    command = [sys.executable, str(REPO / "cli.py"), "--project", str(fleet.project), "serve", "--deployment"]
    command += ["--port", str(port), "--poll-every", "0.5", "--no-register"]
    served = subprocess.Popen(command, env=fleet.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: queue.llen("celery") >= 4, timeout=60, what="two rounds of polls")
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert health["ok"] and health["polls"] >= 2
    finally:
        served.terminate()
        out, _ = served.communicate(timeout=30)
        queue.flushdb()
        fleet.close()
    assert served.returncode == 0, out.decode()[-2000:]
