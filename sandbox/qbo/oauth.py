"""OAuth 2.0 as Intuit serves it: discovery, authorization code, refresh with rotation, revoke.

Access tokens live one hour and refresh tokens a rolling 100 days, on the sandbox clock.
Every refresh returns a new refresh token and retires the old one (`invalid_grant` if it
is used again). The consent screen is skipped: `/connect/oauth2` redirects straight back
with a code, so a connector's local-redirect flow runs unattended.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.qbo.store import Store

ACCESS_TTL = 3600
REFRESH_TTL = 8726400
HARD_TTL = 5 * 365 * 86400
CODE_TTL = 600
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


class OAuthServer:
    """The token side of the sandbox, over the shared `Store`."""

    def __init__(self, store: Store, now: Callable[[], float]) -> None:
        self.store = store
        self.now = now

    @property
    def state(self) -> dict[str, Any]:
        return self.store.oauth

    def add_client(self, client_id: str, client_secret: str) -> None:
        self.state["clients"].setdefault(client_id, {"secret": client_secret})

    def issue_refresh(self, client_id: str, realm_id: str, granted: float | None = None) -> str:
        """A new refresh token for `realm_id` (what `connection_info` hands out)."""
        token = "RT1-" + secrets.token_urlsafe(24)
        now = self.now()
        self.state["refresh"][token] = {
            "client_id": client_id,
            "realm_id": realm_id,
            "expires": now + REFRESH_TTL,
            "granted": granted if granted is not None else now,
        }
        return token

    def check_access(self, header: str | None) -> tuple[dict[str, Any] | None, str]:
        """The grant behind a `Bearer` header, or None and the reason it was refused."""
        if not header or not header.lower().startswith("bearer "):
            return None, "Authorization header missing or not a Bearer token"
        token = header[7:].strip()
        if len(token) < 12 or len(token) > 4096:
            return None, "Malformed bearer token: too short or too long"
        with self.store.lock:
            grant = self.state["access"].get(token)
        if grant is None:
            return None, "Token revoked or unknown"
        if grant["expires"] <= self.now():
            return None, "Token expired: the access token is more than 3600 seconds old"
        return grant, ""

    # -- HTTP endpoints --------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": base + "/op/v1",
                "authorization_endpoint": base + "/connect/oauth2",
                "token_endpoint": base + "/oauth2/v1/tokens/bearer",
                "userinfo_endpoint": base + "/v1/openid_connect/userinfo",
                "revocation_endpoint": base + "/v2/oauth2/tokens/revoke",
                "jwks_uri": base + "/op/v1/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": [ACCOUNTING_SCOPE, "openid"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
            }
        )

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
        if client_id not in self.state["clients"]:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        if not redirect_uri or params.get("response_type") != "code":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if ACCOUNTING_SCOPE not in params.get("scope", "").split():
            return JSONResponse({"error": "invalid_scope"}, status_code=400)
        realm_id = params.get("realm_id") or next(iter(self.store.realms))
        if realm_id not in self.store.realms:
            return JSONResponse({"error": "invalid_request", "error_description": "unknown company"}, status_code=400)
        code = "AB1-" + secrets.token_urlsafe(24)
        with self.store.lock:
            self.state["codes"][code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "realm_id": realm_id,
                "expires": self.now() + CODE_TTL,
            }
        query = {"code": code, "state": params.get("state", ""), "realmId": realm_id}
        joiner = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + joiner + urlencode(query), status_code=302)

    def _client(self, request: Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("authorization", "")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
        client = self.state["clients"].get(client_id)
        if client is None or not secrets.compare_digest(client["secret"], secret):
            return None
        return client_id

    def _tokens(self, client_id: str, realm_id: str, granted: float, hard: bool) -> dict[str, Any]:
        access = "eyJ" + secrets.token_urlsafe(48)
        refresh = self.issue_refresh(client_id, realm_id, granted)
        now = self.now()
        self.state["access"][access] = {
            "client_id": client_id,
            "realm_id": realm_id,
            "expires": now + ACCESS_TTL,
            "refresh": refresh,
        }
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": ACCESS_TTL,
            "x_refresh_token_expires_in": REFRESH_TTL,
        }
        if hard:
            body["x_refresh_token_hard_expires_in"] = int(granted + HARD_TTL - now)
        return body

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        with self.store.lock:
            client_id = self._client(request, form)
            if client_id is None:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            hard = request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                code = self.state["codes"].pop(form.get("code", ""), None)
                if (
                    code is None
                    or code["client_id"] != client_id
                    or code["expires"] <= self.now()
                    or code["redirect_uri"] != form.get("redirect_uri")
                ):
                    return JSONResponse({"error": "invalid_grant"}, status_code=400)
                body = self._tokens(client_id, code["realm_id"], self.now(), hard)
            elif grant_type == "refresh_token":
                old = self.state["refresh"].get(form.get("refresh_token", ""))
                if (
                    old is None
                    or old["client_id"] != client_id
                    or old["expires"] <= self.now()
                    or old["granted"] + HARD_TTL <= self.now()
                ):
                    return JSONResponse({"error": "invalid_grant"}, status_code=400)
                del self.state["refresh"][form["refresh_token"]]
                body = self._tokens(client_id, old["realm_id"], old["granted"], hard)
            else:
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        return JSONResponse(body, headers={"intuit_tid": secrets.token_hex(8), "Cache-Control": "no-store"})

    async def revoke(self, request: Request) -> Response:
        raw = await request.body()
        token = ""
        try:
            token = json.loads(raw or b"{}").get("token", "")
        except ValueError:
            token = dict(p.split("=", 1) for p in raw.decode().split("&") if "=" in p).get("token", "")
        with self.store.lock:
            if self._client(request, {}) is None:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            self.state["refresh"].pop(token, None)
            self.state["access"].pop(token, None)
            for access, grant in list(self.state["access"].items()):
                if grant.get("refresh") == token:
                    del self.state["access"][access]
        return Response(status_code=200)

    async def userinfo(self, request: Request) -> Response:
        grant, reason = self.check_access(request.headers.get("authorization"))
        if grant is None:
            return JSONResponse({"error": "invalid_token", "error_description": reason}, status_code=401)
        return JSONResponse(
            {
                "sub": grant["client_id"],
                "givenName": "Joist",
                "familyName": "Sandbox",
                "email": "sandbox@example.com",
                "emailVerified": True,
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": []})
