"""OAuth 2.0 for QuickBooks Online: the authorization-code flow with a local redirect,
refresh with rotation, revoke, and a `TokenManager` that keeps tokens in a `TokenStore`.

Refresh tokens rotate and each works once, so the new pair is saved to the store *before*
the access token is used, and refreshing holds a lock and re-reads the store first (a
second worker that already refreshed must not burn the new token). Tokens never appear
in messages.
"""

from __future__ import annotations

import base64
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx

from connectors.base import Credentials
from connectors.http import OUTAGE_ERRORS, CircuitBreaker, CircuitOpen, unreachable
from connectors.oauth_redirect import RedirectTimeout, receive_code
from connectors.qbo.errors import SYSTEM, QBOAuthFailed, QBOUnavailable
from connectors.tokens import TokenStore, refresh_lock

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
EARLY_REFRESH = 120.0
INTUIT = {
    "authorization": "https://appcenter.intuit.com/connect/oauth2",
    "token": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    "revocation": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
}


@dataclass(frozen=True)
class Endpoints:
    """Where the OAuth calls go."""

    authorization: str
    token: str
    revocation: str


def endpoints_for(base_url: str) -> Endpoints:
    """Intuit's endpoints for Intuit API hosts; the same host's paths for a local sandbox."""
    host = urlparse(base_url).hostname or ""
    if host.endswith("intuit.com"):
        return Endpoints(**INTUIT)
    root = base_url.rstrip("/").removesuffix("/v3")
    return Endpoints(root + "/connect/oauth2", root + "/oauth2/v1/tokens/bearer", root + "/v2/oauth2/tokens/revoke")


class OAuthClient:
    """The three OAuth calls, authenticated with the app's client id and secret."""

    def __init__(
        self,
        credentials: Credentials,
        endpoints: Endpoints,
        *,
        client: httpx.Client,
        now: Callable[[], float] = time.time,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.credentials = credentials
        self.endpoints = endpoints
        self.client = client
        self.now = now
        self.breaker = breaker

    def _basic(self) -> str:
        pair = f"{self.credentials.client_id}:{self.credentials.client_secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def authorization_url(self, redirect_uri: str, state: str, scopes: tuple[str, ...] = (ACCOUNTING_SCOPE,)) -> str:
        query = {
            "client_id": self.credentials.client_id,
            "response_type": "code",
            "scope": " ".join(scopes),
            "redirect_uri": redirect_uri,
            "state": state,
        }
        return f"{self.endpoints.authorization}?{urlencode(query)}"

    def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        if self.breaker is not None and self.breaker.open:
            raise CircuitOpen(self.breaker)
        request = self.client.build_request(
            "POST",
            self.endpoints.token,
            data=form,
            headers={"Authorization": self._basic(), "Accept": "application/json"},
        )
        try:
            response = self.client.send(request)
        except httpx.TransportError as exc:
            if self.breaker is not None and isinstance(exc, OUTAGE_ERRORS):
                self.breaker.failure(exc, self.endpoints.token)
                if self.breaker.open:
                    raise CircuitOpen(self.breaker) from exc
            message, hint = unreachable("the QuickBooks token endpoint", request, exc)
            raise QBOUnavailable(message, system=SYSTEM, retryable=True, hint=hint) from None
        if response.status_code >= 500:
            raise QBOUnavailable(
                f"the QuickBooks token endpoint answered HTTP {response.status_code}",
                system=SYSTEM,
                status=response.status_code,
                retryable=True,
            )
        if response.status_code != 200:
            try:
                reason = response.json().get("error", "unknown")
            except ValueError:
                reason = "unknown"
            raise QBOAuthFailed(
                f"QuickBooks refused the token request ({reason})",
                system=SYSTEM,
                status=response.status_code,
                api_code=reason,
                hint="The QuickBooks authorisation is no longer valid. Reconnect QuickBooks.",
            )
        body = response.json()
        now = self.now()
        return {
            "access_token": body["access_token"],
            "refresh_token": body["refresh_token"],
            "expires_at": now + float(body.get("expires_in", 3600)),
            "refresh_expires_at": now + float(body.get("x_refresh_token_expires_in", 8726400)),
        }

    def exchange_code(self, code: str, redirect_uri: str) -> dict[str, Any]:
        """Trade an authorization code for the first token pair."""
        return self._token_call({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        """A new token pair; the old refresh token stops working."""
        return self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token: str) -> None:
        response = self.client.post(
            self.endpoints.revocation,
            json={"token": token},
            headers={"Authorization": self._basic(), "Accept": "application/json"},
        )
        if response.status_code != 200:
            raise QBOAuthFailed(
                f"QuickBooks refused to revoke the token (HTTP {response.status_code})",
                system=SYSTEM,
                status=response.status_code,
            )


def authorize_local(
    oauth: OAuthClient, *, open_browser: Callable[[str], Any] = webbrowser.open, port: int = 0, timeout: float = 300.0
) -> tuple[dict[str, Any], str]:
    """Run the authorization-code flow with a redirect to 127.0.0.1; returns (tokens, realm id).

    Starts a one-shot HTTP listener, opens the consent page with `open_browser`, waits for
    QuickBooks to redirect back, checks `state` and exchanges the code.
    """
    try:
        received, redirect_uri = receive_code(
            open_browser, oauth.authorization_url, port=port, timeout=timeout, product="Joist for QuickBooks"
        )
    except RedirectTimeout:
        raise QBOAuthFailed(
            "QuickBooks sign-in did not complete in time",
            system=SYSTEM,
            hint="Run the connect command again and approve access in the browser.",
        ) from None
    tokens = oauth.exchange_code(received["code"], redirect_uri)
    tokens["realm_id"] = received.get("realmId", "")
    return tokens, received.get("realmId", "")


class TokenManager:
    """A valid access token on demand, refreshed (and saved first) when it is about to expire."""

    def __init__(
        self,
        oauth: OAuthClient,
        store: TokenStore,
        key: str,
        credentials: Credentials,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.oauth = oauth
        self.store = store
        self.key = key
        self.now = now
        self._lock = threading.Lock()
        if store.load(key) is None and credentials.refresh_token:
            store.save(
                key,
                {
                    "access_token": credentials.access_token,
                    "refresh_token": credentials.refresh_token,
                    "expires_at": credentials.expires_at or 0.0,
                },
            )

    def _doc(self) -> dict[str, Any]:
        doc = self.store.load(self.key)
        if not doc or not doc.get("refresh_token"):
            raise QBOAuthFailed(
                "no QuickBooks tokens are stored for this connection",
                system=SYSTEM,
                hint="Connect QuickBooks first (joist connect qbo).",
            )
        return doc

    def access_token(self) -> str:
        doc = self._doc()
        if doc.get("access_token") and float(doc.get("expires_at") or 0) - EARLY_REFRESH > self.now():
            return str(doc["access_token"])
        return self.refresh(stale=doc.get("access_token"))

    def refresh(self, stale: str | None = None) -> str:
        """Refresh unless another worker already replaced the `stale` token; returns the access token."""
        with self._lock, refresh_lock(self.store, self.key):
            doc = self._doc()
            if (
                doc.get("access_token")
                and doc["access_token"] != stale
                and float(doc.get("expires_at") or 0) - EARLY_REFRESH > self.now()
            ):
                return str(doc["access_token"])
            tokens = self.oauth.refresh(str(doc["refresh_token"]))
            self.store.save(self.key, {**doc, **tokens})
            return str(tokens["access_token"])
