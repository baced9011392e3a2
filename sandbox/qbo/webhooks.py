"""Webhook notifications, signed as QBO signs them, in the legacy and CloudEvents shapes.

A registered endpoint gets one POST per batch of changes. The header `intuit-signature`
is `base64(HMAC-SHA256(verifier token, raw body))`. Delivery is explicit (`deliver()`)
or automatic in a background thread; a failed delivery is retried on the QBO schedule
(10 s, 20 s, 30 s, 5 min, ...) measured on the sandbox clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.qbo.store import format_time

RETRY_SCHEDULE = (10, 20, 30, 300, 1200, 7200, 14400, 21600)
OPERATIONS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",
}


def signature(verifier: str, body: bytes) -> str:
    """The `intuit-signature` header value for `body`."""
    return base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest()).decode()


def legacy_payload(realm_id: str, events: list[tuple[str, str, str, float]], offset: int) -> list[dict[str, Any]]:
    def stamp(at: float) -> str:
        text = format_time(at, offset)
        return text[:-3] + text[-2:]

    entities = [{"name": e, "id": i, "operation": op, "lastUpdated": stamp(at)} for e, i, op, at in events]
    return [{"realmId": realm_id, "dataChangeEvent": {"entities": entities}}]


def cloud_events(realm_id: str, events: list[tuple[str, str, str, float]]) -> list[dict[str, Any]]:
    out = []
    for entity, record_id, operation, at in events:
        stamp = format_time(at, 0, millis=True).replace("+00:00", "Z")
        out.append(
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "intuit.sandbox.joist",
                "type": f"qbo.{entity.lower()}.{OPERATIONS.get(operation, 'updated')}.v1",
                "datacontenttype": "application/json",
                "time": stamp,
                "intuitentityid": record_id,
                "intuitaccountid": realm_id,
                "data": {},
            }
        )
    return out


@dataclass
class Delivery:
    body: bytes
    attempts: int = 0
    next_at: float = 0.0


@dataclass
class Webhooks:
    """Pending notifications and the endpoint they go to."""

    now: Callable[[], float]
    config: dict[str, Any]
    offsets: Callable[[str], int]
    client: httpx.Client | None = None
    pending: dict[str, list[tuple[str, str, str, float]]] = field(default_factory=dict)
    outbox: list[Delivery] = field(default_factory=list)
    delivered: list[tuple[int, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def configure(self, url: str, verifier: str, shape: str = "legacy", auto: bool = False) -> None:
        if shape not in ("legacy", "cloudevents"):
            raise ValueError("shape must be legacy or cloudevents")
        self.config.update(url=url, verifier=verifier, shape=shape, auto=auto)
        if auto and (self._thread is None or not self._thread.is_alive()):  # one sender, however often configured
            self._thread = threading.Thread(target=self._run, name="qbo-webhooks", daemon=True)
            self._thread.start()

    def record(self, realm_id: str, event: tuple[str, str, str, float]) -> None:
        if not self.config.get("url"):
            return
        with self.lock:
            self.pending.setdefault(realm_id, []).append(event)
        self._wake.set()

    def _package(self) -> None:
        shape = self.config.get("shape", "legacy")
        for realm_id, events in self.pending.items():
            if not events:
                continue
            if shape == "legacy":
                payload: Any = {"eventNotifications": legacy_payload(realm_id, events, self.offsets(realm_id))}
            else:
                payload = cloud_events(realm_id, events)
            self.outbox.append(Delivery(json.dumps(payload).encode()))
        self.pending.clear()

    def deliver(self) -> int:
        """Send every due notification now; returns how many the endpoint accepted (HTTP 200)."""
        with self.lock:
            self._package()
            due = [d for d in self.outbox if d.next_at <= self.now()]
        accepted = 0
        client = self.client or httpx.Client(timeout=3.0)
        for item in due:
            headers = {
                "intuit-signature": signature(self.config["verifier"], item.body),
                "Content-Type": "application/cloudevents-batch+json"
                if self.config.get("shape") == "cloudevents"
                else "application/json",
            }
            try:
                status = client.post(self.config["url"], content=item.body, headers=headers).status_code
            except httpx.HTTPError:
                status = 0
            self.delivered.append((status, item.body))
            with self.lock:
                if status == 200:
                    self.outbox.remove(item)
                    accepted += 1
                else:
                    delay = RETRY_SCHEDULE[min(item.attempts, len(RETRY_SCHEDULE) - 1)]
                    item.attempts += 1
                    item.next_at = self.now() + delay
        if self.client is None:
            client.close()
        return accepted

    def _run(self) -> None:
        while self.config.get("auto"):
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            self.deliver()
