"""Procore webhooks in the sandbox: hooks, triggers, events and their deliveries.

A change to a record whose resource has a webhook name becomes an event (payload
version "v2", the legacy default: `id`, 26-char `ulid`, `timestamp`, `resource_name`,
`resource_id`, `event_type`, `company_id`, `project_id`, `user_id`, `api_version`,
`metadata.source_*`). Each hook whose triggers match gets it queued; deliveries go out in
order per hook, POSTed as JSON with the hook's `destination_headers` (the integrator's own
`Authorization`), a 5-second timeout, at least once. A failure (connect error, non-2xx,
timeout) pauses that hook's whole queue and retries the head with delays doubling from 1 s
up to 1 h; after 12 h of failing the queue is discarded; a success resets the counters.

Decisions: a company-level hook hears project resources of every project in the company;
a project-level hook only its project. Company directory events (vendors, users) carry no
`project_id`. Delays run on the sandbox clock, so tests move time instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections import deque
from typing import Any

import httpx

from sandbox.control import Clock
from sandbox.procore.resources import LINE_ITEM_WEBHOOKS
from sandbox.procore.store import Change, Store

Record = dict[str, Any]
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RESOURCE_NAMES = (
    "Projects",
    "Company Vendors",
    "Company Users",
    "Departments",
    "Line Item Types",
    "Prime Contracts",
    "Prime Contract Line Items",
    "Work Order Contracts",
    "Work Order Contract Line Items",
    "Purchase Order Contracts",
    "Purchase Order Contract Line Items",
    "Change Order Packages",
    "Payment Applications",
    "Contract Payments",
    "Direct Costs",
    "Direct Cost Line Items",
    "Cost Codes",
    "Sub Jobs",
    "Timecard Entries",
    "Requisitions",
)


def new_ulid(epoch: float) -> str:
    """A 26-character ULID: 48-bit millisecond time and 80 random bits, Crockford base32."""
    value = (int(epoch * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


class Webhooks:
    """Hooks, triggers, per-hook queues and the delivery log of one sandbox."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        timeout: float = 5.0,
        first_delay: float = 1.0,
        max_delay: float = 3600.0,
        discard_after: float = 12 * 3600.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.timeout = timeout
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.discard_after = discard_after
        self.hooks: dict[int, Record] = {}
        self.triggers: dict[int, Record] = {}
        self.deliveries: dict[int, list[Record]] = {}
        self.queues: dict[int, deque[Record]] = {}
        self.state: dict[int, dict[str, float]] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._client = httpx.Client(timeout=timeout, transport=transport)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        store.listeners.append(self.on_change)

    # ---- configuration ------------------------------------------------------------------
    def create_hook(self, hook: Record, company_id: int, project_id: int | None, user_id: int) -> Record:
        with self._lock:
            record = {
                "id": self.store.new_id(),
                "api_version": hook.get("api_version", "v2"),
                "namespace": hook.get("namespace"),
                "destination_url": hook.get("destination_url"),
                "destination_headers": dict(hook.get("destination_headers") or {}),
                "owned_by_company_id": None if project_id else company_id,
                "owned_by_project_id": project_id,
                "owned_by_user_id": user_id,
                "_company_id": company_id,
            }
            self.hooks[record["id"]] = record
            self.deliveries[record["id"]] = []
            self.queues[record["id"]] = deque()
            self.state[record["id"]] = {"failures": 0, "next_at": 0.0, "failing_since": 0.0}
            return record

    def create_trigger(self, hook_id: int, trigger: Record, user_id: int) -> Record:
        hook = self.hooks[hook_id]
        record = {
            "id": self.store.new_id(),
            "webhook_hook_id": hook_id,
            "resource_name": trigger.get("resource_name"),
            "event_type": str(trigger.get("event_type") or "").lower(),
            "company_id": hook["owned_by_company_id"],
            "project_id": hook["owned_by_project_id"],
            "user_id": user_id,
        }
        self.triggers[record["id"]] = record
        return record

    def delete_hook(self, hook_id: int) -> None:
        with self._lock:
            self.hooks.pop(hook_id, None)
            self.queues.pop(hook_id, None)
            for trigger_id in [t for t, v in self.triggers.items() if v["webhook_hook_id"] == hook_id]:
                self.triggers.pop(trigger_id)

    @staticmethod
    def public(hook: Record) -> Record:
        return {k: v for k, v in hook.items() if not k.startswith("_")}

    # ---- events -------------------------------------------------------------------------
    def on_change(self, change: Change) -> None:
        name = change.resource.webhook
        if change.resource.name == "line_items":
            name = LINE_ITEM_WEBHOOKS.get(change.record.get("holder_type") or "")
        if not name or not self.triggers:
            return
        record = change.record
        company_id = record.get("company_id")
        project_id = record.get("project_id") if change.resource.scope == "project" else None
        if change.resource.name == "projects":
            project_id = record["id"]
        now = self.clock.now()
        event = {
            "id": int.from_bytes(os.urandom(8), "big") >> 1,
            "ulid": new_ulid(now),
            "timestamp": dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "resource_name": name,
            "resource_id": record["id"],
            "event_type": change.event_type,
            "company_id": company_id,
            "project_id": project_id,
            "user_id": change.source_user_id,
            "api_version": "v2",
            "metadata": {
                "source_user_id": change.source_user_id,
                "source_company_id": company_id,
                "source_project_id": project_id,
                "source_application_id": change.source_application_id,
                "source_operation_id": None,
            },
        }
        with self._lock:
            for trigger in self.triggers.values():
                hook = self.hooks.get(trigger["webhook_hook_id"])
                if hook is None or trigger["resource_name"] != name or trigger["event_type"] != change.event_type:
                    continue
                if hook["_company_id"] != company_id:
                    continue
                if hook["owned_by_project_id"] and hook["owned_by_project_id"] != project_id:
                    continue
                self.queues[hook["id"]].append(event)
        self._wake.set()

    # ---- delivery -----------------------------------------------------------------------
    def pump(self) -> int:
        """Deliver whatever is due on every hook now; returns how many attempts were made."""
        attempts = 0
        for hook_id in list(self.hooks):
            while True:
                with self._lock:
                    queue, state = self.queues.get(hook_id), self.state.get(hook_id)
                    if not queue or state is None or self.clock.now() < state["next_at"]:
                        break
                    event = queue[0]
                    hook = self.hooks[hook_id]
                ok = self._attempt(hook, event)
                attempts += 1
                if not ok:
                    break
        return attempts

    def _attempt(self, hook: Record, event: Record) -> bool:
        started = self.clock.now()
        record: Record = {
            "id": self.store.new_id(),
            "event_id": event["id"],
            "event": event,
            "started_at": _iso(started),
            "response_status": None,
            "response_headers": None,
            "response_body": None,
            "response_error": None,
        }
        try:
            response = self._client.post(
                hook["destination_url"], json=event, headers=hook["destination_headers"], timeout=self.timeout
            )
            record.update(
                response_status=response.status_code,
                response_headers=dict(response.headers),
                response_body=response.text[:2000],
            )
            ok = 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            record["response_error"] = type(exc).__name__
            ok = False
        record["completed_at"] = _iso(self.clock.now())
        with self._lock:
            state = self.state[hook["id"]]
            queue = self.queues.get(hook["id"])
            if ok:
                record["outcome"] = "ok"
                state.update(failures=0, next_at=0.0, failing_since=0.0)
                if queue and queue[0] is event:
                    queue.popleft()
            else:
                record["outcome"] = "retried"
                state["failures"] += 1
                state["failing_since"] = state["failing_since"] or started
                delay = min(self.max_delay, self.first_delay * 2 ** (state["failures"] - 1))
                state["next_at"] = self.clock.now() + delay
                state["delay"] = delay
                if self.clock.now() - state["failing_since"] >= self.discard_after and queue is not None:
                    record["outcome"] = "failed"
                    for dropped in queue:
                        self.deliveries[hook["id"]].append(
                            {
                                "id": self.store.new_id(),
                                "event_id": dropped["id"],
                                "event": dropped,
                                "outcome": "discarded",
                                "started_at": None,
                                "completed_at": None,
                            }
                        )
                    queue.clear()
                    state.update(failures=0, next_at=0.0, failing_since=0.0)
            self.deliveries[hook["id"]].append(record)
        return ok

    def list_deliveries(self, hook_id: int, status: str = "any") -> list[Record]:
        rows = list(self.deliveries.get(hook_id, []))
        wanted = {"successful": {"ok"}, "failing": {"retried", "failed"}, "discarded": {"discarded"}}.get(status)
        return [r for r in rows if wanted is None or r.get("outcome") in wanted]

    def start(self, interval: float = 0.05) -> None:
        """Deliver in a background thread until `stop()`."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.pump()
                except Exception:  # a broken receiver must never stop deliveries to others
                    pass
                self._wake.wait(interval)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="procore-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.timeout + 1)
            self._thread = None
        time.sleep(0)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
