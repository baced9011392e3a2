"""The QuickBooks Online sandbox: a Starlette app serving the v3 Accounting API and OAuth.

`create_sandbox()` builds it with two seeded companies (a US and an AU realm), wraps it in
the shared `SandboxControl` (faults, movable clock, request log) and returns a `QBOSandbox`.
Per realm it enforces 500 requests a minute and 10 in flight (429 with fault 3001; the
batch-only limit of 40 or 120 batch calls a minute is an opt-in knob, `batch_per_minute`), and
replays any write that repeats a `requestid` byte for byte.
"""

from __future__ import annotations

import asyncio
import collections
import secrets
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.control import SandboxControl
from sandbox.qbo import currency, faults, uploads
from sandbox.qbo.batch import run_batch, tax_service
from sandbox.qbo.codec import dumpb, loads
from sandbox.qbo.oauth import OAuthServer
from sandbox.qbo.ops import Company
from sandbox.qbo.seed import seed
from sandbox.qbo.store import Realm, Store, format_time
from sandbox.qbo.validate import SEGMENTS
from sandbox.qbo.webhooks import Webhooks

US_REALM, AU_REALM = "9130350000000000", "9130350000000001"
CA_REALM, UK_REALM = "9130350000000002", "9130350000000003"
# The seeded company of each region (`joist sandbox up --region`): realm, country, UTC offset, name.
REALMS = {
    "US": (US_REALM, "US", -480, "Joist Demo Builders"),
    "AU": (AU_REALM, "AU", 600, "Joist Demo Builders Pty Ltd"),
    "CA": (CA_REALM, "CA", -300, "Joist Demo Builders Ltd"),
    "UK": (UK_REALM, "GB", 0, "Joist Demo Builders Ltd (UK)"),
}
CLIENT_ID = "ABjoistSandboxClient0000000000000000000000000000"
JSON_TYPE = "application/json;charset=UTF-8"
DOWNLOAD_TTL = 900


class QBOSandbox:
    """A local QuickBooks Online: the ASGI `app`, its `control`, data `store` and `webhooks`."""

    name = "qbo"

    def __init__(
        self,
        state_file: Path | None = None,
        *,
        rate_per_minute: int = 500,
        max_concurrent: int = 10,
        processing_delay: float = 0.0,
        throttle_as_xml: bool = False,
        batch_per_minute: int | None = None,
        webhook_client: httpx.Client | None = None,
        region: str = "US",
    ) -> None:
        if region.upper() not in REALMS:
            raise ValueError(f"unknown region {region!r}: one of {', '.join(REALMS)}")
        self.region = region.upper()
        self.control = SandboxControl(self._fault_body)
        self.state_file = Path(state_file) if state_file else None
        self.store = Store(now=self.control.clock.now)
        self.oauth = OAuthServer(self.store, self.control.clock.now)
        self.rate_per_minute = rate_per_minute
        self.max_concurrent = max_concurrent
        self.processing_delay = processing_delay
        self.throttle_as_xml = throttle_as_xml
        self.batch_per_minute = (
            batch_per_minute  # QBO's 40 (per app) / 120 (per realm) batch calls a minute; off by default
        )
        self._batch_window: dict[str, collections.deque[float]] = {}
        self._window: dict[str, collections.deque[float]] = {}
        self._inflight: dict[str, int] = {}
        self._limit_lock = threading.Lock()
        if self.state_file and self.state_file.exists():
            self.store.load(self.state_file)
            self._seed_regions()  # data saved before a region's company was seeded gets it now
        else:
            self._seed()
        self.webhooks = Webhooks(
            self.control.clock.now,
            self.store.webhook,
            lambda rid: self.store.realms[rid].offset_minutes,
            webhook_client,
        )
        self.app = self.control.wrap(self._starlette())

    def _seed(self) -> None:
        self.store.oauth["clients"][CLIENT_ID] = {"secret": secrets.token_urlsafe(30)}
        self.store.oauth["file_secret"] = secrets.token_hex(16)
        self._seed_regions()

    def _seed_regions(self) -> None:
        for realm_id, country, offset, name in REALMS.values():
            if realm_id in self.store.realms:
                continue
            realm = Realm(realm_id, country, offset)
            self.store.realms[realm_id] = realm
            seed(Company(realm, self.control.clock.now), name)

    # -- what tests and `joist sandbox up` use --------------------------------------------------

    @property
    def client_id(self) -> str:
        return next(iter(self.store.oauth["clients"]))

    @property
    def client_secret(self) -> str:
        return self.store.oauth["clients"][self.client_id]["secret"]

    def company(self, realm_id: str = US_REALM) -> Company:
        """The data operations of one realm (webhook events included)."""
        return Company(self.store.realms[realm_id], self.control.clock.now, self.webhooks.record)

    def enable_multicurrency(
        self, realm_id: str = US_REALM, rates: dict[tuple[str, str], Decimal] | None = None
    ) -> None:
        """Turn multicurrency on for a realm, as the QBO settings page does (it cannot be turned
        off), and set company exchange rates keyed by (currency code, as-of date)."""
        with self.store.lock:
            realm = self.store.realms[realm_id]
            currency.enable(realm)
            stamp = self.company(realm_id).time_text()
            for (code, as_of), rate in (rates or {}).items():
                existing = currency.rate_for(realm, code, as_of)
                token = existing["SyncToken"] if existing and existing["AsOfDate"] == as_of else None
                currency.write_rate(
                    realm, {"SourceCurrencyCode": code, "AsOfDate": as_of, "Rate": rate, "SyncToken": token}, stamp
                )

    def refresh_token(self, realm_id: str = US_REALM) -> str:
        """A fresh refresh token for the sandbox client on `realm_id`."""
        with self.store.lock:
            return self.oauth.issue_refresh(self.client_id, realm_id)

    def connection_info(self, base_url: str) -> dict[str, str]:
        return {
            "base_url": base_url,
            "realm_id": REALMS[self.region][0],
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token(REALMS[self.region][0]),
        }

    def save(self) -> None:
        if self.state_file:
            self.store.save(self.state_file)

    # -- HTTP -------------------------------------------------------------------------------------

    def _starlette(self) -> Starlette:
        o = self.oauth
        routes = [
            Route(p, o.discovery)
            for p in (
                "/.well-known/openid_configuration",
                "/.well-known/openid_configuration/",
                "/.well-known/openid_sandbox_configuration",
                "/.well-known/openid_sandbox_configuration/",
            )
        ]
        routes += [
            Route("/connect/oauth2", o.authorize),
            Route("/oauth2/v1/tokens/bearer", o.token, methods=["POST"]),
            Route("/v2/oauth2/tokens/revoke", o.revoke, methods=["POST"]),
            Route("/v1/openid_connect/userinfo", o.userinfo),
            Route("/op/v1/jwks", o.jwks),
            Route("/_qbo/files/{realm}/{attachable_id}", self._file),
            Route("/_qbo/webhooks", self._webhook_config, methods=["GET", "POST"]),
            Route("/_qbo/webhooks/deliver", self._webhook_deliver, methods=["POST"]),
            Route("/v3/company/{realm}/{rest:path}", self._api, methods=["GET", "POST"]),
        ]
        return Starlette(routes=routes)

    def _fault_body(self, status: int) -> tuple[dict[str, str], bytes]:
        fault = faults.throttled() if status == 429 else faults.system_failure()
        if self.throttle_as_xml:
            error = fault.errors[0]
            xml = (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><IntuitResponse xmlns="http://schema.intuit.com/'
                f'finance/v3" time="{format_time(self.control.clock.now(), -480, millis=True)}"><Fault type="{fault.type}">'
                f'<Error code="{error.code}"><Message>{error.message}</Message><Detail>{error.detail}</Detail></Error>'
                f"</Fault></IntuitResponse>"
            )
            return {"Content-Type": "application/xml"}, xml.encode()
        return {"Content-Type": JSON_TYPE, "intuit_tid": uuid.uuid4().hex}, dumpb(
            {"Fault": fault.to_json(), "time": self._time(-480)}
        )

    def _time(self, offset: int) -> str:
        return format_time(self.control.clock.now(), offset, millis=True)

    def _admit(self, realm_id: str, batch: bool) -> bool:
        now = self.control.clock.now()
        with self._limit_lock:
            window = self._window.setdefault(realm_id, collections.deque())
            batches = self._batch_window.setdefault(realm_id, collections.deque())
            for queue in (window, batches):
                while queue and queue[0] <= now - 60:
                    queue.popleft()
            if len(window) >= self.rate_per_minute or self._inflight.get(realm_id, 0) >= self.max_concurrent:
                return False
            if batch and self.batch_per_minute is not None and len(batches) >= self.batch_per_minute:
                return False
            window.append(now)
            if batch:
                batches.append(now)
            self._inflight[realm_id] = self._inflight.get(realm_id, 0) + 1
            return True

    def _release(self, realm_id: str) -> None:
        with self._limit_lock:
            self._inflight[realm_id] -= 1

    async def _api(self, request: Request) -> Response:
        realm_id = request.path_params["realm"]
        grant, reason = self.oauth.check_access(request.headers.get("authorization"))
        if grant is None:
            return JSONResponse(faults.auth_failed_body(reason), status_code=401)
        realm = self.store.realm(realm_id)
        if realm is None or grant["realm_id"] != realm_id:
            fault = faults.Fault(
                [
                    faults.ErrorItem(
                        "3100",
                        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                        "The token is not authorized for this company.",
                    )
                ],
                type="AuthorizationFault",
                status=403,
            )
            return self._fault_response(fault, -480)
        if not self._admit(realm_id, request.path_params["rest"].strip("/").lower() == "batch"):
            headers, body = self._fault_body(429)
            return Response(body, status_code=429, headers=headers)
        try:
            try:
                body = await request.body()
            except ClientDisconnect:
                return Response(status_code=400)
            if self.processing_delay:
                await asyncio.sleep(self.processing_delay)
            status, content_type, payload = await run_in_threadpool(
                self._handle,
                realm,
                request.method,
                request.path_params["rest"],
                dict(request.query_params),
                request.headers.get("content-type", ""),
                body,
                str(request.base_url).rstrip("/"),
            )
        finally:
            self._release(realm_id)
        return Response(
            payload,
            status_code=status,
            media_type=None,
            headers={"Content-Type": content_type, "intuit_tid": uuid.uuid4().hex, "qbo-version": "1.0.75"},
        )

    def _fault_response(self, fault: faults.Fault, offset: int) -> Response:
        return Response(
            dumpb({"Fault": fault.to_json(), "time": self._time(offset)}),
            status_code=fault.status,
            headers={"Content-Type": JSON_TYPE, "intuit_tid": uuid.uuid4().hex},
        )

    def _handle(
        self,
        realm: Realm,
        method: str,
        rest: str,
        params: dict[str, str],
        content_type: str,
        body: bytes,
        base_url: str,
    ) -> tuple[int, str, bytes]:
        rest = rest.strip("/")
        request_id = params.get("requestid")
        replay_key = request_id if method == "POST" and rest.lower() != "query" else None
        with self.store.lock:
            if replay_key and replay_key in realm.requestids:
                cached = realm.requestids[replay_key]
                return cached["status"], cached["content_type"], cached["body"].encode()
            company = Company(realm, self.control.clock.now, self.webhooks.record)
            try:
                if request_id and len(request_id) > (36 if rest.lower() == "batch" else 50):
                    raise faults.string_length("requestid", 36 if rest.lower() == "batch" else 50, len(request_id))
                result = self._route(company, method, rest, params, content_type, body, base_url)
                if isinstance(result, Response):
                    return result.status_code, result.headers["content-type"], bytes(result.body)
                status, payload = 200, result
            except faults.Fault as fault:
                status, payload = fault.status, {"Fault": fault.to_json()}
            payload["time"] = company.time_text(millis=True)
            data = dumpb(payload)
            if replay_key and status < 500:
                realm.requestids[replay_key] = {"status": status, "content_type": JSON_TYPE, "body": data.decode()}
            return status, JSON_TYPE, data

    def _json(self, body: bytes) -> Any:
        try:
            return loads(body or b"{}")
        except ValueError:
            raise faults.validation(
                "2010", "Request has invalid or unsupported property", "The request body is not valid JSON."
            ) from None

    def _route(
        self,
        company: Company,
        method: str,
        rest: str,
        params: dict[str, str],
        content_type: str,
        body: bytes,
        base_url: str,
    ) -> dict[str, Any] | Response:
        parts = rest.split("/")
        head = parts[0].lower()
        if head == "query":
            text = params.get("query") if method == "GET" else body.decode("utf-8")
            if not text:
                raise faults.query_parse('Encountered "<EOF>" at line 1, column 0.')
            return {"QueryResponse": company.query(text, SEGMENTS)}
        if head == "batch" and method == "POST":
            return run_batch(company, self._json(body), params.get("requestid"))
        if head == "cdc":
            names = [e.strip().lower() for e in params.get("entities", "").split(",") if e.strip()]
            entities = [SEGMENTS[name] for name in names if name in SEGMENTS]
            if not names or len(entities) != len(names):
                raise faults.required("entities")
            return {"CDCResponse": [{"QueryResponse": company.cdc(entities, params.get("changedSince", ""))}]}
        if head == "upload" and method == "POST":
            return {"AttachableResponse": self._upload(company, body, content_type, base_url)}
        if head == "download" and len(parts) == 2:
            return PlainTextResponse(self._download_url(company, parts[1], base_url))
        if head == "companyinfo":
            return {"CompanyInfo": company.singleton("CompanyInfo")}
        if head == "preferences":
            return {"Preferences": company.singleton("Preferences")}
        if head == "exchangerate":
            if method == "GET":
                return {"ExchangeRate": currency.read_rate(company.realm, params, company.today())}
            data = self._json(body)
            if isinstance(data, dict) and isinstance(data.get("ExchangeRate"), dict):
                data = data["ExchangeRate"]
            if not isinstance(data, dict):
                raise faults.required("ExchangeRate")
            return {"ExchangeRate": currency.write_rate(company.realm, data, company.time_text())}
        if head == "taxservice" and method == "POST":
            return tax_service(company, self._json(body))
        entity = SEGMENTS.get(head)
        if entity is None:
            raise faults.validation(
                "2010", "Request has invalid or unsupported property", f"Unsupported entity: {parts[0]}"
            )
        if method == "GET":
            if len(parts) != 2:
                raise faults.required("Id")
            return {entity: company.read(entity, parts[1])}
        data = self._json(body)
        if not isinstance(data, dict):
            raise faults.validation("2010", "Request has invalid or unsupported property", "Expected a JSON object.")
        if entity in data and isinstance(data[entity], dict) and len(data) == 1:
            data = data[entity]
        operation = params.get("operation", "").lower()
        include = {i.strip().lower() for i in params.get("include", "").split(",") if i.strip()}
        if operation == "delete":
            return {entity: company.delete(entity, data)}
        if operation == "void":
            return {entity: company.void(entity, data)}
        if operation == "update" or _has_id(data):
            return {entity: company.update(entity, data, include)}
        return {entity: company.create(entity, data, include)}

    def _upload(self, company: Company, body: bytes, content_type: str, base_url: str) -> list[dict[str, Any]]:
        parts = uploads.parse_multipart(body, content_type)
        out: list[dict[str, Any]] = []
        for _, meta, content in uploads.pairs(parts):
            try:
                record = self._json(meta.data) if meta else {}
                if isinstance(record, dict) and "Attachable" in record:
                    record = record["Attachable"]
                if content is not None:
                    record.setdefault("FileName", content.filename or "upload")
                    record["ContentType"] = record.get("ContentType") or content.content_type
                    uploads.check_file(record["ContentType"], len(content.data))
                created = company.create("Attachable", record)
                if content is not None:
                    stored = company.realm.find("Attachable", created["Id"])
                    assert stored is not None  # created just above, under the store lock
                    company.realm.files[created["Id"]] = content.data
                    stored.update(
                        Size=len(content.data),
                        FileAccessUri=f"/v3/company/{company.realm.realm_id}/download/{created['Id']}",
                        TempDownloadUri=self._download_url(company, created["Id"], base_url),
                    )
                    created = company.output(stored)
                out.append({"Attachable": created})
            except faults.Fault as fault:
                out.append({"Fault": fault.to_json()})
        if not out:
            raise faults.required("file_content_01")
        return out

    def _download_url(self, company: Company, attachable_id: str, base_url: str) -> str:
        if attachable_id not in company.realm.files:
            raise faults.not_found()
        expires = int(self.control.clock.now()) + DOWNLOAD_TTL
        secret = self.store.oauth["file_secret"].encode()
        signature = uploads.sign(secret, company.realm.realm_id, attachable_id, expires)
        return f"{base_url}/_qbo/files/{company.realm.realm_id}/{quote(attachable_id)}?expires={expires}&signature={signature}"

    async def _file(self, request: Request) -> Response:
        realm = self.store.realm(request.path_params["realm"])
        attachable_id = request.path_params["attachable_id"]
        try:
            expires = int(request.query_params.get("expires", "0"))
        except ValueError:
            expires = 0
        secret = self.store.oauth["file_secret"].encode()
        if (
            realm is None
            or attachable_id not in realm.files
            or not uploads.verify(
                secret,
                realm.realm_id,
                attachable_id,
                expires,
                request.query_params.get("signature", ""),
                self.control.clock.now(),
            )
        ):
            return PlainTextResponse("Access denied or link expired", status_code=403)
        record = realm.find("Attachable", attachable_id) or {}
        return Response(realm.files[attachable_id], media_type=record.get("ContentType", "application/octet-stream"))

    async def _webhook_config(self, request: Request) -> Response:
        if request.method == "POST":
            data = loads(await request.body() or b"{}")
            self.webhooks.configure(data["url"], data["verifier"], data.get("shape", "legacy"), bool(data.get("auto")))
        return JSONResponse({k: v for k, v in self.store.webhook.items() if k != "verifier"})

    async def _webhook_deliver(self, request: Request) -> Response:
        return JSONResponse({"delivered": await run_in_threadpool(self.webhooks.deliver)})


def _has_id(data: dict[str, Any]) -> bool:
    try:
        return int(str(data.get("Id") or "0")) > 0
    except ValueError:
        return True


def create_sandbox(state_file: Path | None = None, **options: Any) -> QBOSandbox:
    """The QBO sandbox, loaded from `state_file` when it exists, else freshly seeded."""
    return QBOSandbox(state_file, **options)
