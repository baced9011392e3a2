"""Webhook deliveries turned into inbox events, after their signature or secret is checked.

QBO signs a delivery with `intuit-signature` (base64 HMAC-SHA256 of the raw body with the
app's verifier token); Procore sends back the `Authorization` header the hook was created
with. Both checks run on the raw body before anything is parsed, in constant time; a bad
or missing one is refused and nothing is stored. Each event gets a stable id from the
sending system (Procore's `ulid`; for QBO the realm, entity, id, operation and change
time), so a delivery sent twice is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.procore.auth import WebhookReceiver
from connectors.procore.errors import WebhookRejected
from connectors.qbo.query import parse_webhook, verify_webhook
from engine.errors import JoistError
from engine.state.inbox import Event


class BadSignature(JoistError):
    """A webhook delivery's signature or secret did not match: refused, nothing stored."""

    code = "S630"


class BadDelivery(JoistError):
    """A webhook delivery's body is not the shape the system sends."""

    code = "S631"


def qbo_events_by_realm(body: bytes, signature: str | None, verifier: str) -> dict[str, list[Event]]:
    """The events of one QBO delivery, by realm (one delivery may carry several realms of the app)."""
    if not signature or not verify_webhook(body, signature, verifier):
        raise BadSignature("the intuit-signature header does not match the body", hint="check the verifier token")
    try:
        notes = parse_webhook(body)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise BadDelivery("a QBO webhook delivery was not a notification payload") from None
    found: dict[str, list[Event]] = {}
    for n in notes:
        found.setdefault(str(n.realm_id), []).append(
            Event(
                f"qbo:{n.realm_id}:{n.entity}:{n.record_id}:{n.operation}:{n.last_updated or ''}",
                "qbo",
                n.entity,
                n.record_id,
                n.operation,
            )
        )
    return found


def qbo_events(body: bytes, signature: str | None, verifier: str, realm_id: str) -> list[Event]:
    """The events of one QBO delivery for this project's realm (others are ignored)."""
    return qbo_events_by_realm(body, signature, verifier).get(str(realm_id), [])


class ProcoreIntake:
    """Procore deliveries checked against the hook's secret (echoes of Joist's own writes dropped)."""

    def __init__(self, secret: str, own_client_id: str | None) -> None:
        self.receiver = WebhookReceiver(secret, own_client_id=own_client_id)

    def events(self, headers: Mapping[str, str], body: bytes) -> list[Event]:
        """The events of one delivery (the company it names aside)."""
        return self.company_events(headers, body)[1]

    def company_events(self, headers: Mapping[str, str], body: bytes) -> tuple[str | None, list[Event]]:
        """(the company the delivery names, its events)."""
        try:
            event = self.receiver.accept(headers, body)
        except WebhookRejected as exc:
            if exc.status == 401:
                raise BadSignature(exc.message, hint=exc.hint) from None
            raise BadDelivery(exc.message, hint=exc.hint) from None
        if event is None:  # a repeat this process already took, or Joist's own change coming back
            return None, []
        company = None if event.company_id is None else str(event.company_id)
        return company, [
            Event(f"procore:{event.ulid}:{entity}", "procore", entity, str(event.record_id), event.event_type)
            for entity in event.entities
        ]
