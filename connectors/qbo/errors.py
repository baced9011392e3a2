"""Every QBO fault as a Joist connector error: the QBO code and element kept, a hint added.

One class per condition a user meets. `from_response` reads the fault body (JSON in
either case, or the XML QBO sometimes sends) and picks the class by HTTP status and code.
Messages carry QBO's message and detail only, never a token or secret.
"""

from __future__ import annotations

import httpx

from connectors.base import AuthError, Conflict, ConnectorError, NotFound, RateLimited, Rejected, Unavailable
from connectors.qbo.wire import fault_errors

SYSTEM = "qbo"


class QBOAuthFailed(AuthError):
    """The access token was refused (3200) or the refresh token is no longer valid (invalid_grant)."""

    code = "C521"


class QBOForbidden(AuthError):
    """The app is not authorised for this company or scope (3100)."""

    code = "C522"


class QBOThrottled(RateLimited):
    """QBO kept answering 429 (3001) past the retry budget."""

    code = "C523"


class QBOUnavailable(Unavailable):
    """QBO kept failing (5xx, 10000, dropped connections) past the retry budget."""

    code = "C524"


class QBONotFound(NotFound):
    """The record does not exist or was deleted (610 on a read)."""

    code = "C525"


class QBOStaleObject(Conflict):
    """Someone changed the record since it was read (5010). `current` holds the fresh copy."""

    code = "C526"
    current: dict | None = None


class QBODuplicateName(Rejected):
    """The name is taken by another customer, vendor or employee, or item/account of the same type (6240)."""

    code = "C527"


class QBODuplicateDocNumber(Rejected):
    """The document number is already used (6140)."""

    code = "C528"


class QBOInactiveReference(Rejected):
    """The record refers to an inactive or deleted account, customer, item, vendor or employee (610)."""

    code = "C529"


class QBOMissingField(Rejected):
    """A required field was not sent (2020)."""

    code = "C530"


class QBOBusinessRule(Rejected):
    """QBO refused it on a business rule (6000): closed period, linked transaction, over-payment."""

    code = "C531"


class QBOAmountMismatch(Rejected):
    """A line's Amount is not Qty x UnitPrice (6070)."""

    code = "C532"


class QBOInvalidReference(Rejected):
    """A reference points at an id that does not exist (2500)."""

    code = "C533"


class QBOQueryError(Rejected):
    """The query was malformed or asked for something QBO cannot filter (4000, 4001)."""

    code = "C534"


class QBOCDCWindow(Rejected):
    """The change-data-capture cursor is older than QBO's 30-day window."""

    code = "C535"


class QBORejected(Rejected):
    """Any other validation fault; the QBO code and detail say what is wrong."""

    code = "C536"


HINTS = {
    "6240": "Names are unique across customers, vendors and employees, inactive ones included. Give one a "
    "suffix (e.g. ' (V)' for the vendor twin of a customer) or reactivate and reuse the existing record.",
    "5010": "The record changed in QuickBooks since Joist read it; Joist re-reads it and plans the change again.",
    "6140": "That document number is already used. Change the number at the source, or allow duplicates for "
    "this flow (include=allowduplicatedocnum).",
    "610": "A referenced account, customer, item, vendor or employee is inactive or deleted in QuickBooks. "
    "Reactivate it there, or map this record to an active one.",
    "6000": "QuickBooks refused the change on a business rule (closed books, a linked or deposited transaction, "
    "an over-payment). The detail says which; fix it in QuickBooks or at the source and retry.",
    "2020": "A field QuickBooks requires is missing. Map the field named in the error in the rule.",
    "3200": "The QuickBooks connection's login expired or was revoked. Reconnect QuickBooks (joist connect qbo).",
    "3001": "QuickBooks is throttling this company (500 requests a minute). Joist waits and retries; if it "
    "persists, run fewer syncs at once for this company.",
    "3100": "The QuickBooks app is not authorised for this company or scope. Reconnect with the accounting scope.",
    "6070": "Send Amount = Qty x UnitPrice rounded to the cent, or send only Amount.",
    "2500": "A reference points at a record that does not exist in this company. Check the link or mapping.",
    "4000": "The query is malformed. Quote strings with single quotes and escape ' as \\'.",
    "4001": "The query asks for something QuickBooks cannot do (over 1000 rows, or a property that cannot be filtered).",
    "invalid_grant": "The QuickBooks refresh token is expired, revoked or was already used. Reconnect QuickBooks.",
}
CLASSES: dict[str, type[ConnectorError]] = {
    "3200": QBOAuthFailed,
    "invalid_grant": QBOAuthFailed,
    "invalid_client": QBOAuthFailed,
    "3100": QBOForbidden,
    "3001": QBOThrottled,
    "10000": QBOUnavailable,
    "5010": QBOStaleObject,
    "6240": QBODuplicateName,
    "6140": QBODuplicateDocNumber,
    "610": QBOInactiveReference,
    "2020": QBOMissingField,
    "6000": QBOBusinessRule,
    "6070": QBOAmountMismatch,
    "2500": QBOInvalidReference,
    "4000": QBOQueryError,
    "4001": QBOQueryError,
}


def from_fault(error: dict[str, str], status: int | None, *, reading: bool = False) -> ConnectorError:
    """The Joist error for one QBO error entry (`code`, `message`, `detail`, `element`)."""
    code = error.get("code", "")
    cls = CLASSES.get(code)
    if status == 401:
        cls = QBOAuthFailed
    elif status == 403:
        cls = QBOForbidden
    elif status == 429:
        cls = QBOThrottled
    elif status is not None and status >= 500:
        cls = QBOUnavailable
    elif code == "610" and reading:
        cls = QBONotFound
    elif code == "2070" and error.get("element") == "changedSince":
        cls = QBOCDCWindow
    cls = cls or QBORejected
    message = error.get("detail") or error.get("message") or f"HTTP {status}"
    retryable = issubclass(cls, (RateLimited, Unavailable))
    return cls(
        message,
        system=SYSTEM,
        status=status,
        api_code=code or None,
        element=error.get("element") or None,
        retryable=retryable,
        hint=HINTS.get(code),
    )


def from_response(response: httpx.Response, *, reading: bool = False) -> ConnectorError:
    """The Joist error for a failed QBO response (the first of its errors)."""
    _, errors = fault_errors(response.content)
    if not errors:
        errors = [
            {
                "code": {401: "3200", 429: "3001"}.get(response.status_code, ""),
                "message": f"QuickBooks answered HTTP {response.status_code}",
                "detail": "",
                "element": "",
            }
        ]
    return from_fault(errors[0], response.status_code, reading=reading)


def transport_failure(exc: Exception, request: httpx.Request) -> QBOUnavailable:
    """QuickBooks could not be reached at all: the message names the address (see `connectors.http.unreachable`)."""
    from connectors.http import unreachable

    message, hint = unreachable("QuickBooks", request, exc)
    return QBOUnavailable(message, system=SYSTEM, retryable=True, hint=hint)
