"""Two processes refreshing one OAuth token: one refresh, shared; neither tells the user to reconnect.

Each "process" here is its own connector auth over its own `FileTokenStore` of one token
file, as two `joist` commands would have. Refresh tokens rotate and work once, so the
second refresher must take the pair the first one saved instead of spending its own copy.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from connectors.base import Credentials
from connectors.procore.auth import ProcoreAuth
from connectors.qbo.auth import OAuthClient, TokenManager, endpoints_for
from connectors.tokens import FileTokenStore
from sandbox.server import create
from sandbox.transport import InProcessTransport


def test_procore_the_second_refresher_uses_the_pair_the_first_saved(tmp_path: Path) -> None:
    box = create("procore", seed=False, deliver_webhooks=False)
    info = box.connection_info("http://procore.test")
    path = tmp_path / "tokens.json"
    FileTokenStore(path).save("procore:1", {"refresh_token": info["refresh_token"], "access_token": None})
    client = httpx.Client(transport=InProcessTransport(box.app), base_url="http://procore.test")

    def process() -> ProcoreAuth:  # loads the token file as a new `joist` process does
        creds = Credentials(info["client_id"], info["client_secret"])
        return ProcoreAuth("http://procore.test", creds, FileTokenStore(path), "procore:1", client)

    first, second = process(), process()
    token = first.token()
    assert second.token() == token  # not RefreshTokenInvalid: "reconnect Joist to Procore"
    assert FileTokenStore(path).load("procore:1")["refresh_token"] == second.credentials.refresh_token
    # The shared pair goes on working: the next refresh (after a 401) uses the latest refresh token.
    second.invalidate(token)
    assert second.token() not in (None, token)


class SlowOAuth(OAuthClient):
    """The sandbox's token endpoint, slow enough that two refreshers overlap; counts the refreshes."""

    calls = 0

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        type(self).calls += 1
        time.sleep(0.3)
        return super().refresh(refresh_token)


def test_qbo_two_refreshers_at_once_make_one_refresh(tmp_path: Path) -> None:
    box = create("qbo")
    info = box.connection_info("http://qbo.test")
    path = tmp_path / "tokens.json"
    key = f"qbo:{info['realm_id']}"
    FileTokenStore(path).save(key, {"refresh_token": info["refresh_token"], "access_token": None, "expires_at": 0})
    client = httpx.Client(transport=InProcessTransport(box.app))
    creds = Credentials(info["client_id"], info["client_secret"])
    managers = [
        TokenManager(
            SlowOAuth(creds, endpoints_for("http://qbo.test"), client=client), FileTokenStore(path), key, creds
        )
        for _ in range(2)
    ]
    got: list[str] = []
    errors: list[Exception] = []

    def run(manager: TokenManager) -> None:
        try:
            got.append(manager.access_token())
        except Exception as exc:  # noqa: BLE001 - the test reports what the loser saw
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(got) == 2 and got[0] == got[1]
    assert SlowOAuth.calls == 1
