"""The Procore endpoints that are not plain resource CRUD.

Companies and `/me`; line items nested under their contract, change order or direct cost;
the items of subcontractor invoices and owner invoices; attachment downloads (the API
host answers 302 to a storage host, which serves the bytes against a signed URL and, like
S3, refuses a request that also carries an `Authorization` header); and the webhooks API.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.procore import billing
from sandbox.procore.handlers import ApiError, Ctx, Handlers, View, _int, respond
from sandbox.procore.query import page_params, paginate
from sandbox.procore.resources import RESOURCES
from sandbox.procore.store import RecordNotFound, ValidationFailed

if TYPE_CHECKING:
    pass

Record = dict[str, Any]
LINE_HOLDERS = {
    "PrimeContract": "prime_contracts",
    "WorkOrderContract": "work_order_contracts",
    "PurchaseOrderContract": "purchase_order_contracts",
    "DirectCost": "direct_costs",
    "PrimeChangeOrder": "prime_change_orders",
    "CommitmentChangeOrder": "commitment_change_orders",
}


class Extras(Handlers):
    """Handlers for companies, line items, invoice items, files and webhooks."""

    # ---- companies and me -------------------------------------------------------------
    async def companies(self, ctx: Ctx, view: View) -> Response:
        rows = [c for c in self.store.companies.values() if c["id"] in self.box.installed_companies]
        page, per_page = page_params(ctx.request.query_params, 100)
        chunk, headers = paginate(sorted(rows, key=lambda c: c["id"]), ctx.request.url, page, per_page)
        return respond(chunk, headers=headers)

    async def me(self, ctx: Ctx, view: View) -> Response:
        user = self.store.tables["users"].get(ctx.grant.user_id) or {}
        name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
        return respond({"id": ctx.grant.user_id, "login": user.get("email_address"), "name": name})

    # ---- line items ---------------------------------------------------------------------
    def holder(self, ctx: Ctx, holder_type: str) -> Record:
        table = LINE_HOLDERS[holder_type]
        try:
            holder = self.store.get(table, ctx.path["holder_id"], company_id=ctx.company_id)
        except RecordNotFound:
            raise ApiError(404, {"errors": "Not Found"}) from None
        if ctx.param("project_id") not in (None, "") and holder.get("project_id") != self.project_id(ctx):
            raise ApiError(404, {"errors": "Not Found"})
        return holder

    def _line(self, ctx: Ctx, holder: Record, holder_type: str) -> Record:
        try:
            line = self.store.get("line_items", ctx.path["id"])
        except RecordNotFound:
            raise ApiError(404, {"errors": "Not Found"}) from None
        if line.get("holder_type") != holder_type or line.get("holder_id") != holder["id"]:
            raise ApiError(404, {"errors": "Not Found"})
        return line

    async def lines(self, ctx: Ctx, view: View) -> Response:
        holder_type = dict(view.fixed)["holder_type"]
        holder = self.holder(ctx, holder_type)
        rows = ctx.renderer.lines(holder_type, holder["id"])
        page, per_page = page_params(ctx.request.query_params, view.per_page)
        chunk, headers = paginate(rows, ctx.request.url, page, per_page)
        return respond([ctx.renderer.line_item(r) for r in chunk], headers=headers)

    async def project_lines(self, ctx: Ctx, view: View) -> Response:
        """All line items of one holder type in a project (`GET .../direct_costs/line_items`)."""
        holder_type = dict(view.fixed)["holder_type"]
        project_id = self.project_id(ctx)
        rows = sorted(
            self.store.rows("line_items", holder_type=holder_type, project_id=project_id), key=lambda r: r["id"]
        )
        page, per_page = page_params(ctx.request.query_params, view.per_page)
        chunk, headers = paginate(rows, ctx.request.url, page, per_page)
        return respond([ctx.renderer.line_item(r) for r in chunk], headers=headers)

    def _locked(self, holder_type: str, holder: Record) -> None:
        resource = RESOURCES[LINE_HOLDERS[holder_type]]
        if resource.lock_on_origin and holder.get("origin_id") is not None:
            raise ValidationFailed({"base": ["This record cannot be edited because it has been synced with ERP."]})
        if holder.get("status") in ("Approved", "Complete"):
            raise ValidationFailed({"base": ["The schedule of values of an approved contract cannot be changed."]})

    async def create_line(self, ctx: Ctx, view: View) -> Response:
        holder_type = dict(view.fixed)["holder_type"]
        holder = self.holder(ctx, holder_type)
        self._locked(holder_type, holder)
        data = ctx.body.get("line_item")
        if not isinstance(data, dict):
            raise ApiError(400, {"errors": {"line_item": ["is missing"]}})
        clean = self.store.coerce(RESOURCES["line_items"], dict(data))
        line = self.add_line(ctx, holder_type, holder, clean, len(self.store.children(holder_type, holder["id"])) + 1)
        self.store.touch(RESOURCES[LINE_HOLDERS[holder_type]], holder, ctx.source)
        return respond(ctx.renderer.line_item(line), 201)

    async def show_line(self, ctx: Ctx, view: View) -> Response:
        holder_type = dict(view.fixed)["holder_type"]
        return respond(ctx.renderer.line_item(self._line(ctx, self.holder(ctx, holder_type), holder_type)))

    async def update_line(self, ctx: Ctx, view: View) -> Response:
        holder_type = dict(view.fixed)["holder_type"]
        holder = self.holder(ctx, holder_type)
        self._locked(holder_type, holder)
        line = self._line(ctx, holder, holder_type)
        data = ctx.body.get("line_item")
        if not isinstance(data, dict):
            raise ApiError(400, {"errors": {"line_item": ["is missing"]}})
        self.store.update(RESOURCES["line_items"], line, dict(data), source=ctx.source)
        self.store.touch(RESOURCES[LINE_HOLDERS[holder_type]], holder, ctx.source)
        return respond(ctx.renderer.line_item(line))

    async def delete_line(self, ctx: Ctx, view: View) -> Response:
        holder_type = dict(view.fixed)["holder_type"]
        holder = self.holder(ctx, holder_type)
        self._locked(holder_type, holder)
        line = self._line(ctx, holder, holder_type)
        self.store.delete(RESOURCES["line_items"], line, source=ctx.source)
        self.store.touch(RESOURCES[LINE_HOLDERS[holder_type]], holder, ctx.source)
        return Response(status_code=204)

    # ---- invoice items ------------------------------------------------------------------
    def _bill(self, ctx: Ctx, view: View) -> Record:
        if "bill_id" in ctx.path:
            return self.record(ctx, view, ctx.path["bill_id"])
        for bill in self.store.rows(view.resource, company_id=ctx.company_id):
            if any(str(i["id"]) == ctx.path["id"] for i in bill.get("items") or []):
                return bill
        raise ApiError(404, {"errors": "Not Found"})

    async def bill_items(self, ctx: Ctx, view: View) -> Response:
        bill = self._bill(ctx, view)
        shown = ctx.renderer.render(RESOURCES[view.resource], bill, "show")
        return respond(shown.get("items") or shown.get("g703") or [])

    async def update_bill_item(self, ctx: Ctx, view: View) -> Response:
        resource = RESOURCES[view.resource]
        bill = self._bill(ctx, view)
        if bill.get("origin_id") is not None:
            raise ValidationFailed({"base": ["This invoice is not editable because it has been synced with ERP."]})
        root = "requisition_item" if resource.name == "requisitions" else "payment_application_line_item"
        data = ctx.body.get(root) or ctx.body.get("item")
        if not isinstance(data, dict):
            raise ApiError(400, {"errors": {root: ["is missing"]}})
        item = next((i for i in bill.get("items") or [] if str(i["id"]) == ctx.path["id"]), None)
        if item is None:
            raise ApiError(404, {"errors": "Not Found"})
        try:
            item.update(billing.coerce_item_changes(data))
        except ArithmeticError:
            raise ValidationFailed({"base": ["amounts must be numbers"]}) from None
        self.store.touch(resource, bill, ctx.source)
        shown = ctx.renderer.render(resource, bill, "show")
        items = shown.get("items") or shown.get("g703") or []
        return respond(next(i for i in items if str(i["id"]) == ctx.path["id"]))

    # ---- files --------------------------------------------------------------------------
    def signature(self, file_id: int, expires: int) -> str:
        return hmac.new(self.box.storage_key, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    async def download(self, ctx: Ctx, view: View) -> Response:
        file_id = _int(ctx.path["id"], "id")
        if file_id not in self.store.files:
            raise ApiError(404, {"errors": "Not Found"})
        expires = int(self.box.control.clock.now()) + 600
        url = ctx.request.url
        other = "localhost" if url.hostname != "localhost" else "127.0.0.1"
        netloc = f"{other}:{url.port}" if url.port else other
        target = (
            f"{url.scheme}://{netloc}/_storage/{file_id}?expires={expires}&signature={self.signature(file_id, expires)}"
        )
        return RedirectResponse(target, status_code=302)

    async def storage(self, request: Request) -> Response:
        """The storage host: signed URLs only; an Authorization header is refused (400)."""
        if "authorization" in request.headers:
            return JSONResponse(
                {"error": "InvalidArgument", "message": "Only one auth mechanism allowed"}, status_code=400
            )
        try:
            file_id = int(request.path_params["file_id"])
            expires = int(request.query_params.get("expires", "0"))
        except ValueError:
            return JSONResponse({"error": "AccessDenied"}, status_code=403)
        good = hmac.compare_digest(self.signature(file_id, expires), request.query_params.get("signature", ""))
        if not good or expires < self.box.control.clock.now() or file_id not in self.store.files:
            return JSONResponse({"error": "AccessDenied"}, status_code=403)
        filename, content_type, content = self.store.files[file_id]
        return Response(
            content, media_type=content_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )

    # ---- webhooks -----------------------------------------------------------------------
    def _scope(self, ctx: Ctx) -> int | None:
        return self.project_id(ctx) if ctx.param("project_id") not in (None, "") else None

    def _hook(self, ctx: Ctx, key: str = "id") -> Record:
        hook = self.box.webhooks.hooks.get(_int(ctx.path[key], key))
        if hook is None or hook["_company_id"] != ctx.company_id:
            raise ApiError(404, {"errors": "Not Found"})
        return hook

    async def hooks(self, ctx: Ctx, view: View) -> Response:
        project_id = self._scope(ctx)
        namespace = ctx.request.query_params.get("namespace", "*")
        rows = [
            h
            for h in self.box.webhooks.hooks.values()
            if h["_company_id"] == ctx.company_id
            and h["owned_by_project_id"] == project_id
            and namespace in ("*", h["namespace"])
        ]
        return respond([self.box.webhooks.public(h) for h in rows])

    async def create_hook(self, ctx: Ctx, view: View) -> Response:
        data = ctx.body.get("hook")
        if not isinstance(data, dict) or not data.get("destination_url"):
            raise ValidationFailed({"destination_url": ["can't be blank"]})
        namespace = str(data.get("namespace") or "")
        if not namespace or any(c not in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in namespace):
            raise ValidationFailed({"namespace": ["is invalid"]})
        hook = self.box.webhooks.create_hook(data, ctx.company_id, self._scope(ctx), ctx.grant.user_id)
        if self.box.deliver_webhooks:
            self.box.webhooks.start()
        return respond(self.box.webhooks.public(hook), 201)

    async def show_hook(self, ctx: Ctx, view: View) -> Response:
        return respond(self.box.webhooks.public(self._hook(ctx)))

    async def update_hook(self, ctx: Ctx, view: View) -> Response:
        hook = self._hook(ctx)
        for key in ("destination_url", "destination_headers", "namespace", "api_version"):
            if key in (ctx.body.get("hook") or {}):
                hook[key] = ctx.body["hook"][key]
        return respond(self.box.webhooks.public(hook))

    async def delete_hook(self, ctx: Ctx, view: View) -> Response:
        self.box.webhooks.delete_hook(self._hook(ctx)["id"])
        return Response(status_code=204)

    async def triggers(self, ctx: Ctx, view: View) -> Response:
        hook = self._hook(ctx, "hook_id")
        return respond([t for t in self.box.webhooks.triggers.values() if t["webhook_hook_id"] == hook["id"]])

    async def create_trigger(self, ctx: Ctx, view: View) -> Response:
        hook = self._hook(ctx, "hook_id")
        data = ctx.body.get("trigger")
        if not isinstance(data, dict) or data.get("resource_name") not in self.box.webhook_resources():
            raise ValidationFailed({"resource_name": ["is not included in the list"]})
        if str(data.get("event_type", "")).lower() not in ("create", "update", "delete"):
            raise ValidationFailed({"event_type": ["is not included in the list"]})
        return respond(self.box.webhooks.create_trigger(hook["id"], data, ctx.grant.user_id), 201)

    async def delete_trigger(self, ctx: Ctx, view: View) -> Response:
        hook = self._hook(ctx, "hook_id")
        trigger = self.box.webhooks.triggers.get(_int(ctx.path["id"], "id"))
        if trigger is None or trigger["webhook_hook_id"] != hook["id"]:
            raise ApiError(404, {"errors": "Not Found"})
        self.box.webhooks.triggers.pop(trigger["id"])
        return Response(status_code=204)

    async def deliveries(self, ctx: Ctx, view: View) -> Response:
        hook = self._hook(ctx, "hook_id")
        query = ctx.request.query_params
        status = query.get("filters[status]") or query.get("filter[status]") or "any"
        rows = self.box.webhooks.list_deliveries(hook["id"], status)
        start = query.get("page_start")
        if start:
            rows = [r for r in rows if r["id"] > _int(start, "page_start")]
        return respond(rows[: _int(query.get("page_size", 100), "page_size")])

    async def resources(self, ctx: Ctx, view: View) -> Response:
        return respond(
            [{"name": name, "events": ["create", "update", "delete"]} for name in self.box.webhook_resources()]
        )
