"""`QBOConnector`: the sync engine's way into one QuickBooks Online company.

Reads page through `/query` (1000 rows a page) or, with a cursor, `/cdc`; a cursor older
than QBO's 30-day window falls back to a full read. Every write carries a `requestid`,
so a retry after a dropped connection is replayed by QBO rather than done twice; updates
are sparse with the SyncToken just read, and a stale one (5010) raises `QBOStaleObject`
holding the fresh record instead of being retried blindly. Calls pass a client-side token
bucket (490 a minute, bursts of 10: under QBO's 500/min in any 60-second window), batch
requests a second one (35 a minute and bursts of 5: never more than the 40 batch requests a
minute QBO allows an app per realm), then 429/5xx backoff with jitter.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from connectors.base import (
    Attachment,
    BatchOp,
    BatchResult,
    ConnectorError,
    Credentials,
    FileRef,
    Page,
    Record,
    stopped_calling,
)
from connectors.http import (
    TRANSIENT_ERRORS,
    CircuitBreaker,
    CircuitOpen,
    Now,
    RetryPolicy,
    Sleep,
    TokenBucket,
    WaitTooLong,
    send_with_retries,
)
from connectors.qbo import entities as ents
from connectors.qbo import errors
from connectors.qbo.auth import Endpoints, OAuthClient, TokenManager, endpoints_for
from connectors.qbo.query import MAX_PAGE, Where, select
from connectors.qbo.wire import dumps, fault_errors, loads
from connectors.snapshot import ReadSnapshot
from connectors.tokens import TokenStore

MAX_BATCH = 30
# QBO allows an app 40 batch requests a minute per realm: 35 a minute plus a burst of 5 never
# puts more than 40 in any 60 seconds.
BATCHES_PER_MINUTE = 35
IN_CHUNK = 200  # ids per `Id IN (...)` query of get_many (a query is at most 100,000 characters)
# Left out of content hashes: what changes without an edit. A vendor's or customer's
# Balance moves whenever a bill or invoice of theirs does: were it hashed, a two-way flow
# would see a change nobody made and write the old values back.
VOLATILE = frozenset({"SyncToken", "MetaData", "domain", "sparse", "time", "Balance", "BalanceWithJobs", "HomeBalance"})
CDC_CAP = 1000
CDC_WINDOW = 30 * 86400
APP_TEXT = "application/text"


def request_id(key: str) -> str:
    """A `requestid` (36 characters at most, as `/batch` needs) for an idempotency key."""
    if len(key) <= 36 and key.replace("-", "").isalnum():
        return key
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "joist:" + key))


_derived_request_id = request_id


class QBOConnector:
    """The `Connector` for QuickBooks Online (system "qbo")."""

    system = "qbo"

    def __init__(
        self,
        base_url: str,
        realm_id: str,
        credentials: Credentials,
        token_store: TokenStore,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        minor_version: str = "75",
        sleep: Sleep = time.sleep,
        now: Now = time.monotonic,
        wall: Now = time.time,
        policy: RetryPolicy | None = None,
        bucket: TokenBucket | None = None,
        rate_per_minute: float = 490,
        burst: float = 10,
        batches_per_minute: float = BATCHES_PER_MINUTE,
        timeout: float = 120.0,
        endpoints: Endpoints | None = None,
        token_key: str | None = None,
        rate_limit_wait: float = 900.0,
        outage_after: int = 3,
    ) -> None:
        root = base_url.rstrip("/").removesuffix("/v3")
        self.realm_id = realm_id
        self.api = f"{root}/v3/company/{realm_id}"
        self.minor_version = minor_version
        self.http = client or httpx.Client(transport=transport, timeout=timeout)
        self.sleep = sleep
        # Intuit: on 429 wait about a minute; 1, 2, 4 ... 32 s (jittered) spans that.
        self.policy = policy or RetryPolicy(attempts=7, base=1.0, cap=60.0)
        self.bucket = bucket or TokenBucket(
            rate_per_minute,
            per=60.0,
            capacity=burst,
            now=now,
            sleep=sleep,
            max_wait=rate_limit_wait,
            wall=wall,
            name="QuickBooks",
        )
        self.batch_bucket = TokenBucket(
            batches_per_minute,
            per=60.0,
            capacity=5,
            now=now,
            sleep=sleep,
            max_wait=rate_limit_wait,
            wall=wall,
            name="QuickBooks batch requests",
        )
        self.wall = wall
        self.breaker = CircuitBreaker(outage_after)
        self.halted: ConnectorError | None = None  # why this run stopped calling QuickBooks
        oauth = OAuthClient(
            credentials, endpoints or endpoints_for(root), client=self.http, now=wall, breaker=self.breaker
        )
        self.tokens = TokenManager(oauth, token_store, token_key or f"qbo:{realm_id}", credentials, now=wall)
        self._created: dict[str, tuple[str, str]] = {}
        self.requests_sent = 0

    # -- transport --------------------------------------------------------------------------

    def _count(self, response: httpx.Response) -> None:
        self.requests_sent += 1

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        content_type: str | None = None,
        safe: bool,
        reading: bool = False,
    ) -> httpx.Response:
        """One API call. Once QuickBooks failed `outage_after` connections in a row (`Outage`), or
        its rate limit resets later than `rate_limit_wait`, every further call of the run raises
        at once; `halted` keeps the reason for the run's report."""
        try:
            return self._call_once(
                method, path, params=params, content=content, content_type=content_type, safe=safe, reading=reading
            )
        except (CircuitOpen, WaitTooLong) as exc:
            raise self._halt(stopped_calling(exc, "QuickBooks", "qbo", errors.QBOThrottled)) from None

    def _halt(self, error: ConnectorError) -> ConnectorError:
        if self.halted is None:
            self.halted = error
        return error

    def _call_once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None,
        content: bytes | str | None,
        content_type: str | None,
        safe: bool,
        reading: bool,
    ) -> httpx.Response:
        query = {"minorversion": self.minor_version, **(params or {})}
        for attempt in (1, 2):
            token = self.tokens.access_token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            if content_type:
                headers["Content-Type"] = content_type
            request = self.http.build_request(
                method, f"{self.api}/{path}", params=query, content=content, headers=headers
            )
            try:
                response = send_with_retries(
                    self.http,
                    request,
                    safe_to_retry=safe,
                    policy=self.policy,
                    bucket=self.bucket,
                    sleep=self.sleep,
                    on_response=self._count,
                    breaker=self.breaker,
                )
            except TRANSIENT_ERRORS as exc:
                raise errors.transport_failure(exc, request) from None
            if response.status_code == 401 and attempt == 1:
                self.tokens.refresh(stale=token)
                continue
            if response.status_code >= 400:
                raise errors.from_response(response, reading=reading)
            return response
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self._call(method, path, **kwargs)
        data = loads(response.content)
        if isinstance(data, dict) and "Fault" in data:
            _, faults = fault_errors(response.content)
            raise errors.from_fault(faults[0] if faults else {}, response.status_code)
        return data

    def _write(self, entity: str, body: Record, rid: str, params: Mapping[str, str] | None = None) -> Record:
        data = self._json(
            "POST",
            ents.segment(entity),
            params={"requestid": rid, **(params or {})},
            content=dumps(body),
            content_type="application/json",
            safe=True,
        )
        return data[ents.canonical(entity)]

    # -- Connector ----------------------------------------------------------------------------

    def entities(self) -> list[str]:
        return list(ents.ALL)

    def record_id(self, entity: str, record: Record) -> str:
        return str(record["Id"])

    def is_deleted(self, entity: str, record: Record) -> bool:
        """A CDC deletion stub (`status: Deleted`), or a voided transaction: QBO keeps it readable
        with its amounts zeroed and "Voided" at the start of its private note."""
        return record.get("status") in ("Deleted", "Voided") or ents.is_voided(entity, record)

    def is_system_line(self, entity: str, item: Any) -> bool:
        """QBO's subtotal line, which QBO adds to sales documents on its own."""
        return ents.is_subtotal_line(item)

    def volatile_fields(self, entity: str) -> frozenset[str]:
        """SyncToken and MetaData, and the balances QBO recomputes whenever another transaction moves."""
        return VOLATILE

    def batch_size(self) -> int:
        return MAX_BATCH

    def record_version(self, entity: str, record: Record) -> str | None:
        token = record.get("SyncToken")
        return None if token is None else str(token)

    def query(self, sql: str) -> dict[str, Any]:
        """One raw query; returns its `QueryResponse` (possibly `{}`)."""
        data = self._json("POST", "query", content=sql.encode(), content_type=APP_TEXT, safe=True)
        return data["QueryResponse"]

    def find(self, entity: str, where: Where | None = None, *, include_inactive: bool = False) -> Iterator[Record]:
        """Every record matching `where`, across as many pages as it takes."""
        entity = ents.canonical(entity)
        where = where or Where()
        if include_inactive and ents.is_name_list(entity) and not any(p.startswith("Active") for p in where.parts):
            where = Where(where.parts + ["Active IN (true, false)"], where.exact)
        start = 1
        while True:
            rows = self.query(select(entity, where, start=start)).get(entity, [])
            yield from (r for r in rows if where.accepts(r))
            if len(rows) < MAX_PAGE:
                return
            start += len(rows)

    @staticmethod
    def _cursor(server_time: str) -> str:
        # The response `time` carries milliseconds; MetaData times do not. Cutting to the
        # second rounds down, so a change in the same second is seen again, never missed.
        return server_time[:19] + server_time[-6:]

    def read(self, entity: str, *, since: str | None = None, scope: Mapping[str, Any] | None = None) -> Iterator[Page]:
        entity = ents.canonical(entity)
        scope = scope or {}
        if since and not self._too_old(since):
            try:
                yield from self._read_changes(entity, since)
                return
            except errors.QBOCDCWindow:
                pass
        where = Where(list(scope.get("where", [])))
        if scope.get("include_inactive", True) and ents.is_name_list(entity):
            where.raw("Active IN (true, false)")
        start, cursor = 1, None
        while True:
            data = self._json(
                "POST", "query", content=select(entity, where, start=start).encode(), content_type=APP_TEXT, safe=True
            )
            cursor = cursor or self._cursor(data["time"])
            rows = data["QueryResponse"].get(entity, [])
            if len(rows) < MAX_PAGE:
                yield Page(rows, cursor)
                return
            yield Page(rows, None)
            start += len(rows)

    def _too_old(self, since: str) -> bool:
        """Whether a cursor is past CDC's 30 days by our clock (QBO's refusal is the final word)."""
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            return False
        if moment.tzinfo is None:
            return False
        return moment.timestamp() < self.wall() - CDC_WINDOW

    def _read_changes(self, entity: str, since: str) -> Iterator[Page]:
        """What changed since the cursor, and the records a file was attached to since (a QBO
        Attachable is a record of its own: attaching one leaves its transaction as it was)."""
        entities = entity if entity == "Attachable" else f"{entity},Attachable"
        data = self._json("GET", "cdc", params={"entities": entities, "changedSince": since}, safe=True)
        cursor = self._cursor(data["time"])
        groups = data["CDCResponse"][0]["QueryResponse"] if data.get("CDCResponse") else []
        rows = [r for group in groups for r in group.get(entity, [])]
        if entity != "Attachable":
            rows += self._with_new_files(entity, rows, [r for group in groups for r in group.get("Attachable", [])])
        if len(rows) < CDC_CAP:
            yield Page(rows, cursor)
            return
        # Truncated: CDC has no paging, so page the changed records through /query instead.
        # Deletions are not in query results; the next CDC from the new cursor reports them.
        where = Where().op("MetaData.LastUpdatedTime", ">=", since)
        records = list(self.find(entity, where, include_inactive=True))
        stubs = [r for r in rows if r.get("status") == "Deleted"]
        yield Page(records + stubs, cursor)

    def _with_new_files(self, entity: str, rows: list[Record], attachables: list[Record]) -> list[Record]:
        """The records of `entity` that changed Attachables point at, other than `rows`."""
        have = {str(r.get("Id")) for r in rows}
        wanted: list[str] = []
        for a in attachables:
            for ref in a.get("AttachableRef") or []:
                target = ref.get("EntityRef") or {}
                record_id = str(target.get("value") or "")
                if target.get("type", target.get("Type")) == entity and record_id and record_id not in have:
                    have.add(record_id)
                    wanted.append(record_id)
        found = (self.get(entity, record_id) for record_id in wanted)
        return [r for r in found if r is not None]

    def get(self, entity: str, record_id: str, *, scope: Mapping[str, Any] | None = None) -> Record | None:
        entity = ents.canonical(entity)
        try:
            data = self._json("GET", f"{ents.segment(entity)}/{record_id}", safe=True, reading=True)
        except errors.QBONotFound:
            return None
        return data[entity]

    def get_many(self, entity: str, record_ids: Sequence[str]) -> dict[str, Record]:
        """Many records by id, `IN_CHUNK` ids per query (inactive names too)."""
        entity = ents.canonical(entity)
        ids = list(dict.fromkeys(str(i) for i in record_ids if str(i).isdigit()))
        found: dict[str, Record] = {}
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ", ".join(f"'{i}'" for i in ids[start : start + IN_CHUNK])
            where = Where().raw(f"Id IN ({chunk})")
            for record in self.find(entity, where, include_inactive=True):
                found[str(record["Id"])] = record
        return found

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
        """Create with `requestid` derived from `idempotency_key`: a repeat returns the first result.
        (QBO marks no record as synced: `synced` changes nothing.)

        Files are attached after the create (`attach_file`): a QBO create carries none."""
        if attachments:
            raise errors.QBORejected(
                "a QuickBooks create carries no files", system="qbo", hint="attach them once the record exists"
            )
        entity = ents.canonical(entity)
        record = self._write(entity, payload, request_id(idempotency_key), scope and scope.get("params"))
        self._created[idempotency_key] = (entity, str(record["Id"]))
        return record

    def find_created(
        self, entity: str, idempotency_key: str, *, scope: Mapping[str, Any] | None = None
    ) -> Record | None:
        """The record this connector created under the key, read fresh.

        QBO has no lookup by `requestid`; across processes, call `create` again with the same
        key instead: QBO replays the first response, so it never makes a second record.
        """
        found = self._created.get(idempotency_key)
        return self.get(found[0], found[1]) if found else None

    def update(
        self,
        entity: str,
        record_id: str,
        payload: Record,
        *,
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record:
        """Sparse update with the current SyncToken; 5010 raises `QBOStaleObject` with the fresh record."""
        entity = ents.canonical(entity)
        if current is None or str(current.get("Id")) != str(record_id):
            current = self.get(entity, record_id)
            if current is None:
                raise errors.QBONotFound(f"{entity} {record_id} does not exist", system="qbo", api_code="610")
        body = self._update_body(entity, record_id, payload, current)
        return self._guarded(entity, record_id, lambda: self._write(entity, body, str(uuid.uuid4())))

    @staticmethod
    def _update_body(entity: str, record_id: str, payload: Record, current: Record) -> Record:
        body = {**payload, "Id": str(record_id), "SyncToken": str(current["SyncToken"]), "sparse": True}
        if entity == "Purchase":
            body.setdefault("PaymentType", current.get("PaymentType"))
        return body

    def keep_reads(self, snapshot: ReadSnapshot | None) -> None:
        """QBO keeps no list between reads: a query brings a thousand records and a realm allows
        500 requests a minute, so reading again is cheaper than the risk of a stale answer."""

    def update_many(self, entity: str, items: Sequence[tuple[str, Record, Record]]) -> list[Record | ConnectorError]:
        """Sparse updates of `(id, payload, current)`, thirty to a `/batch` request; each item's
        record or error, in order. A stale item (5010) is a `Conflict` without the fresh record:
        update it alone (`update` re-reads it)."""
        entity = ents.canonical(entity)
        ops = [
            BatchOp("update", entity, self._update_body(entity, rid, payload, current))
            for rid, payload, current in items
        ]
        answers: list[Record | ConnectorError] = []
        for result in self.batch(ops):
            if result.record is not None:
                answers.append(result.record)
            else:
                answers.append(
                    result.error
                    or errors.QBOUnavailable(
                        "QuickBooks returned no record for this update", system="qbo", retryable=True
                    )
                )
        return answers

    def _guarded(self, entity: str, record_id: str, call: Callable[[], Record]) -> Record:
        try:
            return call()
        except errors.QBOStaleObject as exc:
            exc.current = self.get(entity, record_id)
            raise

    def delete(
        self,
        entity: str,
        record_id: str,
        *,
        mode: str = "delete",
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record | None:
        """delete | void | deactivate. Name lists cannot be deleted in QBO: they are made inactive;
        a purchase order, which QBO cannot void, is closed."""
        entity = ents.canonical(entity)
        if mode == "deactivate" or (mode == "delete" and ents.is_name_list(entity)):
            return self.update(entity, record_id, {"Active": False}, current=current)
        if mode == "void" and entity in ents.CLOSE:  # no void in QBO: closed keeps it, out of the open list
            return self.update(entity, record_id, dict(ents.CLOSE[entity]), current=current)
        if current is None or str(current.get("Id")) != str(record_id):
            current = self.get(entity, record_id)
            if current is None:
                return None
        body: dict[str, Any] = {"Id": str(record_id), "SyncToken": str(current["SyncToken"])}
        if mode == "delete":
            params = {"operation": "delete"}
        elif mode == "void" and entity in ents.VOID:
            operation, sparse = ents.VOID[entity]
            params = {"operation": operation, **({"include": "void"} if operation == "update" else {})}
            if sparse:
                body["sparse"] = True
        else:
            raise errors.QBORejected(
                f"QuickBooks cannot {mode} a {entity}",
                system="qbo",
                hint="Use on_delete: delete (or ignore) for this flow.",
            )
        try:
            return self._guarded(entity, record_id, lambda: self._write(entity, body, str(uuid.uuid4()), params))
        except errors.QBOInactiveReference:
            return None

    # -- batch and attachments --------------------------------------------------------------------

    def batch(self, ops: list[BatchOp], *, request_id: str | None = None) -> list[BatchResult]:
        """Run operations in batches of 30; one result per op, in order. One failed item fails alone.

        With `request_id` (at most 30 ops) the batch is idempotent: sent again with the same
        id, QBO replays its first answer, which is read back by each op's `bid`.
        """
        if request_id is not None and len(ops) > MAX_BATCH:
            raise ValueError(f"a batch with a request id holds at most {MAX_BATCH} operations")
        results: list[BatchResult] = []
        for offset in range(0, len(ops), MAX_BATCH):
            chunk = ops[offset : offset + MAX_BATCH]
            items = []
            for index, op in enumerate(chunk):
                item: dict[str, Any] = {"bId": op.bid or str(index + 1)}
                if op.operation == "query":
                    item["Query"] = op.query
                else:
                    item["operation"] = op.operation
                    item[ents.canonical(op.entity)] = op.payload or {}
                    if op.options:
                        item["optionsData"] = op.options
                items.append(item)
            rid = _derived_request_id(request_id) if request_id else str(uuid.uuid4())
            try:
                self.batch_bucket.acquire()
            except WaitTooLong as exc:
                raise self._halt(stopped_calling(exc, "QuickBooks", "qbo", errors.QBOThrottled)) from None
            data = self._json(
                "POST",
                "batch",
                params={"requestid": rid},
                content=dumps({"BatchItemRequest": items}),
                content_type="application/json",
                safe=True,
            )
            by_bid = {str(r.get("bId")): r for r in data.get("BatchItemResponse", [])}
            for index, op in enumerate(chunk):
                answer = by_bid.get(op.bid or str(index + 1), {})
                results.append(self._batch_result(op, answer))
        return results

    @staticmethod
    def _batch_result(op: BatchOp, answer: dict[str, Any]) -> BatchResult:
        if "Fault" in answer:
            raw = answer["Fault"].get("Error") or [{}]
            first = {k.lower(): str(v) for k, v in raw[0].items()}
            return BatchResult(op, error=errors.from_fault(first, None))
        if "QueryResponse" in answer:
            return BatchResult(op, query_response=answer["QueryResponse"])
        if op.entity and ents.canonical(op.entity) in answer:
            return BatchResult(op, record=answer[ents.canonical(op.entity)])
        return BatchResult(
            op,
            error=errors.QBOUnavailable(
                "QuickBooks returned no answer for this batch item", system="qbo", retryable=True
            ),
        )

    def upload(
        self,
        entity: str,
        record_id: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        note: str | None = None,
        idempotency_key: str | None = None,
    ) -> Record:
        """Attach a file to a record (POST /upload); returns the Attachable."""
        boundary = "joist-" + uuid.uuid4().hex
        meta: dict[str, Any] = {
            "FileName": filename,
            "ContentType": content_type,
            "AttachableRef": [{"EntityRef": {"type": ents.canonical(entity), "value": str(record_id)}}],
        }
        if note:
            meta["Note"] = note
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file_metadata_01"\r\n'
                f"Content-Type: application/json\r\n\r\n{dumps(meta)}\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file_content_01"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        rid = request_id(idempotency_key) if idempotency_key else str(uuid.uuid4())
        data = self._json(
            "POST",
            "upload",
            params={"requestid": rid},
            content=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            safe=True,
        )
        item = data["AttachableResponse"][0]
        if "Fault" in item:
            raw = item["Fault"].get("Error") or [{}]
            raise errors.from_fault({k.lower(): str(v) for k, v in raw[0].items()}, None)
        return item["Attachable"]

    def download(self, attachable_id: str) -> bytes:
        """The bytes of an attached file (through the short-lived link QBO hands out)."""
        link = self._call("GET", f"download/{attachable_id}", safe=True, reading=True).text.strip()
        request = self.http.build_request("GET", link)
        try:
            response = send_with_retries(self.http, request, safe_to_retry=True, policy=self.policy, sleep=self.sleep)
        except TRANSIENT_ERRORS as exc:
            raise errors.transport_failure(exc, request) from None
        if response.status_code != 200:
            raise errors.QBOUnavailable(
                f"the attachment link answered HTTP {response.status_code}",
                system="qbo",
                status=response.status_code,
                retryable=True,
            )
        return response.content

    def files(self, entity: str, record: Record) -> list[FileRef]:
        """The record's Attachables, each fetched through its download link."""
        return [
            FileRef(
                str(a["Id"]),
                a.get("FileName") or f"file-{a['Id']}",
                a.get("ContentType") or "application/octet-stream",
                partial(self.download, str(a["Id"])),
            )
            for a in self.attachments(entity, self.record_id(entity, record))
        ]

    def files_go_with_create(self) -> bool:
        return False  # an Attachable points at a transaction that already exists

    def files_in_record(self) -> bool:
        return False  # Attachables are records of their own: the feed reports their parents (`read`)

    def frozen(self, entity: str, record: Record) -> bool:
        return False  # QBO takes Attachables on any transaction, paid or closed

    def attach_file(self, entity: str, record_id: str, file: FileRef, content: bytes, *, idempotency_key: str) -> str:
        made = self.upload(
            entity, record_id, file.filename, content, file.content_type, idempotency_key=idempotency_key
        )
        return str(made["Id"])

    def sent_files(self, created: Record, files: list[FileRef]) -> list[tuple[FileRef, str]]:
        return []  # files never go with a QBO create

    def attachments(self, entity: str, record_id: str) -> list[Record]:
        """The Attachables linked to a record."""
        where = (
            Where()
            .eq("AttachableRef.EntityRef.Type", ents.canonical(entity))
            .eq("AttachableRef.EntityRef.value", str(record_id))
        )
        return list(self.find("Attachable", where))

    def close(self) -> None:
        self.http.close()
