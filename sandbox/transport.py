"""Reach an ASGI sandbox in-process from synchronous code.

`httpx.ASGITransport` is asynchronous; Joist's connectors are synchronous `httpx.Client`s.
`InProcessTransport` runs the ASGI transport on a private event loop in a background thread
and hands each request across, so a connector talks to a sandbox with no socket at all.
A connection dropped by fault injection surfaces as `httpx.RemoteProtocolError`, exactly
as it does over loopback.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx

from sandbox.control import DroppedConnection


class InProcessTransport(httpx.BaseTransport):
    """A synchronous httpx transport in front of an ASGI app."""

    def __init__(self, app: Any, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._inner = httpx.ASGITransport(app=app, client=client)
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="joist-asgi", daemon=True)
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        async_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=body, extensions=request.extensions
        )

        async def call() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(async_request)
            content = await response.aread()
            return response.status_code, response.headers, content

        with self._lock:
            # Clients share one transport; one of them closing it (a service renewing its
            # connectors) must not leave the others' requests waiting on a stopped loop.
            if not self._thread.is_alive():
                self._start()
            loop = self._loop
        future = asyncio.run_coroutine_threadsafe(call(), loop)
        try:
            status, headers, content = future.result()
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        headers = httpx.Headers([(k, v) for k, v in headers.multi_items() if k.lower() != "content-encoding"])
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        """Stop the loop thread; a later request starts a new one."""
        with self._lock:
            if self._loop.is_running():
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=5)
