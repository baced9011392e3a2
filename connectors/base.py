"""The contract every connector keeps, and the errors they raise.

A connector is the only code that talks to a system. The sync engine sees records as plain
dicts (JSON shapes as the API serves them, money as `Decimal`) and calls these methods;
it never builds a URL. Every connector takes an `httpx.Client` (or a transport), so tests
run it against the local sandboxes in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from connectors.http import CircuitOpen, WaitTooLong, clock_time, span
from connectors.snapshot import ReadSnapshot
from engine.errors import JoistError

Record = dict[str, Any]
Attachment = tuple[str, bytes, str]  # filename, content, content type


@dataclass
class Page:
    """One page of a read: the records and the cursor to resume after them."""

    records: list[Record]
    cursor: str | None = None


@dataclass
class FileRef:
    """A file attached to a record: its id on that system, its name and type, and how to fetch it."""

    id: str
    filename: str
    content_type: str
    fetch: Callable[[], bytes]


@dataclass
class BatchOp:
    """One item of a batch: `operation` is create | update | delete | void | query.

    `bid` names the item (at most 10 characters, as QBO allows when the batch carries a
    `requestid`); by default items are numbered 1..30 within their batch request.
    """

    operation: str
    entity: str = ""
    payload: Record | None = None
    query: str | None = None
    options: str | None = None
    bid: str | None = None  # the item's id in the batch (default: its position, from 1)


@dataclass
class BatchResult:
    """What one batch item came back with: the record, a query response, or an error."""

    op: BatchOp
    record: Record | None = None
    query_response: dict[str, Any] | None = None
    error: ConnectorError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@runtime_checkable
class Connector(Protocol):
    """What the sync engine needs of a system (`procore` or `qbo`)."""

    system: str
    halted: ConnectorError | None  # why this run stopped calling the system (an outage, a long rate limit)

    def entities(self) -> list[str]:
        """The entity names this connector can read and write."""

    def read(self, entity: str, *, since: str | None = None, scope: Mapping[str, Any] | None = None) -> Iterator[Page]:
        """Every record of `entity` (changed since the cursor `since` when given), page by page.

        The last page's `cursor` is the value to pass as `since` next time. `scope`
        narrows the read where the API needs it (a Procore project id, say).
        """

    def get(self, entity: str, record_id: str, *, scope: Mapping[str, Any] | None = None) -> Record | None:
        """One record by id, or None when it does not exist (or was deleted)."""

    def keep_reads(self, snapshot: ReadSnapshot | None) -> None:
        """Serve list reads again from `snapshot` while it is set (None: read every time);
        see `connectors.snapshot`. A system whose reads are cheap may keep none."""

    def update_many(self, entity: str, items: Sequence[tuple[str, Record, Record]]) -> list[Record | ConnectorError]:
        """Sparse updates of `(id, payload, current)` items, as few requests as the API allows:
        each item's written record, or the error that refused it (an `AuthError` is raised)."""

    def get_many(self, entity: str, record_ids: Sequence[str]) -> dict[str, Record]:
        """The records of these ids that a few list reads find, by id (not deleted ones).

        An id left out may still exist where a list hides it (an inactive name, say): ask
        `get` for it. Where the API has no list by ids this is empty."""

    def create(
        self,
        entity: str,
        payload: Record,
        *,
        idempotency_key: str,
        scope: Mapping[str, Any] | None = None,
        attachments: Sequence[Attachment] | None = None,
        synced: bool = True,
    ) -> Record:
        """Create a record. The same `idempotency_key` twice never makes two records.

        `attachments` go with the create where `files_go_with_create()` says the system needs them.
        `synced` is false for a record made from another record of the same system: where a
        system marks (and freezes) records that stand for an accounting system's, it is not marked."""

    def find_created(
        self, entity: str, idempotency_key: str, *, scope: Mapping[str, Any] | None = None
    ) -> Record | None:
        """The record an earlier `create` with this key made, if it reached the system."""

    def update(
        self,
        entity: str,
        record_id: str,
        payload: Record,
        *,
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record:
        """Change the given fields of a record (sparse), with optimistic locking where the API has it."""

    def delete(
        self,
        entity: str,
        record_id: str,
        *,
        mode: str = "delete",
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record | None:
        """Delete, void or deactivate a record (`mode`: delete | void | deactivate)."""

    def record_id(self, entity: str, record: Record) -> str:
        """The id of a record as a string."""

    def record_version(self, entity: str, record: Record) -> str | None:
        """A value that changes whenever the record changes (SyncToken, updated_at)."""

    # -- what differs between systems: asked, never guessed by the engine -----------------

    def is_deleted(self, entity: str, record: Record) -> bool:
        """Whether a record read from a feed stands for a deletion (a stub or a soft delete)."""

    def is_system_line(self, entity: str, item: Any) -> bool:
        """Whether a line of a record is one the system adds on its own (never compared)."""

    def volatile_fields(self, entity: str) -> frozenset[str]:
        """Top-level fields that change without anyone editing the record (left out of hashes)."""

    def batch_size(self) -> int:
        """How many creates one request may carry; 1 means `batch` is never called."""

    def batch(self, ops: list[BatchOp], *, request_id: str | None = None) -> list[BatchResult]:
        """Run operations in one idempotent request per `request_id`; one result per op, in order."""

    def files(self, entity: str, record: Record) -> list[FileRef]:
        """The files attached to a record."""

    def files_go_with_create(self) -> bool:
        """Whether files must be sent with the create itself (the record freezes after it)."""

    def files_in_record(self) -> bool:
        """Whether a record lists its files itself, so that adding one changes the record (and
        its hash); otherwise `read(since=...)` also yields the records whose files changed."""

    def frozen(self, entity: str, record: Record) -> bool:
        """Whether the system refuses any change to this record, files included (synced with an ERP)."""

    def attach_file(self, entity: str, record_id: str, file: FileRef, content: bytes, *, idempotency_key: str) -> str:
        """Attach one file to a record; the new file's id on this system."""

    def sent_files(self, created: Record, files: list[FileRef]) -> list[tuple[FileRef, str]]:
        """The files sent with a create, each with the id it got on the created record."""

    def close(self) -> None:
        """Release the connection pool."""


class ConnectorError(JoistError):
    """A call to a system failed. Keeps the system's own status and error code.

    `retryable` says whether the same call may succeed later unchanged (throttling,
    outage); a user must fix the cause of any other.
    """

    code = "C500"

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        api_code: str | None = None,
        element: str | None = None,
        retryable: bool = False,
        hint: str | None = None,
    ) -> None:
        self.system = system
        self.status = status
        self.api_code = api_code
        self.element = element
        self.retryable = retryable
        detail = message
        if api_code:
            detail = f"{system} error {api_code}: {message}"
        if element:
            detail += f" (field {element})"
        super().__init__(detail, hint=hint)

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data.update(system=self.system, status=self.status, api_code=self.api_code, element=self.element)
        return data


class AuthError(ConnectorError):
    """Credentials are missing, expired or revoked: the user must reconnect."""

    code = "C501"


class RateLimited(ConnectorError):
    """The system throttled us longer than the retry budget allows."""

    code = "C502"


class Unavailable(ConnectorError):
    """The system kept failing (5xx, timeouts, dropped connections) past the retry budget."""

    code = "C503"


class Outage(Unavailable):
    """The system failed several connections in a row: the run stops calling it, its records wait."""

    code = "C508"


def outage(system_name: str, system: str, failures: int, url: str | None, last: Exception | None) -> Outage:
    """The `Outage` of a system whose circuit breaker opened: where, what failed last, what to check."""
    from urllib.parse import urlsplit

    host = urlsplit(url or "").hostname or ""
    loopback = host in ("localhost", "::1") or host.startswith("127.") or host.endswith(".localhost")
    last_text = f"{type(last).__name__}: {last}" if last is not None else "no answer"
    check = (
        "is it running? Start it (`joist sandbox up`) or fix base_url in joist.yaml"
        if loopback
        else f"check the network and {system_name}'s status page"
    )
    return Outage(
        f"{system_name} at {url} failed {failures} connections in a row ({last_text}); "
        f"Joist stopped calling it for the rest of this run",
        system=system,
        retryable=True,
        hint=f"{check}. The records it held up are kept as waiting (`joist failures`) and run again with the next sync.",
    )


class NotFound(ConnectorError):
    """The record or endpoint does not exist."""

    code = "C504"


class Conflict(ConnectorError):
    """The record changed since it was read (stale version); re-read and re-plan."""

    code = "C505"


class Rejected(ConnectorError):
    """The system refused the data (validation, business rule). The hint says how to fix it."""

    code = "C506"


@dataclass
class Credentials:
    """OAuth client credentials and the current token pair of one connection."""

    client_id: str
    client_secret: str
    refresh_token: str | None = None
    access_token: str | None = None
    expires_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def stopped_calling(
    exc: CircuitOpen | WaitTooLong, system_name: str, system: str, throttled: type[ConnectorError]
) -> ConnectorError:
    """Why a run stops calling a system: its circuit breaker opened (an `Outage`), or its rate
    limit resets later than the longest wait (`throttled`, the system's own throttling error)."""
    if isinstance(exc, CircuitOpen):
        b = exc.breaker
        return outage(system_name, system, b.failures, b.url, b.last_error)
    whose = f"{system_name}'" if system_name.endswith("s") else f"{system_name}'s"
    return throttled(
        f"{whose} rate limit is used up until {clock_time(exc.until_wall)}, {span(exc.seconds)} "
        f"from now: longer than the {span(exc.cap)} a run waits",
        system=system,
        retryable=True,
        hint=f"the run stopped calling {system_name}; what is left runs with the next sync after the reset "
        "(`runs.rate_limit_wait` in joist.yaml sets the longest wait)",
    )
