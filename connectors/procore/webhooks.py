"""Receiving Procore webhooks: check the configured Authorization, drop duplicates and echoes.

Procore signs nothing; it sends back the `Authorization` value the integrator configured
on the hook (`destination_headers`), so that is what `WebhookReceiver` checks, in
constant time. Deliveries are at-least-once: an event whose `ulid` (or `id`) was seen
before is dropped. Events caused by Joist's own writes (their
`metadata.source_application_id` is Joist's client id) are dropped too, so a change Joist
made does not bounce back. Payloads carry no data: the event names what to re-read.
"""
from __future__ import annotations

import hmac
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping

from connectors.procore.entities import WEBHOOK_ENTITIES
from connectors.procore.errors import SYSTEM, WebhookRejected

PAYMENT_ENTITIES = ("prime_contract_payments", "commitment_payments")


@dataclass(frozen=True)
class WebhookEvent:
    """One Procore change notice: which record of which entities to re-read (or forget)."""

    ulid: str
    resource_name: str
    entities: tuple[str, ...]     # catalogue entities the resource may be (payments: either kind)
    record_id: int
    event_type: str               # create | update | delete
    company_id: int | None
    project_id: int | None
    timestamp: str | None
    payload: dict[str, Any]


class WebhookReceiver:
    """Turns delivery requests into `WebhookEvent`s, at most once each."""

    def __init__(self, authorization: str, *, own_client_id: str | None = None, remember: int = 10000) -> None:
        self.authorization = authorization
        self.own_client_id = own_client_id
        self.remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()

    def accept(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        """The event of one delivery, or None for a duplicate or an echo of Joist's own change.

        Raises `WebhookRejected` when the Authorization header is not the configured one."""
        given = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not hmac.compare_digest(given.encode(), self.authorization.encode()):
            raise WebhookRejected("a Procore webhook delivery carried the wrong Authorization header",
                                  system=SYSTEM, status=401,
                                  hint="Check destination_headers on the Procore hook against joist.yaml.")
        try:
            payload = json.loads(body)
            key = str(payload.get("ulid") or payload["id"])
            resource = str(payload["resource_name"])
            record_id = int(payload["resource_id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRejected("a Procore webhook delivery was not a v2 event payload", system=SYSTEM,
                                  status=400, hint="Create the hook with api_version v2.") from None
        if key in self._seen:
            return None
        self._seen[key] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        source = (payload.get("metadata") or {}).get("source_application_id")
        if self.own_client_id and source == self.own_client_id:
            return None
        entity = WEBHOOK_ENTITIES.get(resource)
        entities = PAYMENT_ENTITIES if entity == "contract_payments" else ((entity,) if entity else ())
        return WebhookEvent(key, resource, entities, record_id, str(payload.get("event_type", "")).lower(),
                            payload.get("company_id"), payload.get("project_id"), payload.get("timestamp"), payload)
