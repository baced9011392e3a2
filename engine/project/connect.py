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

from connectors.oauth_redirect import REDIRECT_PORT
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

    conn = project.connection(system, placeholder_ok=system == "qbo")
    credentials = project.credentials(system)
    store = project.token_store()
    key = project.token_key(system)
    client = httpx.Client(transport=transport, timeout=30.0)
    options: dict[str, Any] = {"timeout": timeout, "port": port, "pasted": pasted}
    try:
        if system == "qbo":
            from connectors.qbo.auth import OAuthClient, endpoints_for

            oauth = OAuthClient(credentials, endpoints_for(conn.base_url), client=client)
            received, redirect_uri = receive_code(
                open_url, oauth.authorization_url, product="Joist for QuickBooks", **options
            )
            tokens = oauth.exchange_code(received["code"], redirect_uri)
            realm = received.get("realmId", "")
            if realm and conn.placeholder:
                from engine.project.writing import set_account_id

                key = f"qbo:{realm}"
                store.save(key, {k: tokens[k] for k in ("access_token", "refresh_token", "expires_at")})
                changed = set_account_id(project, "qbo", realm)
                return {"system": system, "token_key": key, "realm_id": realm, "changes": changed}
            store.save(key, {k: tokens[k] for k in ("access_token", "refresh_token", "expires_at")})
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
        received, redirect_uri = receive_code(open_url, auth.authorize_url, product="Joist for Procore", **options)
        auth.exchange_code(received["code"], redirect_uri)
        return {"system": system, "token_key": key, "company_id": conn.account_id}
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
