"""`joist connect procore|qbo`: sign in once in a browser; the tokens go to the token file.

The authorization-code flow redirects back to a one-shot listener on 127.0.0.1. The
client id and secret come from the environment variables joist.yaml names (or the token
file); the first token pair is saved before this returns, and every later rotation is
saved by the connectors themselves.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable
from typing import Any

import httpx

from engine.errors import JoistError


class ConnectFailed(JoistError):
    """The browser sign-in did not complete."""

    code = "C507"


def connect(
    project: Any,
    system: str,
    *,
    open_url: Callable[[str], Any] = webbrowser.open,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run the sign-in for `system`; returns what was connected (no secrets)."""
    from connectors.oauth_redirect import RedirectTimeout, receive_code

    conn = project.connection(system)
    credentials = project.credentials(system)
    store = project.token_store()
    key = project.token_key(system)
    client = httpx.Client(transport=transport, timeout=30.0)
    try:
        if system == "qbo":
            from connectors.qbo.auth import OAuthClient, endpoints_for

            oauth = OAuthClient(credentials, endpoints_for(conn.base_url), client=client)
            received, redirect_uri = receive_code(
                open_url, oauth.authorization_url, timeout=timeout, product="Joist for QuickBooks"
            )
            tokens = oauth.exchange_code(received["code"], redirect_uri)
            store.save(key, {k: tokens[k] for k in ("access_token", "refresh_token", "expires_at")})
            realm = received.get("realmId", "")
            if realm and realm != conn.account_id:
                return {
                    "system": system,
                    "token_key": key,
                    "realm_id": realm,
                    "note": f"QuickBooks connected realm {realm}; joist.yaml names {conn.account_id}: set "
                    f"connections.qbo.realm_id to {realm} and run `joist connect qbo` again",
                }
            return {"system": system, "token_key": key, "realm_id": realm or conn.account_id}
        from connectors.procore.auth import ProcoreAuth

        auth = ProcoreAuth(str(conn.get("login_url") or conn.base_url), credentials, store, key, client)
        received, redirect_uri = receive_code(
            open_url, auth.authorize_url, timeout=timeout, product="Joist for Procore"
        )
        auth.exchange_code(received["code"], redirect_uri)
        return {"system": system, "token_key": key, "company_id": conn.account_id}
    except RedirectTimeout:
        raise ConnectFailed(
            f"the {system} sign-in did not come back within {int(timeout)} s",
            hint="run the command again and approve access in the browser that opens "
            "(--print-url prints the address instead)",
        ) from None
    finally:
        client.close()
