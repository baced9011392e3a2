"""The Procore sandbox: a local stand-in for Procore's REST API (v1.x) and OAuth server.

`create_sandbox()` builds it; `joist sandbox up procore` serves it on 127.0.0.1:8710.
Auth (`/oauth/...`), the API (`/rest/v1.x/...`) and the file storage host share one port;
downloads redirect from `127.0.0.1` to `localhost` (or back), a different origin, so a
client that forwards its bearer token to the storage host is caught (storage answers 400,
as S3 does for a request with two auth mechanisms).

Knobs (keyword options of `create_sandbox`): `strict_company_header` (default True; False
serves clients that send only a `company_id` parameter, as the PyPI `procore` client does),
`allow_refresh_reuse`, `hourly_limit` (3600), `spike_limit` (200) and `spike_window` (10 s),
`webhook_timeout` (5 s), `webhook_first_delay` (1 s), `deliver_webhooks` (background
delivery thread; tests may call `webhooks.pump()` instead), `seed` (demo company), `region`
(US, CA, UK or AU: the demo company's tax codes, sandbox/procore/regions.py).
Faults, the movable clock and the request log are `sandbox.control`'s, shared with QBO.

Decisions on what the reference leaves unconfirmed (§9):

- Missing `Procore-Company-Id` on a company-scoped call: 400 with
  `{"errors": "Missing Procore-Company-Id header! ..."}`. A company the app is not installed
  in: 403 `{"errors": "App is not connected to this company"}`.
- Invalid, expired or revoked access token: 401 `{"errors": "The access token is invalid"}`
  (or `... expired`) with a `WWW-Authenticate: Bearer` header. Token endpoint errors use
  Doorkeeper's `{"error", "error_description"}`: bad refresh token or code 400
  `invalid_grant` ("The refresh token is invalid"), unknown client 401 `invalid_client`.
  `/oauth/token/info` answers Doorkeeper's shape (`resource_owner_id`, `expires_in`,
  `application.uid`, `created_at`).
- 404 bodies are `{"errors": "Not Found"}`; validation and business rules 422
  `{"errors": {field: [message]}}`; bad parameters 400; a create reusing an `origin_id`
  of the same type in the same company 422 `{"errors": {"origin_id": ["has already been taken"]}}`;
  a sync of more than 1,000 updates 413.
- Paging: default `per_page` 100 (30 for a prime contract's payment applications), clamped
  at 2,000; a page past the end is `[]` with `Total`; `Link` URLs keep every query parameter.
- `...` ranges include both bounds (a date-only upper bound covers its whole day);
  `filters[id]` takes `[]` repeats or a comma list; unknown filters are ignored.
- `contract_payments` accepts prime contract and commitment ids; `contract_id` is an
  optional list filter. Line-item bodies accept numbers or strings for every amount.
- Record locking: a direct cost, requisition, payment application or contract payment
  with an `origin_id` refuses edits (other than `origin_data`) and deletes with 422.
- Webhook resource name for requisitions: `Requisitions`; tax codes send no webhooks;
  deliveries per hook are in order; `Idempotency-Token` headers are ignored (use origin_id).
- Departments have an `id`; payment application timestamps are datetimes; timecard
  `origin_id` is an integer (a non-numeric one is a 422).
- v2.0 paths answer 404 with the v2 error body: the connector stays on v1.x.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute

from sandbox.control import SandboxControl
from sandbox.procore.access import RATE_SENTENCE, OAuthServer, RateLimiter
from sandbox.procore.billing import BillingRenderer
from sandbox.procore.extras import Extras
from sandbox.procore.handlers import ApiError, Ctx, rails_nest, respond
from sandbox.procore.query import BadQuery
from sandbox.procore.routes import build_routes
from sandbox.procore.store import Store, ValidationFailed
from sandbox.procore.webhooks import RESOURCE_NAMES, Webhooks

MISSING_COMPANY = (
    "Missing Procore-Company-Id header! Company-scoped requests must send the "
    "Procore-Company-Id header with the id of the company they act on."
)
COMPANY_ID = 4264807


class ProcoreSandbox:
    """One sandbox: its data, OAuth server, rate limiter, webhooks and the wrapped ASGI app."""

    name = "procore"

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        strict_company_header: bool = True,
        allow_refresh_reuse: bool = False,
        hourly_limit: int = 3600,
        spike_limit: int | None = 200,
        spike_window: float = 10.0,
        webhook_timeout: float = 5.0,
        webhook_first_delay: float = 1.0,
        deliver_webhooks: bool = True,
        seed: bool = True,
        region: str = "US",
    ) -> None:
        self.state_file = Path(state_file) if state_file else None
        self.strict_company_header = strict_company_header
        self.deliver_webhooks = deliver_webhooks
        self.control = SandboxControl(self._fault_body)
        self.store = Store(self.control.clock)
        self.company_id = COMPANY_ID
        self.installed_companies = {COMPANY_ID}
        self.client_id = "joist-procore-sandbox"
        self.client_secret = "sandbox-secret-" + secrets.token_hex(8)
        self.demo_user_id = 0
        self.storage_key = secrets.token_bytes(16)
        self.limiter = RateLimiter(self.control.clock, hourly_limit, spike_limit, spike_window)
        self.webhooks = Webhooks(
            self.store, self.control.clock, timeout=webhook_timeout, first_delay=webhook_first_delay
        )
        self._allow_refresh_reuse = allow_refresh_reuse
        loaded = self._load()
        if not loaded and seed:
            from sandbox.procore.regions import REGION_TAX, seed_region_tax
            from sandbox.procore.seed import seed_demo

            if region.upper() not in REGION_TAX:
                raise ValueError(f"unknown region {region!r}: one of {', '.join(REGION_TAX)}")
            seed_demo(self)
            seed_region_tax(self, region.upper())
        elif not loaded:
            self.store.companies[COMPANY_ID] = {
                "id": COMPANY_ID,
                "name": "Joist Demo Builders",
                "is_active": True,
                "logo_url": None,
                "my_company": True,
                "pcn_business_experience": False,
            }
        if not loaded:
            self.oauth = OAuthServer(
                self.control.clock,
                {self.client_id: self.client_secret},
                self.demo_user_id,
                allow_refresh_reuse=allow_refresh_reuse,
            )
        self.handlers = Extras(self)
        self.routes = build_routes(self.handlers)
        inner = Starlette(
            routes=[
                StarletteRoute("/oauth/token", self.oauth.token, methods=["POST"]),
                StarletteRoute("/oauth/authorize", self.oauth.authorize, methods=["GET"]),
                StarletteRoute("/oauth/revoke", self.oauth.revoke, methods=["POST"]),
                StarletteRoute("/oauth/token/info", self.oauth.token_info, methods=["GET"]),
                StarletteRoute("/_storage/{file_id}", self.handlers.storage, methods=["GET"]),
                StarletteRoute("/rest/{rest:path}", self.dispatch, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
            ]
        )
        self.app = self.control.wrap(inner)

    # ---- Sandbox protocol ---------------------------------------------------------------
    def connection_info(self, base_url: str) -> dict[str, str]:
        """What a client needs: base URL (API and login host), company, app and a live refresh token."""
        return {
            "base_url": base_url,
            "company_id": str(self.company_id),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.oauth.live_refresh_token(self.client_id, self.demo_user_id),
        }

    def set_project_currency(self, project_id: int, currency_iso_code: str) -> None:
        """Set a project's currency, as a company admin does in Procore's project settings
        (the API serves it as `currency_configuration` on the project's financial documents)."""
        with self.store.lock:
            self.store.tables["projects"][int(project_id)]["currency_iso_code"] = currency_iso_code.upper()

    def save(self) -> None:
        if self.state_file is None:
            return
        state = {
            "store": self.store.dump(),
            "oauth": self.oauth.dump(),
            "client_secret": self.client_secret,
            "demo_user_id": self.demo_user_id,
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)

    def _load(self) -> bool:
        if self.state_file is None or not self.state_file.exists():
            return False
        state = json.loads(self.state_file.read_text())
        self.store.load(state["store"])
        self.client_secret = state["client_secret"]
        self.demo_user_id = state["demo_user_id"]
        self.oauth = OAuthServer(
            self.control.clock,
            {self.client_id: self.client_secret},
            self.demo_user_id,
            allow_refresh_reuse=self._allow_refresh_reuse,
        )
        self.oauth.load(state["oauth"])
        return True

    def renderer_for(self, base_url: str) -> BillingRenderer:
        return BillingRenderer(self.store, base_url)

    def webhook_resources(self) -> tuple[str, ...]:
        return RESOURCE_NAMES

    def access_token(self, user_id: int | None = None) -> str:
        """A fresh access token for the demo user (for tests and scripts that skip OAuth)."""
        body = self.oauth.issue(self.client_id, user_id or self.demo_user_id, with_refresh=False)
        return body["access_token"]

    @staticmethod
    def _fault_body(status: int) -> tuple[dict[str, str], bytes]:
        if status == 429:
            return {"Content-Type": "text/plain", "Retry-After": "1"}, RATE_SENTENCE.encode()
        return {}, json.dumps({"errors": "Internal Server Error"}).encode()

    # ---- the API ------------------------------------------------------------------------
    async def dispatch(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        if path.startswith("/rest/v2.0/"):
            return JSONResponse(
                {"error": {"code": "NOT_FOUND", "message": "This sandbox serves REST v1.x only.", "details": []}},
                status_code=404,
            )
        grant, problem = self.oauth.authenticate(request)
        key = (
            (grant.client_id, grant.user_id) if grant else ("anonymous", request.client.host if request.client else "")
        )
        allowed, rate_headers = self.limiter.hit(key)
        if not allowed:
            return PlainTextResponse(RATE_SENTENCE, status_code=429, headers=rate_headers)
        response = await self._answer(request, path, method, grant, problem)
        response.headers.update(rate_headers)
        return response

    async def _answer(self, request: Request, path: str, method: str, grant: Any, problem: str) -> Response:
        route, params = None, {}
        for candidate in self.routes:
            if candidate.method == method and (found := candidate.pattern.match(path)):
                route, params = candidate, found.groupdict()
                break
        if grant is None:
            return JSONResponse(
                {"errors": problem},
                status_code=401,
                headers={
                    "WWW-Authenticate": f'Bearer realm="Procore", error="invalid_token", error_description="{problem}"'
                },
            )
        if route is None:
            return JSONResponse({"errors": "Not Found"}, status_code=404)
        try:
            body, files = await self._body(request)
        except ClientDisconnect:
            return Response(status_code=400)  # the request never arrived whole: nothing ran
        except ValueError:
            return JSONResponse({"errors": "The request body is not valid JSON."}, status_code=400)
        company_id = self._company(request, params, body) if route.company else self.company_id
        if isinstance(company_id, Response):
            return company_id
        ctx = Ctx(request, self, grant, company_id, params, body, files, self.renderer_for(str(request.base_url)))
        try:
            return await route.handler(ctx, route.view)
        except ApiError as exc:
            return respond(exc.body, exc.status)
        except ValidationFailed as exc:
            return respond({"errors": exc.errors}, exc.status)
        except BadQuery as exc:
            return respond({"errors": str(exc)}, 400)

    def _company(self, request: Request, params: dict[str, str], body: Any) -> int | Response:
        header = request.headers.get("procore-company-id")
        if header is None and not self.strict_company_header:
            header = (
                params.get("company_id")
                or request.query_params.get("company_id")
                or (body.get("company_id") if isinstance(body, dict) else None)
            )
        if header in (None, ""):
            return JSONResponse({"errors": MISSING_COMPANY}, status_code=400)
        try:
            company_id = int(str(header))
        except ValueError:
            return JSONResponse({"errors": "Procore-Company-Id must be a company id"}, status_code=400)
        if company_id not in self.installed_companies:
            return JSONResponse({"errors": "App is not connected to this company"}, status_code=403)
        if "company_id" in params and int(params["company_id"]) != company_id:
            return JSONResponse({"errors": "App is not connected to this company"}, status_code=403)
        return company_id

    @staticmethod
    async def _body(request: Request) -> tuple[dict[str, Any], list[tuple[str, str, bytes]]]:
        raw = await request.body()  # all of it, before anything runs
        kind = request.headers.get("content-type", "")
        if not raw:
            return {}, []
        if kind.startswith("multipart/form-data") or kind.startswith("application/x-www-form-urlencoded"):
            form = await request.form()
            pairs, files = [], []
            for key, value in form.multi_items():
                if isinstance(value, str):
                    pairs.append((key, value))
                elif key.endswith("attachments[]") or key.endswith("[attachments][]"):
                    files.append(
                        (value.filename or "file", value.content_type or "application/octet-stream", await value.read())
                    )
            return rails_nest(pairs), files
        parsed = json.loads(raw, parse_float=Decimal)
        return (parsed if isinstance(parsed, dict) else {"_": parsed}), []


def create_sandbox(state_file: Path | None = None, **options: Any) -> ProcoreSandbox:
    """A Procore sandbox with the seeded demo company (see the module docstring for options)."""
    return ProcoreSandbox(state_file, **options)
