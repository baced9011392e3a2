"""Making both systems deliver their webhooks to this service.

Procore: one hook per company in the `joist` namespace pointing at `/webhooks/procore`,
carrying the project's secret as its `Authorization` header, with create/update/delete
triggers for every resource a flow reads. It is found again by its destination on every
start and corrected in place, never duplicated. QBO: the endpoint and verifier token of a
real app are entered in Intuit's developer portal (the service prints what to enter); a
local sandbox takes them through its control endpoint.

The secrets: the QBO verifier token comes from the environment variable joist.yaml names
(default JOIST_QBO_WEBHOOK_VERIFIER) or the token file; the Procore secret from
JOIST_PROCORE_WEBHOOK_SECRET or the token file. For a local sandbox missing ones are made
up and saved to the token file (0600), so `joist serve` works at once.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from connectors.procore.client import ProcoreConnector
from connectors.procore.entities import V1, WEBHOOK_ENTITIES
from engine.errors import JoistError
from engine.project.config import Project

NAMESPACE = "joist"
EVENT_TYPES = ("create", "update", "delete")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class WebhookSetupFailed(JoistError):
    """A system refused to register the service's webhook endpoint."""

    code = "S632"


@dataclass
class WebhookSecrets:
    """What each system's deliveries are checked with (None: that system's webhooks are off)."""

    qbo_verifier: str | None
    procore_secret: str | None


def is_local(url: str) -> bool:
    """Whether a URL points at this machine (a local sandbox)."""
    return (urlsplit(url).hostname or "") in LOOPBACK


def _secret(project: Project, system: str, env_var: str, field: str, create: bool) -> str | None:
    if system not in project.connections:
        return None
    value = os.environ.get(env_var)
    if value:
        return value
    store = project.token_store()
    key = f"{project.token_key(system)}:webhooks"
    saved = (store.load(key) or {}).get(field)
    if saved:
        return str(saved)
    if create and is_local(project.connections[system].base_url):
        made = secrets.token_urlsafe(24)
        store.save(key, {**(store.load(key) or {}), field: made})
        return made
    return None


def webhook_secrets(project: Project) -> WebhookSecrets:
    """The project's webhook secrets (made up for local sandboxes where missing)."""
    qbo_env = project.connections["qbo"].env_name("webhook_verifier") if "qbo" in project.connections else ""
    return WebhookSecrets(
        _secret(project, "qbo", qbo_env, "verifier", create=True),
        _secret(project, "procore", "JOIST_PROCORE_WEBHOOK_SECRET", "secret", create=True),
    )


def procore_resources(entities: set[str]) -> list[str]:
    """The webhook resource names that announce changes to these catalogue entities."""
    return sorted(name for name, entity in WEBHOOK_ENTITIES.items() if entity in entities)


def register_procore(connector: ProcoreConnector, url: str, secret: str, entities: set[str]) -> dict[str, Any]:
    """Create or correct the company's Joist hook and its triggers; returns what was done."""
    hooks_path = f"{V1}/webhooks/hooks"
    try:
        hooks = connector.call("GET", hooks_path, params={"namespace": NAMESPACE}) or []
        hook = next((h for h in hooks if h.get("destination_url") == url), None)
        body = {"namespace": NAMESPACE, "destination_url": url, "destination_headers": {"Authorization": secret}}
        if hook is None:
            hook = connector.call("POST", hooks_path, json={"hook": {**body, "api_version": "v2"}}, action="create")
            made = "created"
        else:
            connector.call("PATCH", f"{hooks_path}/{hook['id']}", json={"hook": body}, action="update")
            made = "found"
        triggers_path = f"{hooks_path}/{hook['id']}/triggers"
        have = {(t["resource_name"], str(t["event_type"]).lower()) for t in connector.call("GET", triggers_path) or []}
        added = 0
        for resource in procore_resources(entities):
            for event_type in EVENT_TYPES:
                if (resource, event_type) not in have:
                    trigger = {"resource_name": resource, "event_type": event_type}
                    connector.call("POST", triggers_path, json={"trigger": trigger}, action="create")
                    added += 1
    except JoistError as exc:
        raise WebhookSetupFailed(f"Procore refused the webhook hook: {exc.message}", hint=exc.hint) from None
    return {"hook_id": hook["id"], "hook": made, "triggers_added": added}


def register_qbo(base_url: str, url: str, verifier: str, *, transport: httpx.BaseTransport | None = None) -> str:
    """Point a local QBO sandbox at the service; for real QBO, say what to enter in the portal."""
    if not is_local(base_url):
        return (
            f"QuickBooks: enter {url} as the webhook endpoint of your app in Intuit's developer portal, "
            "and put its verifier token in JOIST_QBO_WEBHOOK_VERIFIER"
        )
    parts = urlsplit(base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    try:
        with httpx.Client(base_url=origin, transport=transport, timeout=10.0) as client:
            answer = client.post(
                "/_qbo/webhooks", json={"url": url, "verifier": verifier, "shape": "legacy", "auto": True}
            )
            answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise WebhookSetupFailed(
            f"the local QBO sandbox at {origin} refused the webhook endpoint: {exc}",
            hint="is the sandbox running? `joist sandbox up --project .`",
        ) from None
    return f"QuickBooks sandbox: delivering to {url}"
