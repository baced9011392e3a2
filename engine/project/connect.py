"""`joist connect procore|qbo`: sign in once in a browser; the tokens go to the token file.

The authorization-code flow redirects back to a one-shot listener on 127.0.0.1. The
client id and secret come from the environment variables joist.yaml names (or the token
file); the first token pair is saved before this returns, and every later rotation is
saved by the connectors themselves.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from connectors.oauth_redirect import REDIRECT_PORT
from engine.errors import JoistError


class ConnectFailed(JoistError):
    """The browser sign-in did not complete."""

    code = "C507"


class _Authorizer:
    """One system's authorization-code grant for a project: the consent address, then the
    code traded for the first token pair (saved to the token file)."""

    def __init__(self, project: Any, system: str, client: httpx.Client) -> None:
        self.project, self.system = project, system
        self.conn = project.connection(system, placeholder_ok=system == "qbo")
        self.credentials = project.credentials(system)
        self.store = project.token_store()
        self.key = project.token_key(system)
        self.client = client

    def url(self, redirect_uri: str, state: str) -> str:
        """Where the person signs in and approves Joist."""
        if self.system == "qbo":
            return self._qbo().authorization_url(redirect_uri, state)
        return self._procore().authorize_url(redirect_uri, state)

    def finish(self, received: Mapping[str, str], redirect_uri: str) -> dict[str, Any]:
        """Trade the code the redirect brought back; what was connected (no secrets)."""
        system, conn, key = self.system, self.conn, self.key
        if system != "qbo":
            self._procore().exchange_code(received["code"], redirect_uri)
            return {"system": system, "token_key": key, "company_id": conn.account_id}
        tokens = self._qbo().exchange_code(received["code"], redirect_uri)
        pair = {k: tokens[k] for k in ("access_token", "refresh_token", "expires_at")}
        realm = received.get("realmId", "")
        if realm and conn.placeholder:
            from engine.project.writing import set_account_id

            key = f"qbo:{realm}"
            self.store.save(key, pair)
            changed = set_account_id(self.project, "qbo", realm)
            return {"system": system, "token_key": key, "realm_id": realm, "changes": changed}
        self.store.save(key, pair)
        if realm and realm != conn.account_id:
            return {
                "system": system,
                "token_key": key,
                "realm_id": realm,
                "note": f"QuickBooks connected realm {realm}; joist.yaml names {conn.account_id}: set "
                f"connections.qbo.realm_id to {realm} and run `joist connect qbo` again",
            }
        return {"system": system, "token_key": key, "realm_id": realm or conn.account_id}

    def revoke(self) -> None:
        """Revoke the saved tokens at the system (when it answers) and forget them."""
        if self.system == "qbo":
            token = self.credentials.refresh_token or self.credentials.access_token
            if token:
                try:
                    self._qbo().revoke(token)
                except JoistError:
                    pass  # forgotten here all the same: Intuit drops unused refresh tokens after 100 days
            self.store.save(self.key, {"access_token": None, "refresh_token": None, "expires_at": None})
            return
        self._procore().revoke()

    def _qbo(self) -> Any:
        from connectors.qbo.auth import OAuthClient, endpoints_for

        return OAuthClient(self.credentials, endpoints_for(self.conn.base_url), client=self.client)

    def _procore(self) -> Any:
        from connectors.procore.auth import ProcoreAuth

        login = str(self.conn.get("login_url") or self.conn.base_url)
        return ProcoreAuth(login, self.credentials, self.store, self.key, self.client)


@contextmanager
def _client(transport: httpx.BaseTransport | None) -> Iterator[httpx.Client]:
    """An HTTP client for the sign-in; a transport the caller lent (the dashboard's) stays open."""
    client = httpx.Client(transport=transport, timeout=30.0)
    try:
        yield client
    finally:
        if transport is None:
            client.close()


def sign_in_url(
    project: Any, system: str, redirect_uri: str, state: str, *, transport: httpx.BaseTransport | None = None
) -> str:
    """The consent address of `system` for a sign-in coming back to `redirect_uri` with `state`
    (the dashboard's Connections page; `connect` below for the terminal)."""
    with _client(transport) as client:
        return _Authorizer(project, system, client).url(redirect_uri, state)


def finish_sign_in(
    project: Any,
    system: str,
    received: Mapping[str, str],
    redirect_uri: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Save the token pair for the code a sign-in's redirect brought back; what was connected."""
    with _client(transport) as client:
        return _Authorizer(project, system, client).finish(received, redirect_uri)


def disconnect(project: Any, system: str, *, transport: httpx.BaseTransport | None = None) -> None:
    """Revoke `system`'s tokens and remove them from the token file (the client id and secret stay)."""
    with _client(transport) as client:
        _Authorizer(project, system, client).revoke()


def connect(
    project: Any,
    system: str,
    *,
    open_url: Callable[[str], Any] = webbrowser.open,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 300.0,
    port: int = REDIRECT_PORT,
    pasted: Callable[[], str] | None = None,
) -> dict[str, Any]:
    """Run the sign-in for `system`; returns what was connected (no secrets).

    The consent page redirects to `http://127.0.0.1:PORT/callback` (PORT 8790 unless
    given: the address to register with Intuit and Procore). `pasted`, when given, reads
    that redirect address as a person pastes it, for a browser on another machine.
    A QBO realm id still at `joist init`'s placeholder is learnt from the sign-in and
    written into joist.yaml.
    """
    from connectors.oauth_redirect import RedirectTimeout, receive_code

    client = httpx.Client(transport=transport, timeout=30.0)
    product = "Joist for QuickBooks" if system == "qbo" else "Joist for Procore"
    try:
        authorizer = _Authorizer(project, system, client)
        received, redirect_uri = receive_code(
            open_url, authorizer.url, product=product, timeout=timeout, port=port, pasted=pasted
        )
        return authorizer.finish(received, redirect_uri)
    except RedirectTimeout:
        raise ConnectFailed(
            f"the {system} sign-in did not come back within {int(timeout)} s",
            hint="run the command again, open the address it prints and approve access; from a browser on "
            "another machine, paste the address it is sent back to",
        ) from None
    except OSError as exc:  # the redirect port is taken
        raise ConnectFailed(
            f"cannot listen for the sign-in on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint="stop what uses that port, or pass --port N (and register http://127.0.0.1:N/callback "
            "as a redirect address of the app)",
        ) from None
    finally:
        client.close()
