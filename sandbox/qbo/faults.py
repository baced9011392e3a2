"""QBO faults as the sandbox raises and serves them (reference §2).

Business code raises `Fault`; the app turns it into the `{"Fault": {"Error": [...],
"type": ...}, "time": ...}` body with the right HTTP status. Codes are numeric strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ErrorItem:
    """One entry of `Fault.Error`."""

    code: str
    message: str
    detail: str = ""
    element: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "Message": self.message,
            "Detail": self.detail or self.message,
            "code": self.code,
            "element": self.element,
        }


@dataclass
class Fault(Exception):
    """A QBO fault: one or more errors, a fault type and the HTTP status it is served with."""

    errors: list[ErrorItem]
    type: str = "ValidationFault"
    status: int = 400
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{e.code} {e.message}" for e in self.errors)

    @property
    def code(self) -> str:
        return self.errors[0].code

    def to_json(self) -> dict:
        return {"Error": [e.to_json() for e in self.errors], "type": self.type}


def validation(code: str, message: str, detail: str = "", element: str = "") -> Fault:
    return Fault([ErrorItem(code, message, detail, element)])


def stale_object() -> Fault:
    return validation(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and API API were working on this at the same time. "
        "API API finished before you did, so your work was not saved.",
    )


def not_found(element: str = "") -> Fault:
    return validation(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element,
    )


def duplicate_name() -> Fault:
    return validation("6240", "Duplicate Name Exists Error", "The name supplied already exists. : null")


def duplicate_doc_number(doc_number: str, txn_type: str, txn_id: str) -> Fault:
    return validation(
        "6140",
        "Duplicate Document Number Error",
        "Duplicate Document Number Error : You must specify a different number. This number has "
        f"already been used. DocNumber={doc_number} is assigned to TxnType={txn_type} with TxnId={txn_id}",
        "DocNumber",
    )


def required(element: str) -> Fault:
    return validation(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_reference(element: str, value: str) -> Fault:
    return validation(
        "2500", "Invalid Reference Id", f"Invalid Reference Id : {element} assigned is not valid: {value}", element
    )


def business(detail: str, element: str = "") -> Fault:
    return validation(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def amount_mismatch(element: str = "Line.Amount") -> Fault:
    return validation(
        "6070",
        "Amount calculation incorrect",
        "Amount calculation incorrect : Amount is not equal to UnitPrice * Qty.",
        element,
    )


def invalid_string(element: str, detail: str) -> Fault:
    return validation("2040", "Invalid String", detail, element)


def string_length(element: str, maximum: int, supplied: int) -> Fault:
    return validation(
        "2050",
        "Invalid String Length",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} supported. "
        f"Supplied length:{supplied}",
        element,
    )


def invalid_number(element: str) -> Fault:
    return validation("2100", "Invalid Decimal", f"Invalid Decimal : {element}", element)


def unsupported(operation: str) -> Fault:
    return validation("500", "Unsupported Operation", f"Operation {operation} is not supported.")


def query_parse(detail: str) -> Fault:
    return validation("4000", "Error parsing query", f"QueryParserError: {detail}")


def query_validation(detail: str) -> Fault:
    return validation("4001", "Invalid query", f"QueryValidationError: {detail}")


def batch_too_large(count: int) -> Fault:
    return validation(
        "1040", "Batch size exceeds allowed limit", f"Batch size {count} exceeds the allowed limit of 30 items."
    )


def throttled() -> Fault:
    return Fault(
        [
            ErrorItem(
                "3001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", "The request limit was reached."
            )
        ],
        type="SERVICE",
        status=429,
    )


def system_failure(detail: str = "System Failure Error: An unexpected error occurred") -> Fault:
    return Fault(
        [ErrorItem("10000", "An application error has occurred while processing your request", detail)],
        type="SystemFault",
        status=500,
    )


def auth_failed_body(detail: str) -> dict:
    """The lowercase 401 body QBO serves for a missing, expired or revoked token."""
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": [],
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": None,
        "status": None,
        "cdcresponse": [],
    }
