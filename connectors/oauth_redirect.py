"""The local end of an OAuth authorization-code flow: a one-shot listener on 127.0.0.1.

`receive_code(open_url, build_url)` starts the listener, hands the consent page's address
to `open_url` (a browser, or a printout for a machine without one), waits for the system
to redirect back, checks `state`, and returns the query it came back with and the
`redirect_uri` that must be sent again when the code is exchanged.
"""

from __future__ import annotations

import http.server
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

# The fixed port of the redirect address, http://127.0.0.1:8790/callback: register it as a
# redirect URI of the OAuth app with Intuit and with Procore (`joist connect --port` moves it).
REDIRECT_PORT = 8790


class RedirectTimeout(Exception):
    """Nobody came back to the local redirect in time."""


def receive_code(
    open_url: Callable[[str], Any],
    build_url: Callable[[str, str], str],
    *,
    port: int = 0,
    timeout: float = 300.0,
    product: str = "Joist",
    pasted: Callable[[], str] | None = None,
) -> tuple[dict[str, str], str]:
    """Run the browser half of the flow; returns (the redirect's query, the redirect_uri).

    `port` 0 takes a free one. `pasted`, when given, is read in the background: the
    redirect address a person pastes (its browser could not reach this machine) counts
    as the redirect itself, once its `state` matches.
    """
    state = secrets.token_urlsafe(24)
    received: dict[str, str] = {}
    done = threading.Event()

    def accept(query: dict[str, str]) -> bool:
        if query.get("state") != state or "code" not in query or done.is_set():
            return False
        received.update(query)
        done.set()
        return True

    def read_pasted() -> None:
        assert pasted is not None
        while not done.is_set():
            try:
                line = pasted()
            except (EOFError, OSError, ValueError):
                return
            if not line:
                return
            query = {k: v[0] for k, v in parse_qs(urlparse(line.strip()).query).items()}
            accept(query)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            query = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
            ok = accept(query)
            self.send_response(200 if ok else 400)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(
                f"{product} is connected. You can close this window.".encode()
                if ok
                else b"This sign-in link is not the one Joist opened."
            )

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}/callback"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        open_url(build_url(redirect_uri, state))
        if pasted is not None:
            threading.Thread(target=read_pasted, name="oauth-paste", daemon=True).start()
        if not done.wait(timeout):
            raise RedirectTimeout("the sign-in did not come back in time")
    finally:
        server.shutdown()
        server.server_close()
    return received, redirect_uri
