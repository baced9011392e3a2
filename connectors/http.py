"""HTTP plumbing both connectors share: a client-side token bucket and a retry policy.

Retries follow one rule: a call is retried only when repeating it cannot do harm. Reads
are always safe; a write is safe when it carries an idempotency key the system honours
(QBO `requestid`, Procore `origin_id` looked up before a re-create). 429 and 5xx wait with
exponential backoff and full jitter, or for `Retry-After` when the server says.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

Sleep = Callable[[float], None]
Now = Callable[[], float]


class TokenBucket:
    """Allows `rate` calls per `per` seconds on average, bursts up to `capacity`.

    `acquire()` blocks (through `sleep`) until a token is free. Thread-safe.
    `pause_until(t)` empties the bucket until monotonic time `t` (a server's reset time).
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        capacity: float | None = None,
        *,
        now: Now = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.fill_per_second = rate / per
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._now = now
        self._sleep = sleep
        self._last = now()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.fill_per_second)
        self._last = now

    def acquire(self, tokens: float = 1.0) -> float:
        """Take `tokens`, waiting as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._now()
                self._refill(now)
                if now < self._paused_until:
                    wait = self._paused_until - now
                elif self._tokens >= tokens - 1e-9:  # float refill can land a hair short
                    self._tokens = max(0.0, self._tokens - tokens)
                    return waited
                else:
                    wait = (tokens - self._tokens) / self.fill_per_second
            self._sleep(wait)
            waited += wait

    def pause_until(self, until: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, until)
            self._tokens = 0.0
            self._last = max(self._last, until)


@dataclass
class RetryPolicy:
    """How often and how long to retry a call that may succeed later."""

    attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before attempt number `attempt + 1` (attempt counts from 1)."""
        if response is not None:
            after = retry_after(response)
            if after is not None:
                return min(after, self.cap)
        return self.rng.uniform(0, min(self.cap, self.base * (2 ** (attempt - 1))))

    def should_retry(self, response: httpx.Response) -> bool:
        return response.status_code in self.retry_statuses


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (either delta-seconds or an HTTP date), if present."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


LOG = logging.getLogger("joist.connectors")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def where(request: httpx.Request) -> str:
    """The address a request went to, without its query (which may carry ids, never secrets, but is long)."""
    url = request.url
    return f"{url.scheme}://{url.netloc.decode()}{url.path}"


def unreachable(system: str, request: httpx.Request, exc: Exception) -> tuple[str, str]:
    """The message and hint for a call that could not reach `system` at all.

    The message names the address; on a loopback address (a local sandbox) the hint asks
    whether the sandbox is running and how to start it.
    """
    message = f"could not reach {system} at {where(request)} ({type(exc).__name__})"
    if request.url.host in LOOPBACK:
        hint = (
            "is the sandbox running? `joist sandbox up --project DIR --background` serves it on the port "
            "joist.yaml names; running again is safe (nothing is written twice)"
        )
    else:
        hint = "check the network and the base_url in joist.yaml; running again is safe (nothing is written twice)"
    return message, hint


TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


# A refused connection to 127.0.0.1 is a server that is not running, not a network hiccup:
# one retry (a server just starting), then the error, instead of a minute of backoff.
LOOPBACK_ATTEMPTS = 2


def send_with_retries(
    client: httpx.Client,
    request: httpx.Request,
    *,
    safe_to_retry: bool,
    policy: RetryPolicy,
    bucket: TokenBucket | None = None,
    sleep: Sleep = time.sleep,
    on_response: Callable[[httpx.Response], None] | None = None,
) -> httpx.Response:
    """Send `request`, retrying throttling, outages and dropped connections when safe.

    Returns the last response (which may still be an error status for the caller to turn
    into a typed error); re-raises the transport error when every attempt failed or when
    the call is not safe to repeat.
    """
    attempt = 0
    while True:
        attempt += 1
        if bucket is not None:
            bucket.acquire()
        try:
            response = client.send(request)
        except TRANSIENT_ERRORS as exc:
            refused = isinstance(exc, httpx.ConnectError) and request.url.host in LOOPBACK
            if not safe_to_retry or attempt >= policy.attempts or (refused and attempt >= LOOPBACK_ATTEMPTS):
                raise
            wait = policy.delay(attempt)
            LOG.warning(
                "cannot reach %s (%s); retry %d of %d in %.1f s",
                where(request),
                type(exc).__name__,
                attempt,
                policy.attempts - 1,
                wait,
            )
            sleep(wait)
            continue
        if on_response is not None:
            on_response(response)
        if (
            policy.should_retry(response)
            and attempt < policy.attempts
            and (safe_to_retry or response.status_code == 429)
        ):
            response.read()
            wait = policy.delay(attempt, response)
            if wait >= 1.0:
                LOG.warning(
                    "%s answered HTTP %d; retry %d of %d in %.1f s",
                    where(request),
                    response.status_code,
                    attempt,
                    policy.attempts - 1,
                    wait,
                )
            sleep(wait)
            continue
        return response
