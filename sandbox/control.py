"""What both sandboxes share: a movable clock, fault injection and a request log.

`SandboxControl.wrap(app)` puts an ASGI middleware in front of a sandbox app. It

- logs every request (method, path, query, status) so tests can count writes;
- injects faults by probability: 5xx, 429, latency, a connection dropped *before* the
  request runs, or dropped *after* it ran (the response is lost: the case idempotency is
  for);
- serves `/_sandbox/...` control endpoints so a test talking over loopback can set the
  faults, move the clock and read the log: `GET|POST /_sandbox/faults`,
  `POST /_sandbox/clock` (`{"advance": seconds}` or `{"set": epoch}`),
  `GET|DELETE /_sandbox/requests`.

Faults are drawn from a seeded `random.Random`, so a failing run can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
FaultBody = Callable[[int], tuple[dict[str, str], bytes]]


class DroppedConnection(Exception):
    """Raised inside the app to make the server cut the connection without a full response."""


class Clock:
    """Wall-clock time that tests can move forward (or set). Thread-safe."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def set(self, epoch: float) -> None:
        with self._lock:
            self._offset = epoch - time.time()


@dataclass
class Faults:
    """Probabilities (0..1) of each injected fault, and which paths they apply to."""

    error_rate: float = 0.0  # answer 500 without running the request
    throttle_rate: float = 0.0  # answer 429 without running the request
    drop_before_rate: float = 0.0  # cut the connection before the request runs
    drop_after_rate: float = 0.0  # run the request, then cut the connection
    latency: float = 0.0  # seconds added to every matching request
    path_pattern: str = ""  # regex on the path; empty = every API path
    seed: int | None = None

    def matches(self, path: str) -> bool:
        if path.startswith("/_sandbox"):
            return False
        return not self.path_pattern or re.search(self.path_pattern, path) is not None


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    fault: str | None = None
    at: float = 0.0


@dataclass
class RequestLog:
    """Every request a sandbox answered, in order."""

    entries: list[LoggedRequest] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()

    def writes(self, path_contains: str = "") -> list[LoggedRequest]:
        """Requests that could change data: anything but GET/HEAD, and not a query POST."""
        return [
            e
            for e in self.entries
            if e.method not in ("GET", "HEAD")
            and path_contains in e.path
            and not e.path.endswith("/query")
            and "/oauth" not in e.path
            and not e.path.startswith("/_sandbox")
        ]


class SandboxControl:
    """The clock, the fault knobs and the request log of one sandbox."""

    def __init__(self, fault_body: FaultBody, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.faults = Faults()
        self.log = RequestLog()
        self.rng = random.Random()
        self._fault_body = fault_body

    def set_faults(self, **knobs: Any) -> Faults:
        """Replace the fault knobs (unnamed ones go back to 0)."""
        self.faults = Faults(**knobs)
        self.rng = random.Random(self.faults.seed)
        return self.faults

    def _draw(self, path: str) -> str | None:
        f = self.faults
        if not f.matches(path):
            return None
        roll = self.rng.random()
        for name, rate in (
            ("error", f.error_rate),
            ("throttle", f.throttle_rate),
            ("drop_before", f.drop_before_rate),
            ("drop_after", f.drop_after_rate),
        ):
            if roll < rate:
                return name
            roll -= rate
        return None

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """The ASGI app with logging, faults and the control endpoints in front."""

        async def middleware(scope: dict, receive: Callable, send: Callable) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            path = scope["path"]
            if path.startswith("/_sandbox/"):
                await self._control(scope, receive, send)
                return
            status = {"code": 0}

            async def logging_send(message: dict) -> None:
                if message["type"] == "http.response.start":
                    status["code"] = message["status"]
                await send(message)

            fault = self._draw(path)
            entry = LoggedRequest(
                scope["method"], path, scope.get("query_string", b"").decode(), 0, fault, self.clock.now()
            )
            try:
                if self.faults.latency and self.faults.matches(path):
                    await asyncio.sleep(self.faults.latency)
                if fault in ("error", "throttle"):
                    code = 500 if fault == "error" else 429
                    headers, body = self._fault_body(code)
                    await _respond(logging_send, code, body, headers)
                elif fault == "drop_before":
                    await _drop(send)
                elif fault == "drop_after":

                    async def swallow(message: dict) -> None:
                        if message["type"] == "http.response.start":
                            status["code"] = message["status"]

                    await app(scope, receive, swallow)
                    await _drop(send)
                else:
                    await app(scope, receive, logging_send)
            finally:
                entry.status = status["code"]
                self.log.add(entry)

        return middleware

    async def _control(self, scope: dict, receive: Callable, send: Callable) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        data = json.loads(body or b"{}")
        name, method = scope["path"][len("/_sandbox/") :], scope["method"]
        if name == "faults":
            if method == "POST":
                self.set_faults(**data)
            out: Any = asdict(self.faults)
        elif name == "clock":
            if "advance" in data:
                self.clock.advance(float(data["advance"]))
            if "set" in data:
                self.clock.set(float(data["set"]))
            out = {"now": self.clock.now()}
        elif name == "requests":
            if method == "DELETE":
                self.log.clear()
            out = [asdict(e) for e in self.log.entries]
        else:
            await _respond(send, 404, b'{"error": "unknown control endpoint"}')
            return
        await _respond(send, 200, json.dumps(out).encode())


async def _respond(send: Callable, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [
        (k.lower().encode(), v.encode())
        for k, v in (headers or {}).items()
        if k.lower() not in ("content-type", "content-length")
    ]
    if headers and "content-type" in {k.lower() for k in headers}:
        raw[0] = (b"content-type", next(v for k, v in headers.items() if k.lower() == "content-type").encode())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Callable) -> None:
    # A promised body that never comes: a real server then closes the socket, and the
    # client sees "connection closed before the full response" -- the same as a drop.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        }
    )
    raise DroppedConnection("connection dropped by fault injection")
