"""Generic Procore REST handlers: list, show, create, update, delete and sync actions.

Each route names a `View` (which resource, how it is scoped, its paging default). The
handlers resolve the company (from the `Procore-Company-Id` header) and project (path,
query or body `project_id`), apply `filters[...]`, `sort` and paging, and answer with the
shapes `render.py` builds. Errors follow Rails: `{"errors": {field: [message]}}` with 422
for rule violations, 404 `{"errors": "Not Found"}` for records the caller cannot see.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.procore import billing
from sandbox.procore.access import Grant
from sandbox.procore.billing import BillingRenderer
from sandbox.procore.box import Box
from sandbox.procore.query import (
    apply_filters,
    deleted_filter,
    page_params,
    paginate,
    parse_filters,
    sort_rows,
)
from sandbox.procore.render import WBS_COST_CODE, WBS_COST_TYPE, WBS_SUB_JOB, dumps
from sandbox.procore.resources import RESOURCES, Resource
from sandbox.procore.store import RecordNotFound, ValidationFailed, parse_decimal

Record = dict[str, Any]
Rows = list[Record]  # spelt once here: inside `Handlers`, `list` is the list handler
Files = list[tuple[str, str, bytes]]
Filters = dict[str, list[str]]
FileIds = list[int]
SYNC_LIMIT = 1000
COMMITMENTS = {"WorkOrderContract": "work_order_contracts", "PurchaseOrderContract": "purchase_order_contracts"}


class ApiError(Exception):
    """Answer with this status and JSON body."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body


@dataclass(frozen=True)
class View:
    """How one route reaches a resource."""

    resource: str
    match: tuple[tuple[str, str], ...] = ()  # (stored field, path param) pairs the rows must match
    fixed: tuple[tuple[str, Any], ...] = ()  # (stored field, value) pairs the rows must match
    per_page: int = 100
    company_param: bool = False  # the endpoint defines a (required) company_id param
    company_wide: bool = False  # a company-level list of a project resource
    inactive_only: bool = False
    window: str | None = None  # "day" | "week": default date range of time lists
    roots: tuple[str, ...] = ()  # accepted body roots (default: the resource's root)
    view: str = "list"
    query_filters: tuple[str, ...] = ()  # plain query params that filter (contract_payments' contract_id)


@dataclass
class Ctx:
    """One authenticated API request."""

    request: Request
    box: Box
    grant: Grant
    company_id: int
    path: dict[str, str]
    body: Record
    files: list[tuple[str, str, bytes]]
    renderer: BillingRenderer
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> tuple[str, int]:
        return self.grant.client_id, self.grant.user_id

    def param(self, name: str) -> Any:
        if name in self.path:
            return self.path[name]
        if name in self.request.query_params:
            return self.request.query_params[name]
        return self.body.get(name) if isinstance(self.body, dict) else None


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, headers=headers, media_type="application/json")


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, {"errors": {name: ["is missing"] if value in (None, "") else ["is invalid"]}}) from None


class Handlers:
    """The generic handlers, bound to one sandbox."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self.store = box.store

    # ---- scope --------------------------------------------------------------------------
    def project_id(self, ctx: Ctx) -> int:
        pid = _int(ctx.param("project_id"), "project_id")
        try:
            self.store.get("projects", pid, company_id=ctx.company_id)
        except RecordNotFound:
            raise ApiError(404, {"errors": "Not Found"}) from None
        return pid

    def check_company_param(self, ctx: Ctx, view: View) -> None:
        if not view.company_param:
            return
        value = ctx.param("company_id")
        if value in (None, ""):
            raise ApiError(400, {"errors": {"company_id": ["is missing"]}})
        if _int(value, "company_id") != ctx.company_id:
            raise ApiError(403, {"errors": "App is not connected to this company"})

    def scoped_rows(self, ctx: Ctx, resource: Resource, view: View) -> list[Record]:
        if resource.scope == "project" and not view.company_wide:
            rows = self.store.rows(resource.name, project_id=self.project_id(ctx))
        else:
            self.check_company_param(ctx, view)
            rows = self.store.rows(resource.name, company_id=ctx.company_id)
        for stored, param in view.match:
            wanted = _int(ctx.path.get(param, ctx.param(param)), param)
            rows = [r for r in rows if r.get(stored) == wanted]
        for stored, value in view.fixed:
            rows = [r for r in rows if r.get(stored) == value]
        for name in view.query_filters:
            if ctx.request.query_params.get(name) not in (None, ""):
                wanted = _int(ctx.request.query_params[name], name)
                rows = [r for r in rows if r.get(name) == wanted]
        return rows

    def record(self, ctx: Ctx, view: View, record_id: Any) -> Record:
        resource = RESOURCES[view.resource]
        try:
            row = self.store.get(resource.name, record_id, company_id=ctx.company_id)
        except RecordNotFound:
            raise ApiError(404, {"errors": "Not Found"}) from None
        if resource.scope == "project" and ctx.param("project_id") not in (None, ""):
            if row.get("project_id") != self.project_id(ctx):
                raise ApiError(404, {"errors": "Not Found"})
        for stored, param in view.match:
            if row.get(stored) != _int(ctx.path.get(param, ctx.param(param)), param):
                raise ApiError(404, {"errors": "Not Found"})
        return row

    # ---- reads --------------------------------------------------------------------------
    async def list(self, ctx: Ctx, view: View) -> Response:
        resource = RESOURCES[view.resource]
        query = ctx.request.query_params
        rows = self.scoped_rows(ctx, resource, view)
        filters = parse_filters(query)
        rows = deleted_filter(rows, filters, resource)
        rows = self._active(rows, resource, filters, view)
        rows = self._window(rows, query, view)
        rows = apply_filters(rows, filters, resource, handled=frozenset({"active", "by_status"}))
        rows = sort_rows(rows, query.get("sort"))
        page, per_page = page_params(query, view.per_page)
        chunk, headers = paginate(rows, ctx.request.url, page, per_page)
        shape = str(query["view"]) if query.get("view") in ("extended", "items") else view.view
        return respond([ctx.renderer.render(resource, r, shape) for r in chunk], headers=headers)

    @staticmethod
    def _active(rows: Rows, resource: Resource, filters: Filters, view: View) -> Rows:
        key = resource.active_field
        if key is None:
            return rows
        if view.inactive_only:
            return [r for r in rows if not r.get(key)]
        status = (filters.get("by_status") or filters.get("active") or [""])[0]
        if status in ("All", "all"):
            return rows
        if status in ("Inactive", "inactive", "false"):
            return [r for r in rows if not r.get(key)]
        return [r for r in rows if r.get(key)]

    def _window(self, rows: Rows, query: Any, view: View) -> Rows:
        if view.window is None:
            return rows
        today = dt.datetime.fromtimestamp(self.box.control.clock.now(), dt.UTC).date()
        if "log_date" in query:
            start = end = query["log_date"]
        elif "start_date" in query or "end_date" in query:
            start, end = query.get("start_date", "0001-01-01"), query.get("end_date", "9999-12-31")
        elif view.window == "week":
            monday = today - dt.timedelta(days=today.weekday())
            start, end = monday.isoformat(), (monday + dt.timedelta(days=6)).isoformat()
        else:
            start = end = today.isoformat()
        return [r for r in rows if r.get("date") and start <= r["date"] <= end]

    async def show(self, ctx: Ctx, view: View) -> Response:
        row = self.record(ctx, view, ctx.path["id"])
        return respond(ctx.renderer.render(RESOURCES[view.resource], row, "show"))

    # ---- writes -------------------------------------------------------------------------
    def body_root(self, ctx: Ctx, resource: Resource, view: View) -> Record:
        for root in view.roots or (resource.root,):
            if isinstance(ctx.body.get(root), dict):
                ctx.extra["root"] = root
                return dict(ctx.body[root])
        raise ApiError(400, {"errors": {resource.root: ["is missing"]}})

    async def create(self, ctx: Ctx, view: View) -> Response:
        resource = RESOURCES[view.resource]
        data = self.body_root(ctx, resource, view)
        project_id = self.project_id(ctx) if resource.scope == "project" else None
        if resource.scope == "company":
            self.check_company_param(ctx, view)
        for stored, param in view.match:
            data[stored] = _int(ctx.path.get(param, ctx.param(param)), param)
        data.update(view.fixed)
        lines = data.pop("line_items", None)
        clean_lines = [self.store.coerce(RESOURCES["line_items"], dict(li)) for li in lines or []]
        self.prepare(ctx, resource, data, project_id)
        if ctx.files:
            data["attachment_ids"] = self.save_files(ctx.files)
        with self.store.lock:
            record = self.store.insert(
                resource, data, company_id=ctx.company_id, project_id=project_id, source=ctx.source
            )
            for n, line in enumerate(clean_lines):
                self.add_line(ctx, resource.holder_type or "", record, line, n + 1)
            self.after_create(resource, record)
        return respond(ctx.renderer.render(resource, record, "show"), 201)

    def add_line(self, ctx: Ctx, holder_type: str, holder: Record, line: Record, position: int | None = None) -> Record:
        if not holder_type:
            raise ApiError(422, {"errors": {"line_items": ["are not supported here"]}})
        if line.get("amount") is None and line.get("manual_amount") not in (None, ""):
            try:
                line["amount"] = parse_decimal(line.pop("manual_amount"))  # v1.1 direct cost lines
            except (ArithmeticError, ValueError):
                raise ValidationFailed({"manual_amount": ["is not a number"]}) from None
        line.pop("manual_amount", None)
        if line.get("amount") is None and line.get("quantity") is not None and line.get("unit_cost") is not None:
            line["amount"] = (line["quantity"] * line["unit_cost"]).quantize(Decimal("0.01"))
            line.setdefault("extended_type", "calculated")
        if line.get("amount") is None:
            raise ValidationFailed({"amount": ["can't be blank"]})
        line.setdefault("position", position)
        line.update(holder_type=holder_type, holder_id=holder["id"])
        return self.store.insert(
            RESOURCES["line_items"],
            line,
            company_id=ctx.company_id,
            project_id=holder.get("project_id"),
            source=ctx.source,
            coerce=False,
        )

    def save_files(self, files: Files) -> FileIds:
        ids = []
        for filename, content_type, content in files:
            file_id = self.store.new_id()
            self.store.files[file_id] = (filename, content_type, content)
            ids.append(file_id)
        return ids

    def prepare(self, ctx: Ctx, resource: Resource, data: Record, project_id: int | None) -> None:
        """Resource-specific request rules before a create or update."""
        if resource.name == "line_item_types":
            data.pop("code", None)  # the write key is csv_import_code; responses say code
            if "csv_import_code" in data:
                data["code"] = data.pop("csv_import_code")
        elif resource.name == "requisitions":
            if "commitment_id" not in data and ctx.param("commitment_id") is not None:
                data["commitment_id"] = _int(ctx.param("commitment_id"), "commitment_id")
            if "commitment_id" in data:
                data["commitment_id"], data["commitment_type"] = self._commitment(data["commitment_id"], project_id)
                data.setdefault("number", 1 + len(self.store.rows("requisitions", commitment_id=data["commitment_id"])))
        elif resource.name == "payment_applications" and "prime_contract_id" in data:
            data.setdefault(
                "number", 1 + len(self.store.rows("payment_applications", prime_contract_id=data["prime_contract_id"]))
            )
        elif resource.name == "contract_payments":
            if "contract_id" not in data and ctx.param("contract_id") is not None:
                data["contract_id"] = ctx.param("contract_id")
            if "contract_id" in data:
                data["contract_id"] = self._contract(data["contract_id"], project_id)
        elif resource.name in ("prime_change_orders", "commitment_change_orders") and "contract_id" in data:
            data["contract_id"] = self._contract(data["contract_id"], project_id)
        elif resource.name == "direct_costs":
            if (
                data.get("direct_cost_type") == "invoice"
                and not data.get("invoice_number")
                and ctx.extra.get("creating", True)
            ):
                raise ValidationFailed({"invoice_number": ["can't be blank"]})
        elif resource.name == "wbs_codes":
            self._wbs(data, project_id)
        for ref, table in (("vendor_id", "vendors"), ("cost_code_id", "cost_codes"), ("parent_id", resource.name)):
            if data.get(ref) not in (None, "") and resource.name in (
                "work_order_contracts",
                "purchase_order_contracts",
                "direct_costs",
                "prime_contracts",
                "cost_codes",
                "vendors",
                "timecard_entries",
            ):
                try:
                    self.store.get(table, data[ref], company_id=ctx.company_id)
                except RecordNotFound:
                    raise ValidationFailed({ref: ["is invalid"]}) from None
                data[ref] = int(data[ref])

    def _commitment(self, commitment_id: Any, project_id: int | None) -> tuple[int, str]:
        for holder, table in COMMITMENTS.items():
            try:
                self.store.get(table, commitment_id, project_id=project_id)
                return int(commitment_id), holder
            except RecordNotFound:
                continue
        raise ValidationFailed({"commitment_id": ["is invalid"]})

    def _contract(self, contract_id: Any, project_id: int | None) -> int:
        for table in ("prime_contracts", *COMMITMENTS.values()):
            try:
                self.store.get(table, contract_id, project_id=project_id)
                return int(contract_id)
            except RecordNotFound:
                continue
        raise ValidationFailed({"contract_id": ["is invalid"]})

    def _wbs(self, data: Record, project_id: int | None) -> None:
        # the segments of the company's pattern: sub job (optional, first), cost code, cost type
        keys = {WBS_SUB_JOB: "sub_job_id", WBS_COST_CODE: "cost_code_id", WBS_COST_TYPE: "line_item_type_id"}
        for item in data.pop("segment_items", None) or []:
            key = keys.get(int(item.get("segment_id", 0)))
            if key is None:
                raise ValidationFailed({"segment_items": ["is invalid"]})
            data[key] = int(item["segment_item_id"])
        try:
            code = self.store.get("cost_codes", data.get("cost_code_id"), project_id=project_id)
            kind = self.store.get("line_item_types", data.get("line_item_type_id"))
            job = None
            if data.get("sub_job_id") is not None:
                job = self.store.get("sub_jobs", data["sub_job_id"], project_id=project_id)
        except RecordNotFound:
            raise ValidationFailed({"segment_items": ["is invalid"]}) from None
        flat = f"{self.box.renderer_for('').cost_code_full(code)}.{kind.get('code')}"
        if job is not None:
            flat = f"{job.get('code') or job['id']}.{flat}"
        if self.store.rows("wbs_codes", project_id=project_id, flat_code=flat):
            raise ValidationFailed({"flat_code": ["has already been taken"]})
        data["flat_code"] = flat
        data.setdefault("flat_name", f"{code.get('name')}.{kind.get('name')}")
        data.setdefault("description", data["flat_name"])

    def after_create(self, resource: Resource, record: Record) -> None:
        if resource.name == "requisitions":
            record["items"] = billing.initial_items(self.store, record["commitment_type"], record["commitment_id"])
        elif resource.name == "payment_applications":
            record["items"] = billing.initial_items(self.store, "PrimeContract", record["prime_contract_id"])

    async def update(self, ctx: Ctx, view: View) -> Response:
        resource = RESOURCES[view.resource]
        row = self.record(ctx, view, ctx.path["id"])
        data = (
            {}
            if ctx.files and not any(isinstance(ctx.body.get(r), dict) for r in view.roots or (resource.root,))
            else self.body_root(ctx, resource, view)
        )
        data.pop("line_items", None)
        ctx.extra["creating"] = False
        self.prepare(ctx, resource, data, row.get("project_id"))
        if ctx.files:
            if resource.lock_on_origin and row.get("origin_id") is not None:
                raise ValidationFailed({"base": ["This record cannot be edited because it has been synced with ERP."]})
            data["attachment_ids"] = list(row.get("attachment_ids") or []) + self.save_files(ctx.files)
        self.store.update(resource, row, data, source=ctx.source)
        return respond(ctx.renderer.render(resource, row, "show"))

    async def delete(self, ctx: Ctx, view: View) -> Response:
        row = self.record(ctx, view, ctx.path["id"])
        self.store.delete(RESOURCES[view.resource], row, source=ctx.source)
        return Response(status_code=204)

    async def sync(self, ctx: Ctx, view: View) -> Response:
        """`PATCH .../sync`: up to 1,000 upserts matched by id or origin_id; always 200."""
        resource = RESOURCES[view.resource]
        updates = ctx.body.get("updates")
        if not isinstance(updates, list):
            raise ApiError(400, {"errors": {"updates": ["is missing"]}})
        if len(updates) > SYNC_LIMIT:
            raise ApiError(413, {"errors": f"A sync request takes at most {SYNC_LIMIT} updates."})
        project_id = self.project_id(ctx) if resource.scope == "project" else None
        if resource.scope == "company":
            self.check_company_param(ctx, view)
        entities, errors = [], []
        for item in updates:
            try:
                entities.append(self._sync_one(ctx, resource, dict(item), project_id))
            except ValidationFailed as exc:
                errors.append({**item, "errors": exc.errors})
        return respond({"entities": entities, "errors": errors})

    def _sync_one(self, ctx: Ctx, resource: Resource, item: Record, project_id: int | None) -> Record:
        with self.store.lock:
            row = None
            if item.get("id") is not None:
                try:
                    row = self.store.get(resource.name, item["id"], company_id=ctx.company_id, project_id=project_id)
                except RecordNotFound:
                    raise ValidationFailed({"id": ["Entity with this ID not found"]}) from None
                item.pop("id")
            elif item.get("origin_id") is not None:
                origin = self.store.coerce(resource, {"origin_id": item["origin_id"]})["origin_id"]
                row = self.store.find_origin(resource, ctx.company_id, origin)
                if row is not None and project_id is not None and row.get("project_id") != project_id:
                    row = None
            ctx.extra["creating"] = row is None
            self.prepare(ctx, resource, item, project_id)
            if row is None:
                row = self.store.insert(
                    resource, item, company_id=ctx.company_id, project_id=project_id, source=ctx.source
                )
            else:
                self.store.update(resource, row, item, source=ctx.source)
            return ctx.renderer.render(resource, row, "show")


def rails_nest(pairs: list[tuple[str, Any]]) -> Record:
    """Rails-style bracket keys (`item[line_items][][amount]`) as nested dicts and lists."""
    out: Record = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        tokens = [head] + (re.findall(r"([^\]]*)\]", "[" + rest) if rest else [])
        tokens = [t.lstrip("[") for t in tokens]
        _assign(out, tokens, value)
    return out


def _assign(container: Any, tokens: list[str], value: Any) -> None:
    token, rest = tokens[0], tokens[1:]
    if isinstance(container, list):
        if not rest:
            container.append(value)
            return
        if container and isinstance(container[-1], dict) and rest[0] not in container[-1]:
            target = container[-1]
        else:
            target = {}
            container.append(target)
        _assign(target, rest, value)
        return
    if not rest:
        container[token] = value
        return
    child = container.setdefault(token, [] if rest[0] == "" else {})
    _assign(child, rest, value)
