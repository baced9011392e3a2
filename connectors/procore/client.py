"""`ProcoreConnector`: Joist's only way to talk to Procore (REST v1.x, synchronous httpx).

Every call carries the bearer token and the `Procore-Company-Id` header. Lists are read
page by page, following `Link: rel="next"` (rebuilt from the original parameters plus the
next page number, so nothing Procore drops from the link is lost). Incremental reads ask
for `filters[updated_at]` from the cursor minus an overlap; the last page's cursor is the
newest `updated_at` seen. Project-scoped entities read without a scope are read across
every project of the company (inactive ones too), and each record gets its `project_id` and
`project_number` (so a rule can name things after the project without reading it).

Pacing: `X-Rate-Limit-Remaining: 0` pauses the client until `X-Rate-Limit-Reset`; 429 and
5xx back off through `connectors.http.send_with_retries` (honouring `Retry-After`).
Writes are in `writes.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from connectors.base import (
    Attachment,
    AuthError,
    BatchOp,
    BatchResult,
    ConnectorError,
    Credentials,
    FileRef,
    Page,
    RateLimited,
    Rejected,
    Unavailable,
    stopped_calling,
)
from connectors.http import (
    TRANSIENT_ERRORS,
    CircuitBreaker,
    CircuitOpen,
    RetryPolicy,
    Sleep,
    TokenBucket,
    WaitTooLong,
    send_with_retries,
    unreachable,
)
from connectors.procore.auth import ProcoreAuth
from connectors.procore.entities import COMPANY_LISTS, ENTITIES, V1, Entity, catalog, typed
from connectors.procore.errors import SYSTEM, error_for
from connectors.procore.writes import ProcoreWriter, encode_json
from connectors.snapshot import ReadSnapshot, snapshot_key
from connectors.tokens import TokenStore

Record = dict[str, Any]
#: What Procore locks once it carries an origin_id ("synced with ERP"): no edits, no files.
LOCKED_ON_ORIGIN = frozenset(
    {"direct_costs", "requisitions", "payment_applications", "prime_contract_payments", "commitment_payments"}
)
VOID = "Void"  # the status of a voided commitment: it counts as deleted
VOLATILE = frozenset({"updated_at", "created_at"})  # change without an edit: left out of hashes
ID_CHUNK = 100  # ids per `filters[id][]` read of get_many
BULK_THRESHOLD = 20  # more records than this in a page: read the project's line items in bulk


def _rows(text: str) -> list[Record]:
    """The rows of one list page (a bare array, or `{"data": [...]}`), money as Decimal."""
    rows = json.loads(text, parse_float=Decimal)
    if not isinstance(rows, list):
        rows = rows.get("data", []) if isinstance(rows, dict) else []
    return rows


def _order(order: Record) -> Record:
    """A change order as a contract's show view lists it."""
    return {k: order.get(k) for k in ("id", "number", "title", "status", "executed", "grand_total")}


def _parse_time(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def next_page(link_header: str | None) -> int | None:
    """The page number of the `rel="next"` entry of a `Link` header, if there is one."""
    for part in (link_header or "").split(","):
        if 'rel="next"' in part and "<" in part:
            url = part[part.index("<") + 1 : part.index(">")]
            page = parse_qs(urlparse(url).query).get("page")
            if page:
                return int(page[0])
    return None


class ProcoreConnector:
    """The Procore side of Joist (`connectors.base.Connector`)."""

    system = "procore"

    def __init__(
        self,
        base_url: str,
        company_id: int | str,
        credentials: Credentials,
        token_store: TokenStore,
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        login_url: str | None = None,
        per_page: int = 1000,
        overlap: float = 300.0,
        policy: RetryPolicy | None = None,
        token_key: str | None = None,
        rate_limit_wait: float = 900.0,
        outage_after: int = 3,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.company_id = str(company_id)
        self._owns_client = client is None
        self.client = client or httpx.Client(base_url=self.base_url, transport=transport, timeout=30.0)
        self.sleep = sleep
        self.now = now
        self.wall = wall
        self.per_page = per_page
        self.overlap = overlap
        self.policy = policy or RetryPolicy()
        self.bucket = bucket or TokenBucket(  # a bucket shared with other processes may be given (serve.ratelimit)
            1000.0, 1.0, 1000.0, now=now, sleep=sleep, max_wait=rate_limit_wait, wall=wall, name="Procore"
        )
        self.breaker = CircuitBreaker(outage_after)
        self.halted: ConnectorError | None = None  # why this run stopped calling Procore
        self.auth = ProcoreAuth(
            login_url or self.base_url,
            credentials,
            token_store,
            token_key or f"procore:{self.company_id}",
            self.client,
            wall=wall,
            sleep=sleep,
            policy=self.policy,
            breaker=self.breaker,
        )
        self.requests = 0
        self.snapshot: ReadSnapshot | None = None  # lists kept between reads (set by onboarding)
        self.project_numbers: dict[int, str | None] = {}
        self.writer = ProcoreWriter(self)

    # ---- Connector protocol basics ------------------------------------------------------
    def entities(self) -> list[str]:
        return list(ENTITIES)

    def record_id(self, entity: str, record: Record) -> str:
        return str(record["id"])

    def is_deleted(self, entity: str, record: Record) -> bool:
        """A soft-deleted record (`deleted_at` set), or a commitment voided (status `Void`)."""
        if record.get("deleted_at"):
            return True
        spec = ENTITIES.get(entity)
        return spec is not None and spec.void_status == VOID and record.get("status") == VOID

    def is_system_line(self, entity: str, item: Any) -> bool:
        return False  # Procore adds no lines of its own

    def volatile_fields(self, entity: str) -> frozenset[str]:
        return VOLATILE

    def batch_size(self) -> int:
        return 1  # Procore's REST API takes one record per create

    def batch(self, ops: list[BatchOp], *, request_id: str | None = None) -> list[BatchResult]:
        """Refused: Procore has no batch endpoint for the records Joist writes (`batch_size` is 1)."""
        raise Rejected("Procore takes one create per request", system=SYSTEM, hint="write the records one by one")

    def record_version(self, entity: str, record: Record) -> str | None:
        return record.get("updated_at") or (str(record["id"]) if entity == "companies" else None)

    def spec(self, entity: str) -> Entity:
        try:
            return ENTITIES[entity]
        except KeyError:
            from connectors.base import NotFound
            from engine.errors import suggest

            near = suggest(entity, ENTITIES)
            raise NotFound(
                f"Procore has no entity {entity!r} in Joist's catalogue",
                system=SYSTEM,
                hint=f"did you mean {near[0]!r}?" if near else None,
            ) from None

    # ---- transport ----------------------------------------------------------------------
    def _observe(self, response: httpx.Response) -> None:
        self.requests += 1
        remaining, reset = response.headers.get("X-Rate-Limit-Remaining"), response.headers.get("X-Rate-Limit-Reset")
        if remaining is None or reset is None:
            return
        try:
            if int(remaining) <= 0 or response.status_code == 429:
                wait = float(reset) - self.wall()
                if wait > 0:
                    self.bucket.pause_until(self.now() + wait)
        except ValueError:
            return

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: list[tuple[str, Any]] | None = None,
        safe: bool = True,
    ) -> httpx.Response:
        """One API call with auth, the company header, pacing and retries (when `safe`).

        Once Procore failed `outage_after` connections in a row (`Outage`), or its rate
        limit resets later than `rate_limit_wait` (`RateLimited`), every further call of
        the run raises at once; `halted` keeps the reason for the run's report.
        """
        if method != "GET" and self.snapshot is not None:
            self.snapshot.forget(path)
        try:
            return self._send(method, path, params=params, json=json, files=files, safe=safe)
        except (CircuitOpen, WaitTooLong) as exc:
            raise self._halt(stopped_calling(exc, "Procore", SYSTEM, RateLimited)) from None

    def _halt(self, error: ConnectorError) -> ConnectorError:
        if self.halted is None:
            self.halted = error
        return error

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        files: list[tuple[str, Any]] | None,
        safe: bool,
    ) -> httpx.Response:
        for attempt in (1, 2):
            token = self.auth.token()
            headers = {
                "Authorization": f"Bearer {token}",
                "Procore-Company-Id": self.company_id,
                "Accept": "application/json",
            }
            content = None
            if json is not None:
                content = encode_json(json)
                headers["Content-Type"] = "application/json"
            request = self.client.build_request(
                method, path, params=params, content=content, files=files, headers=headers
            )
            try:
                response = send_with_retries(
                    self.client,
                    request,
                    safe_to_retry=safe,
                    policy=self.policy,
                    bucket=self.bucket,
                    sleep=self.sleep,
                    on_response=self._observe,
                    breaker=self.breaker,
                )
            except TRANSIENT_ERRORS as exc:
                message, hint = unreachable("Procore", request, exc)
                raise Unavailable(message, system=SYSTEM, retryable=True, hint=hint) from None
            if response.status_code == 401 and attempt == 1:
                self.auth.invalidate(token)
                continue
            return response
        return response

    def call(self, method: str, path: str, *, entity: str | None = None, action: str = "read", **options: Any) -> Any:
        """`send`, then the decoded JSON body (numbers as Decimal), or the typed error."""
        response = self.send(method, path, **options)
        if response.status_code >= 400:
            raise error_for(response, entity=entity, action=action)
        if response.status_code == 204 or not response.content:
            return None
        return response.json(parse_float=Decimal)

    def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, entity: str | None = None
    ) -> Iterator[list[Record]]:
        """Every page of a list endpoint, following `Link: rel="next"`."""
        base = {k: v for k, v in (params or {}).items() if v is not None}
        snapshot, key = self.snapshot, snapshot_key(path, base)
        kept = snapshot.pages(key) if snapshot is not None else None
        if kept is not None:
            for text in kept:
                yield _rows(text)
            return
        texts: list[str] = []
        page = 1
        while True:
            response = self.send("GET", path, params={**base, "page": page, "per_page": self.per_page})
            if response.status_code >= 400:
                raise error_for(response, entity=entity, action="read")
            texts.append(response.text)
            rows = _rows(response.text)
            yield rows
            following = next_page(response.headers.get("Link"))
            if following is None:
                total = response.headers.get("Total")
                if not (total and total.isdigit() and page * self.per_page < int(total) and rows):
                    break
                following = page + 1
            if following <= page:
                break
            page = following
        if snapshot is not None:
            snapshot.keep(key, texts)

    # ---- reads --------------------------------------------------------------------------
    def project_ids(self, scope: Mapping[str, Any] | None = None) -> list[int]:
        """The project of `scope`, or every project of the company (inactive ones too)."""
        if scope and scope.get("project_id"):
            return [int(scope["project_id"])]
        ids: list[int] = []
        for rows in self.pages(
            f"{V1}/projects", {"company_id": self.company_id, "filters[by_status]": "All"}, entity="projects"
        ):
            ids.extend(int(r["id"]) for r in rows)
            self.project_numbers.update({int(r["id"]): r.get("project_number") for r in rows})
        return ids

    def project_number(self, project_id: int | None) -> str | None:
        """The `project_number` of a project (read with the project list once, then remembered)."""
        if project_id is None:
            return None
        if int(project_id) not in self.project_numbers:
            self.project_ids()
        return self.project_numbers.get(int(project_id))

    def _since(self, spec: Entity, since: str | None) -> dict[str, str]:
        if not since or not spec.incremental:
            return {}
        low = _parse_time(since) - dt.timedelta(seconds=self.overlap)
        high = dt.datetime.fromtimestamp(self.wall(), dt.UTC) + dt.timedelta(days=1)
        return {"filters[updated_at]": f"{_iso(low)}...{_iso(high)}"}

    def _dates(self, spec: Entity) -> dict[str, str]:
        if not spec.dated:
            return {}
        today = dt.datetime.fromtimestamp(self.wall(), dt.UTC).date()
        return {"start_date": "2000-01-01", "end_date": (today + dt.timedelta(days=366)).isoformat()}

    def _params(self, spec: Entity, project_id: int | None, extra: Mapping[str, str]) -> dict[str, Any]:
        params = {k: v.format(company_id=self.company_id, project_id=project_id) for k, v in spec.list_params.items()}
        return {**params, **self._dates(spec), **extra}

    def _raw_pages(
        self, spec: Entity, scope: Mapping[str, Any] | None, extra: Mapping[str, str]
    ) -> Iterator[tuple[list[Record], int | None]]:
        if spec.scope in ("global", "company"):
            for path in (spec.list, *spec.extra_lists):
                for rows in self.pages(
                    path.format(company_id=self.company_id), self._params(spec, None, extra), entity=spec.name
                ):
                    yield rows, None
            return
        if spec.company_list and not (scope and scope.get("project_id")):
            path = COMPANY_LISTS[spec.name].format(company_id=self.company_id)
            for rows in self.pages(path, {**self._dates(spec), **extra}, entity=spec.name):
                yield rows, None
            return
        for project_id in self.project_ids(scope):
            if spec.contracts:
                for kind in spec.contracts:
                    contract = ENTITIES[kind]
                    for contracts in self.pages(contract.list, {"project_id": project_id}, entity=kind):
                        for row in contracts:
                            params = {**self._params(spec, project_id, extra), "contract_id": row["id"]}
                            for rows in self.pages(spec.list, params, entity=spec.name):
                                yield rows, project_id
                continue
            path = spec.list.format(company_id=self.company_id, project_id=project_id)
            for rows in self.pages(path, self._params(spec, project_id, extra), entity=spec.name):
                yield rows, project_id

    def read(self, entity: str, *, since: str | None = None, scope: Mapping[str, Any] | None = None) -> Iterator[Page]:
        """Every record of `entity` (changed since `since`), page by page; see the module docstring."""
        spec = self.spec(entity)
        newest = since
        held: list[Record] | None = None
        cache: dict[Any, dict[Any, list[Record]]] | None = (
            {} if (spec.bulk_lines or spec.orders) and not since else None
        )
        for rows, project_id in self._raw_pages(spec, scope, self._since(spec, since)):
            records = self.complete(spec, rows, project_id, cache)
            for record in records:
                stamp = record.get("updated_at")
                if isinstance(stamp, str) and (newest is None or _parse_time(stamp) > _parse_time(newest)):
                    newest = stamp
            if held is not None:
                yield Page(held, cursor=since)
            held = records
        yield Page(held or [], cursor=newest)

    def _project_lines(
        self, spec: Entity, project_id: int | None, cache: dict[Any, dict[Any, list[Record]]] | None
    ) -> dict[Any, list[Record]]:
        """Every line item of a project, by holder id (read once per project and read call)."""
        if cache is not None and project_id in cache:
            return cache[project_id]
        grouped: dict[Any, list[Record]] = {}
        for page in self.pages(spec.bulk_lines.format(project_id=project_id), entity=spec.name):  # type: ignore[union-attr]
            for line in page:
                grouped.setdefault((line.get("holder") or {}).get("id"), []).append(line)
        if cache is not None:
            cache[project_id] = grouped
        return grouped

    def complete(
        self,
        spec: Entity,
        rows: list[Record],
        project_id: int | None,
        cache: dict[Any, dict[Any, list[Record]]] | None = None,
    ) -> list[Record]:
        """List rows as whole records: details, line items, `project_id`, Decimal money.

        `cache` (one per read) keeps a project's line items between pages of the same read."""
        if not rows:
            return []
        if spec.detail:
            rows = [
                self.call(
                    "GET",
                    spec.show.format(id=r["id"], project_id=project_id or self._pid(r)),  # type: ignore[union-attr]
                    params={"project_id": project_id or self._pid(r)},
                    entity=spec.name,
                )
                for r in rows
            ]
        if spec.bulk_lines and (cache is not None or len(rows) > BULK_THRESHOLD):
            lines = self._project_lines(spec, project_id, cache)
            for row in rows:
                row["line_items"] = lines.get(row["id"], [])
        elif spec.lines:
            for row in rows:
                path = spec.lines.format(id=row["id"], project_id=project_id or self._pid(row))
                row["line_items"] = [
                    li
                    for page in self.pages(path, {"project_id": project_id or self._pid(row)}, entity=spec.name)
                    for li in page
                ]
        if spec.orders:
            by_contract = (
                self._project_orders(spec, project_id, {} if cache is None else cache)
                if project_id is not None and (cache is not None or len(rows) > BULK_THRESHOLD)
                else None
            )
            for row in rows:
                if "change_order_packages" not in row:
                    row["change_order_packages"] = (
                        self._change_orders(spec, row, project_id)
                        if by_contract is None
                        else by_contract.get(row["id"], [])
                    )
        shape = catalog()[spec.name]["fields"]
        out = []
        for row in rows:
            record = typed(row, shape)
            if spec.scope == "project":
                record["project_id"] = project_id or self._pid(row)
                record["project_number"] = self.project_number(record["project_id"])
            out.append(record)
        return out

    def _change_orders(self, spec: Entity, row: Record, project_id: int | None) -> list[Record]:
        """A contract's change orders as its show view lists them (`change_order_packages`)."""
        pid = project_id or self._pid(row)
        path = spec.orders.format(project_id=pid)  # type: ignore[union-attr]
        return [
            _order(order)
            for page in self.pages(path, {"filters[contract_id]": row["id"]}, entity=spec.name)
            for order in page
        ]

    def _project_orders(
        self, spec: Entity, project_id: int, cache: dict[Any, dict[Any, list[Record]]]
    ) -> dict[Any, list[Record]]:
        """Every change order of a project, by contract id (one list per project and read call)."""
        key = ("orders", spec.orders, project_id)
        if key not in cache:
            grouped: dict[Any, list[Record]] = {}
            for page in self.pages(spec.orders.format(project_id=project_id), entity=spec.name):  # type: ignore[union-attr]
                for order in page:
                    grouped.setdefault(order.get("contract_id"), []).append(_order(order))
            cache[key] = grouped
        return cache[key]

    @staticmethod
    def _pid(row: Record) -> int | None:
        project = row.get("project")
        if isinstance(project, dict) and project.get("id") is not None:
            return int(project["id"])
        return row.get("project_id")

    def get(self, entity: str, record_id: str, *, scope: Mapping[str, Any] | None = None) -> Record | None:
        """One record by id (None when it does not exist or was deleted)."""
        spec = self.spec(entity)
        project_id = int(scope["project_id"]) if scope and scope.get("project_id") else None
        if (
            spec.show is None
            or spec.scope == "global"
            or spec.contracts
            or (spec.scope == "project" and project_id is None)
        ):
            return self.find_by(spec, {"filters[id][]": str(record_id)}, scope)
        path = spec.show.format(id=record_id, company_id=self.company_id, project_id=project_id)
        params = {"project_id": project_id} if spec.scope == "project" else {"company_id": self.company_id}
        response = self.send("GET", path, params=params)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise error_for(response, entity=entity, action="read")
        row = response.json(parse_float=Decimal)
        if row.get("deleted_at"):
            return None
        detail = Entity(**{**spec.__dict__, "detail": False})
        return self.complete(detail, [row], project_id)[0]

    def keep_reads(self, snapshot: ReadSnapshot | None) -> None:
        """Serve list pages from `snapshot` while set; a write drops what it touched (`pages`, `send`)."""
        self.snapshot = snapshot

    def update_many(self, entity: str, items: Sequence[tuple[str, Record, Record]]) -> list[Record | ConnectorError]:
        """Procore has no batch update: each `(id, payload, current)` is updated alone, in order."""
        answers: list[Record | ConnectorError] = []
        for record_id, payload, current in items:
            try:
                answers.append(self.update(entity, record_id, payload, current=current))
            except AuthError:
                raise
            except ConnectorError as exc:
                answers.append(exc)
        return answers

    def get_many(self, entity: str, record_ids: Sequence[str]) -> dict[str, Record]:
        """Company records by id through their list's `filters[id][]`, `ID_CHUNK` ids a read.

        Project records are not listed by id across projects: empty for them (ask `get`)."""
        spec = self.spec(entity)
        if spec.scope != "company" or spec.show is None:
            return {}
        ids = list(dict.fromkeys(str(i) for i in record_ids))
        found: dict[str, Record] = {}
        for start in range(0, len(ids), ID_CHUNK):
            for rows, project_id in self._raw_pages(spec, None, {"filters[id][]": ids[start : start + ID_CHUNK]}):  # type: ignore[dict-item]
                for record in self.complete(spec, rows, project_id):
                    if not self.is_deleted(entity, record):
                        found[str(record["id"])] = record
        return found

    def find_by(self, spec: Entity, filters: Mapping[str, str], scope: Mapping[str, Any] | None) -> Record | None:
        for rows, project_id in self._raw_pages(spec, scope, filters):
            if rows:
                return self.complete(spec, rows[:1], project_id)[0]
        return None

    def close(self) -> None:
        """Close the connection pool this connector opened (a client handed in stays open)."""
        if self._owns_client:
            self.client.close()

    # ---- writes and files: the writer this connector owns ---------------------------------
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
        """Create once per `idempotency_key` (see `connectors.procore.writes`)."""
        return self.writer.create(
            entity, payload, idempotency_key=idempotency_key, scope=scope, attachments=attachments, synced=synced
        )

    def find_created(
        self, entity: str, idempotency_key: str, *, scope: Mapping[str, Any] | None = None
    ) -> Record | None:
        return self.writer.find_created(entity, idempotency_key, scope=scope)

    def update(
        self,
        entity: str,
        record_id: str,
        payload: Record,
        *,
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record:
        return self.writer.update(entity, record_id, payload, current=current, scope=scope)

    def delete(
        self,
        entity: str,
        record_id: str,
        *,
        mode: str = "delete",
        current: Record | None = None,
        scope: Mapping[str, Any] | None = None,
    ) -> Record | None:
        return self.writer.delete(entity, record_id, mode=mode, current=current, scope=scope)

    def attach(
        self, entity: str, record_id: str, files: Sequence[Attachment], *, scope: Mapping[str, Any] | None = None
    ) -> Record:
        return self.writer.attach(entity, record_id, files, scope=scope)

    def download(self, url: str) -> bytes:
        return self.writer.download(url)

    def files(self, entity: str, record: Record) -> list[FileRef]:
        """The files Procore lists in the record itself (`attachments`), fetched through their URLs."""
        return [
            FileRef(
                str(a["id"]),
                a.get("filename") or a.get("name") or f"file-{a['id']}",
                a.get("content_type") or "application/octet-stream",
                partial(self.download, a["url"]),
            )
            for a in record.get("attachments") or []
            if a.get("url")
        ]

    def files_go_with_create(self) -> bool:
        return True  # invoices lock once they carry an origin_id: files must come with the create

    def files_in_record(self) -> bool:
        return True  # `attachments` in the record; adding one moves updated_at

    def frozen(self, entity: str, record: Record) -> bool:
        """Invoices, direct costs and payments with an `origin_id` refuse edits and files alike."""
        return entity in LOCKED_ON_ORIGIN and record.get("origin_id") not in (None, "")

    def attach_file(self, entity: str, record_id: str, file: FileRef, content: bytes, *, idempotency_key: str) -> str:
        current = self.get(entity, record_id) or {}
        before = {str(a["id"]) for a in current.get("attachments") or []}
        scope = {"project_id": current["project_id"]} if current.get("project_id") else None
        after = self.attach(entity, record_id, [(file.filename, content, file.content_type)], scope=scope)
        new = [str(a["id"]) for a in after.get("attachments") or [] if str(a["id"]) not in before]
        return new[0] if new else idempotency_key

    def sent_files(self, created: Record, files: list[FileRef]) -> list[tuple[FileRef, str]]:
        """Files sent with a create, matched to the attachments it came back with (by name, in order)."""
        waiting: dict[str, list[str]] = {}
        for a in created.get("attachments") or []:
            waiting.setdefault(a.get("filename") or a.get("name") or "", []).append(str(a["id"]))
        return [(f, waiting[f.filename].pop(0)) for f in files if waiting.get(f.filename)]
