"""Who may call the Procore sandbox, and how often: OAuth 2.0 and the two rate limits.

OAuth follows the Doorkeeper server Procore runs: `POST /oauth/token` (grant types
`authorization_code`, `refresh_token`, `client_credentials`; form, multipart or JSON
bodies), `GET /oauth/authorize` (auto-approves as the demo user and 302s back with a
code, so a local authorization-code flow needs no browser), `POST /oauth/revoke` (always
200; kills the access and the refresh token of that grant) and `GET /oauth/token/info`.
Access tokens live 5,400 s on the sandbox clock; refresh tokens are single-use: the old
one is dead the moment a refresh is received, even if its response is then lost.

Rate limits are fixed windows on the sandbox clock, aligned to the epoch: an hourly budget
and a spike budget per `spike_window` seconds, counted per app, user and company.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.control import Clock

TOKEN_LIFETIME = 5400
CODE_LIFETIME = 600
RATE_SENTENCE = "You have surpassed the max number of requests for an hour. Please wait until your limit resets."
UNKNOWN_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)


@dataclass
class Grant:
    """One issued access token (and the refresh token issued with it, if any)."""

    access_token: str
    client_id: str
    user_id: int
    created_at: int
    expires_at: float
    refresh_token: str | None = None
    revoked: bool = False


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _form(request: Request) -> dict[str, Any]:
    """Token endpoint parameters from a JSON, urlencoded or multipart body (and the query)."""
    data: dict[str, Any] = dict(request.query_params)
    kind = request.headers.get("content-type", "")
    if "json" in kind:
        body = await request.body()
        parsed = json.loads(body or b"{}")
        if isinstance(parsed, dict):
            data.update(parsed)
    elif "form" in kind:
        form = await request.form()
        data.update({k: v for k, v in form.items() if isinstance(v, str)})
    return data


class OAuthServer:
    """Clients, codes and tokens of one sandbox."""

    def __init__(
        self, clock: Clock, clients: dict[str, str], demo_user_id: int, *, allow_refresh_reuse: bool = False
    ) -> None:
        self.clock = clock
        self.clients = dict(clients)
        self.demo_user_id = demo_user_id
        self.allow_refresh_reuse = allow_refresh_reuse
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}

    # ---- issuing ------------------------------------------------------------------------
    def issue(self, client_id: str, user_id: int, *, with_refresh: bool) -> dict[str, Any]:
        now = self.clock.now()
        grant = Grant(secrets.token_urlsafe(32), client_id, user_id, int(now), now + TOKEN_LIFETIME)
        body: dict[str, Any] = {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME,
        }
        if with_refresh:
            grant.refresh_token = self.new_refresh_token(client_id, user_id, grant.access_token)
            body["refresh_token"] = grant.refresh_token
        body["created_at"] = grant.created_at
        self.grants[grant.access_token] = grant
        return body

    def new_refresh_token(self, client_id: str, user_id: int, access_token: str | None = None) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens[token] = {
            "client_id": client_id,
            "user_id": user_id,
            "used": False,
            "access_token": access_token,
        }
        return token

    def live_refresh_token(self, client_id: str, user_id: int) -> str:
        """An unused refresh token for the user (minted if every earlier one was used)."""
        for token, info in self.refresh_tokens.items():
            if info["client_id"] == client_id and info["user_id"] == user_id and not info["used"]:
                return token
        return self.new_refresh_token(client_id, user_id)

    # ---- endpoints ----------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        data = await _form(request)
        client_id, secret = data.get("client_id"), data.get("client_secret")
        if client_id not in self.clients or not secrets.compare_digest(str(secret or ""), self.clients[client_id]):
            return _oauth_error(401, "invalid_client", UNKNOWN_CLIENT)
        grant_type = data.get("grant_type")
        if grant_type == "client_credentials":
            return JSONResponse(self.issue(client_id, self.service_user_id(client_id), with_refresh=False))
        if grant_type == "refresh_token":
            info = self.refresh_tokens.get(str(data.get("refresh_token") or ""))
            if info is None or info["client_id"] != client_id or (info["used"] and not self.allow_refresh_reuse):
                return _oauth_error(400, "invalid_grant", "The refresh token is invalid")
            info["used"] = True
            return JSONResponse(self.issue(client_id, info["user_id"], with_refresh=True))
        if grant_type == "authorization_code":
            code = self.codes.get(str(data.get("code") or ""))
            if (
                code is None
                or code["used"]
                or code["client_id"] != client_id
                or code["expires_at"] < self.clock.now()
                or code["redirect_uri"] != data.get("redirect_uri")
            ):
                return _oauth_error(
                    400,
                    "invalid_grant",
                    "The provided authorization grant is invalid, expired, "
                    "revoked, does not match the redirection URI used in the authorization request, "
                    "or was issued to another client.",
                )
            code["used"] = True
            return JSONResponse(self.issue(client_id, code["user_id"], with_refresh=True))
        return _oauth_error(
            400, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server."
        )

    def service_user_id(self, client_id: str) -> int:
        """The service-account user a client-credentials grant acts as."""
        return self.demo_user_id

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        if params.get("client_id") not in self.clients:
            return _oauth_error(401, "invalid_client", UNKNOWN_CLIENT)
        if params.get("response_type") != "code":
            return _oauth_error(
                400, "unsupported_response_type", "The authorization server does not support this response type."
            )
        redirect_uri = params.get("redirect_uri") or "urn:ietf:wg:oauth:2.0:oob"
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "client_id": params["client_id"],
            "redirect_uri": redirect_uri,
            "used": False,
            "user_id": self.demo_user_id,
            "expires_at": self.clock.now() + CODE_LIFETIME,
        }
        if redirect_uri == "urn:ietf:wg:oauth:2.0:oob":
            return JSONResponse({"code": code})
        query = {"code": code, **({"state": params["state"]} if "state" in params else {})}
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)

    async def revoke(self, request: Request) -> Response:
        data = await _form(request)
        token = str(data.get("token") or "")
        grant = self.grants.get(token)
        if grant is None:
            info = self.refresh_tokens.get(token)
            if info is not None:
                info["used"] = True
                grant = self.grants.get(info.get("access_token") or "")
        if grant is not None:
            grant.revoked = True
            if grant.refresh_token in self.refresh_tokens:
                self.refresh_tokens[grant.refresh_token]["used"] = True
        return JSONResponse({})

    async def token_info(self, request: Request) -> Response:
        grant, problem = self.authenticate(request)
        if grant is None:
            return _oauth_error(401, "invalid_token", problem)
        return JSONResponse(
            {
                "resource_owner_id": grant.user_id,
                "scope": [],
                "expires_in": max(0, int(grant.expires_at - self.clock.now())),
                "application": {"uid": grant.client_id},
                "created_at": grant.created_at,
            }
        )

    # ---- checking -----------------------------------------------------------------------
    def authenticate(self, request: Request) -> tuple[Grant | None, str]:
        """The grant behind the request's bearer token, or None and why not."""
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            return None, "The access token is missing"
        grant = self.grants.get(header[7:].strip())
        if grant is None or grant.revoked:
            return None, "The access token is invalid"
        if grant.expires_at <= self.clock.now():
            return None, "The access token expired"
        return grant, ""

    def dump(self) -> dict[str, Any]:
        return {"grants": [asdict(g) for g in self.grants.values()], "refresh_tokens": self.refresh_tokens}

    def load(self, data: dict[str, Any]) -> None:
        self.grants = {g["access_token"]: Grant(**g) for g in data.get("grants", [])}
        self.refresh_tokens = dict(data.get("refresh_tokens", {}))


class RateLimiter:
    """Hourly and spike budgets in fixed windows; reports the tighter one in headers."""

    def __init__(
        self, clock: Clock, hourly_limit: int = 3600, spike_limit: int | None = 200, spike_window: float = 10.0
    ) -> None:
        self.clock = clock
        self.hourly_limit = hourly_limit
        self.spike_limit = spike_limit
        self.spike_window = spike_window
        self._counts: dict[tuple[Any, ...], int] = {}

    def _windows(self, now: float) -> list[tuple[str, int, float]]:
        hour_start = math.floor(now / 3600) * 3600
        windows: list[tuple[str, int, float]] = [("hour", self.hourly_limit, hour_start + 3600)]
        if self.spike_limit:
            start = math.floor(now / self.spike_window) * self.spike_window
            windows.append(("spike", self.spike_limit, start + self.spike_window))
        return windows

    def hit(self, key: tuple[Any, ...]) -> tuple[bool, dict[str, str]]:
        """Count one request for `key`: whether it may run, and the X-Rate-Limit headers."""
        now = self.clock.now()
        windows = self._windows(now)
        if len(self._counts) > 10000:
            self._counts = {k: v for k, v in self._counts.items() if k[-1] > now}
        used = {name: self._counts.get((*key, name, reset), 0) for name, _, reset in windows}
        over = [(name, limit, reset) for name, limit, reset in windows if used[name] >= limit]
        if over:
            name, limit, reset = max(over, key=lambda w: w[2])
            headers = self._headers(limit, 0, reset)
            headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
            return False, headers
        for name, _, reset in windows:
            self._counts[(*key, name, reset)] = used[name] + 1
        name, limit, reset = min(windows, key=lambda w: ((w[1] - used[w[0]] - 1) / w[1], w[0] != "spike"))
        return True, self._headers(limit, limit - used[name] - 1, reset)

    @staticmethod
    def _headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(math.ceil(reset))),
        }
