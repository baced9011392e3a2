"""Authentication both ways: OAuth 2.0 for calls to Procore, and the check on webhooks from it.

Calls out: client credentials, authorization code, and refresh with rotation.

Procore's refresh tokens are single-use: each refresh returns a new pair and kills the old
refresh token, even when the response never arrives. So a refresh is never retried after
the request may have reached Procore, and the new pair is saved to the token store before
anything (the API call that needed it included) uses it.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from connectors.base import AuthError, Credentials, Unavailable
from connectors.http import (
    TRANSIENT_ERRORS,
    CircuitBreaker,
    RetryPolicy,
    Sleep,
    send_with_retries,
    unreachable,
    where,
)
from connectors.procore.entities import WEBHOOK_ENTITIES
from connectors.procore.errors import SYSTEM, RefreshTokenInvalid, WebhookRejected, error_for, explain
from connectors.tokens import TokenStore, refresh_lock

EARLY = 60.0  # refresh this many seconds before the access token expires


class ProcoreAuth:
    """Keeps one connection's access token valid; persists every rotated refresh token."""

    def __init__(
        self,
        login_url: str,
        credentials: Credentials,
        token_store: TokenStore,
        key: str,
        client: httpx.Client,
        *,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = time.sleep,
        policy: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.login_url = login_url.rstrip("/")
        self.credentials = credentials
        self.store = token_store
        self.key = key
        self.client = client
        self.wall = wall
        self.sleep = sleep
        self.policy = policy or RetryPolicy()
        self.breaker = breaker
        self._lock = threading.Lock()
        self._rejected: str | None = None  # the access token the API last refused
        saved = token_store.load(key) or {}
        for name in ("refresh_token", "access_token", "expires_at"):
            if saved.get(name) is not None:
                setattr(credentials, name, saved[name])

    # ---- tokens ------------------------------------------------------------------------
    def token(self) -> str:
        """A valid access token, refreshing (or fetching one) when needed."""
        creds = self.credentials
        if creds.access_token and creds.expires_at and creds.expires_at - EARLY > self.wall():
            return creds.access_token
        with self._lock:
            if creds.access_token and creds.expires_at and creds.expires_at - EARLY > self.wall():
                return creds.access_token
            self._grant()
        assert creds.access_token
        return creds.access_token

    def invalidate(self, token: str) -> None:
        """Forget `token` (the API said it is no longer valid); the next `token()` gets a new one."""
        with self._lock:
            self._rejected = token
            if self.credentials.access_token == token:
                self.credentials.access_token = None
                self.credentials.expires_at = None

    def _grant(self) -> None:
        with refresh_lock(self.store, self.key):
            if self._adopt_saved():
                return
            self._new_grant()

    def _adopt_saved(self) -> bool:
        """Take the pair another process saved meanwhile, if it is newer than ours and still valid.

        Its refresh token is the latest of the rotation even when its access token is not
        usable, so ours (spent by that process) is replaced either way.
        """
        creds = self.credentials
        saved = self.store.load(self.key) or {}
        if saved.get("refresh_token"):
            creds.refresh_token = saved["refresh_token"]
        token, expires_at = saved.get("access_token"), float(saved.get("expires_at") or 0)
        if token and token not in (creds.access_token, self._rejected) and expires_at - EARLY > self.wall():
            creds.access_token, creds.expires_at = token, expires_at
            return True
        return False

    def _new_grant(self) -> None:
        creds = self.credentials
        if creds.refresh_token:
            self._token_request({"grant_type": "refresh_token", "refresh_token": creds.refresh_token}, safe=False)
        else:
            self._token_request({"grant_type": "client_credentials"}, safe=True)

    def _token_request(self, fields: dict[str, str], *, safe: bool) -> dict[str, Any]:
        creds = self.credentials
        data = {**fields, "client_id": creds.client_id, "client_secret": creds.client_secret}
        request = self.client.build_request(
            "POST", f"{self.login_url}/oauth/token", data=data, headers={"Accept": "application/json"}
        )
        try:
            response = send_with_retries(
                self.client, request, safe_to_retry=safe, policy=self.policy, sleep=self.sleep, breaker=self.breaker
            )
        except TRANSIENT_ERRORS as exc:
            message, hint = unreachable("Procore's token endpoint", request, exc)
            if fields["grant_type"] == "client_credentials" or isinstance(exc, httpx.ConnectError):
                raise Unavailable(message, system=SYSTEM, retryable=True, hint=hint) from None  # nothing was sent
            raise AuthError(
                f"the connection to {where(request)} dropped during a Procore token {fields['grant_type']} request",
                system=SYSTEM,
                hint="Procore may have used up the refresh token; if the next run "
                "fails to authenticate, reconnect with `joist connect procore`.",
            ) from None
        if response.status_code != 200:
            message, _ = explain(_json(response))
            if response.status_code == 400 and fields["grant_type"] in ("refresh_token", "authorization_code"):
                raise RefreshTokenInvalid(
                    f"Procore refused the {fields['grant_type'].replace('_', ' ')}: {message}",
                    system=SYSTEM,
                    status=400,
                    api_code=str(_json(response).get("error", "")) if isinstance(_json(response), dict) else None,
                    hint="Reconnect Joist to Procore: joist connect procore "
                    "(refresh tokens work once; another client may have used it).",
                )
            raise error_for(response, action="issue a token")
        body = response.json()
        expires_at = float(body.get("created_at") or self.wall()) + float(body.get("expires_in") or 5400)
        tokens = {
            "access_token": body["access_token"],
            "expires_at": expires_at,
            "refresh_token": body.get("refresh_token")
            or (creds.refresh_token if fields["grant_type"] != "refresh_token" else None),
        }
        if fields["grant_type"] == "client_credentials":
            tokens["refresh_token"] = None
        self.store.save(self.key, tokens)  # before the new token is used for anything
        creds.access_token, creds.expires_at = tokens["access_token"], expires_at
        creds.refresh_token = tokens["refresh_token"]
        return body

    # ---- authorization code ----------------------------------------------------------------
    def authorize_url(self, redirect_uri: str, state: str | None = None) -> str:
        """Where to send the user to approve Joist (authorization-code grant)."""
        query = {"response_type": "code", "client_id": self.credentials.client_id, "redirect_uri": redirect_uri}
        if state:
            query["state"] = state
        return f"{self.login_url}/oauth/authorize?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str) -> None:
        """Trade an authorization code for a token pair (saved to the token store)."""
        with self._lock:
            self._token_request(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}, safe=False
            )

    def revoke(self) -> None:
        """Revoke the current tokens at Procore and forget them."""
        creds = self.credentials
        token = creds.access_token or creds.refresh_token
        if token:
            self.client.post(
                f"{self.login_url}/oauth/revoke",
                data={"token": token, "client_id": creds.client_id, "client_secret": creds.client_secret},
            )
        creds.access_token = creds.refresh_token = None
        creds.expires_at = None
        self.store.save(self.key, {"access_token": None, "refresh_token": None, "expires_at": None})


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


# ---- webhooks in ---------------------------------------------------------------------
# Receiving Procore webhooks: check the configured Authorization, drop duplicates and echoes.
#
# Procore signs nothing; it sends back the `Authorization` value the integrator configured
# on the hook (`destination_headers`), so that is what `WebhookReceiver` checks, in
# constant time. Deliveries are at-least-once: an event whose `ulid` (or `id`) was seen
# before is dropped. Events caused by Joist's own writes (their
# `metadata.source_application_id` is Joist's client id) are dropped too, so a change Joist
# made does not bounce back. Payloads carry no data: the event names what to re-read.

PAYMENT_ENTITIES = ("prime_contract_payments", "commitment_payments")


@dataclass(frozen=True)
class WebhookEvent:
    """One Procore change notice: which record of which entities to re-read (or forget)."""

    ulid: str
    resource_name: str
    entities: tuple[str, ...]  # catalogue entities the resource may be (payments: either kind)
    record_id: int
    event_type: str  # create | update | delete
    company_id: int | None
    project_id: int | None
    timestamp: str | None
    payload: dict[str, Any]


class WebhookReceiver:
    """Turns delivery requests into `WebhookEvent`s, at most once each."""

    def __init__(self, authorization: str, *, own_client_id: str | None = None, remember: int = 10000) -> None:
        self.authorization = authorization
        self.own_client_id = own_client_id
        self.remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()

    def accept(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent | None:
        """The event of one delivery, or None for a duplicate or an echo of Joist's own change.

        Raises `WebhookRejected` when the Authorization header is not the configured one."""
        given = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not self.authorization.strip() or not hmac.compare_digest(given.encode(), self.authorization.encode()):
            raise WebhookRejected(
                "a Procore webhook delivery carried the wrong Authorization header",
                system=SYSTEM,
                status=401,
                hint="Check destination_headers on the Procore hook against joist.yaml.",
            )
        try:
            payload = json.loads(body)
            key = str(payload.get("ulid") or payload["id"])
            resource = str(payload["resource_name"])
            record_id = int(payload["resource_id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookRejected(
                "a Procore webhook delivery was not a v2 event payload",
                system=SYSTEM,
                status=400,
                hint="Create the hook with api_version v2.",
            ) from None
        if key in self._seen:
            return None
        self._seen[key] = None
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        source = (payload.get("metadata") or {}).get("source_application_id")
        if self.own_client_id and source == self.own_client_id:
            return None
        entity = WEBHOOK_ENTITIES.get(resource)
        entities = PAYMENT_ENTITIES if entity == "contract_payments" else ((entity,) if entity else ())
        return WebhookEvent(
            key,
            resource,
            entities,
            record_id,
            str(payload.get("event_type", "")).lower(),
            payload.get("company_id"),
            payload.get("project_id"),
            payload.get("timestamp"),
            payload,
        )
