"""Procore's failures as Joist errors: one class per condition a user can act on.

Procore's 4xx bodies are not uniform (`{"errors": {field: [..]}}`, `{"errors": "text"}`,
`{"message", "error"}`, Doorkeeper's `{"error", "error_description"}`, or plain text on a
429), so `error_for` reads `errors`, then `message`, then `error_description`/`error`.
Messages never contain tokens, secrets or request headers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from connectors.base import AuthError, Conflict, ConnectorError, NotFound, RateLimited, Rejected, Unavailable

SYSTEM = "procore"


class RefreshTokenInvalid(AuthError):
    """The stored refresh token was refused (already used, revoked or from another environment)."""

    code = "C540"


class CompanyNotConnected(AuthError):
    """The Joist app is not installed in (or was disconnected from) this Procore company."""

    code = "C541"


class PermissionDenied(ConnectorError):
    """Procore refused the call for lack of permission (tool disabled, project not permitted)."""

    code = "C542"


class RecordLocked(Rejected):
    """The record is synced (it has an origin_id), and Procore refuses edits to synced records."""

    code = "C543"


class OriginIdTaken(Conflict):
    """Another Procore record of this type in the company already carries this origin_id."""

    code = "C544"


class ReadOnlyEntity(Rejected):
    """Joist reads this Procore entity but does not write it."""

    code = "C545"


class WebhookRejected(ConnectorError):
    """A webhook delivery did not carry the Authorization header configured on the hook."""

    code = "C546"


def _body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return response.text.strip() or None


def explain(body: Any) -> tuple[str, str | None]:
    """The message of a Procore error body, and the first field it names (if any)."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            field, problems = next(iter(errors.items()))
            problems = problems if isinstance(problems, list) else [problems]
            text = "; ".join(
                f"{k} {', '.join(map(str, v if isinstance(v, list) else [v]))}"
                if k != "base"
                else ", ".join(map(str, v if isinstance(v, list) else [v]))
                for k, v in errors.items()
            )
            return text, None if field == "base" else str(field)
        if isinstance(errors, list) and errors:
            return "; ".join(map(str, errors)), None
        if isinstance(errors, str):
            return errors, None
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str):
                return body[key], None
            if isinstance(body.get(key), dict) and isinstance(body[key].get("message"), str):
                return body[key]["message"], None
    if isinstance(body, str):
        return body[:300], None
    return "no details in the response", None


def error_for(response: httpx.Response, *, entity: str | None = None, action: str = "call") -> ConnectorError:
    """The typed Joist error for a failed Procore response."""
    status = response.status_code
    message, element = explain(_body(response))
    what = f"{action} {entity}" if entity else action
    text = f"Procore refused to {what}: {message}"
    common: dict[str, Any] = {"system": SYSTEM, "status": status, "element": element}
    if status == 401:
        return AuthError(text, **common, hint="Reconnect Joist to Procore: joist connect procore")
    if status == 403:
        if "not connected" in message.lower():
            return CompanyNotConnected(
                text, **common, hint="Ask a Procore company admin to install the Joist app in this company."
            )
        return PermissionDenied(
            text,
            **common,
            hint="Give the Joist app's service account access to this tool "
            "and project in Procore (Company Admin > App Management).",
        )
    if status == 404:
        return NotFound(text, **common, hint="The record may have been deleted in Procore, or the app cannot see it.")
    if status == 429:
        return RateLimited(
            text, **common, retryable=True, hint="Procore's rate limit stayed exhausted; the run can be retried later."
        )
    if status >= 500:
        return Unavailable(text, **common, retryable=True, hint="Procore is failing; retry later.")
    lowered = message.lower()
    if status in (409, 422) and element == "origin_id" and "taken" in lowered:
        return OriginIdTaken(
            text,
            **common,
            hint="Another Procore record already carries this origin_id; "
            "link the two with `joist link` instead of creating a new one.",
        )
    if status == 422 and ("synced" in lowered or "cannot be edited" in lowered or "cannot be deleted" in lowered):
        return RecordLocked(
            text,
            **common,
            hint="Procore locks records that carry an origin_id. Change it at its "
            "source, or clear the sync lock in Procore's ERP tool.",
        )
    if status == 400 and "procore-company-id" in lowered:
        return Rejected(
            text, **common, hint="Set the Procore company id in joist.yaml (connections.procore.company_id)."
        )
    if status == 413:
        return Rejected(text, **common, hint="Send at most 1,000 records per sync call.")
    return Rejected(
        text,
        **common,
        hint=f"Fix the {element} value and retry." if element else "Fix the record in the source system and retry.",
    )
