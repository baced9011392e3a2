"""HTTP plumbing both connectors share: a client-side token bucket and a retry policy.

Retries follow one rule: a call is retried only when repeating it cannot do harm. Reads
are always safe; a write is safe when it carries an idempotency key the system honours
(QBO `requestid`, Procore `origin_id` looked up before a re-create). 429 and 5xx wait with
exponential backoff and full jitter, or for `Retry-After` when the server says.

Two limits keep a run from hanging on a system:

- **A wait has a cap.** A rate limit that resets further ahead than `max_wait` (joist.yaml
  `runs.rate_limit_wait`) raises `WaitTooLong` instead of sleeping; a shorter wait is
  announced on the `joist.connectors` logger with its reset time (the CLI prints it).
- **A circuit breaker per system.** After `threshold` connection failures in a row
  (`runs.outage_after`), `CircuitOpen` is raised at once for every further call of the run,
  so an outage costs seconds, not a backoff per record.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

Sleep = Callable[[float], None]
Now = Callable[[], float]
log = logging.getLogger("joist.connectors")


def span(seconds: float) -> str:
    """`2h 5m`, `4m 10s`, `12s`: a wait as people read it."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def clock_time(wall: float) -> str:
    """A wall-clock time (epoch seconds) as `2026-12-06 10:42:07 UTC`."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class WaitTooLong(Exception):
    """A rate limit resets later than the longest wait allowed."""

    def __init__(self, seconds: float, cap: float, until_wall: float) -> None:
        self.seconds, self.cap, self.until_wall = seconds, cap, until_wall
        super().__init__(f"the rate limit resets in {span(seconds)}, at {clock_time(until_wall)}")


class TokenBucket:
    """Allows `rate` calls per `per` seconds on average, bursts up to `capacity`.

    `acquire()` blocks (through `sleep`) until a token is free. Thread-safe.
    `pause_until(t)` empties the bucket until monotonic time `t` (a server's reset time).
    A pause longer than `max_wait` seconds raises `WaitTooLong` instead of sleeping; a
    shorter one is logged once with its reset time (`wall` reads the wall clock), naming
    the system (`name`).
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        capacity: float | None = None,
        *,
        now: Now = time.monotonic,
        sleep: Sleep = time.sleep,
        max_wait: float | None = None,
        wall: Now = time.time,
        name: str = "the system",
    ) -> None:
        self.fill_per_second = rate / per
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._now = now
        self._sleep = sleep
        self._last = now()
        self._paused_until = 0.0
        self._announced = 0.0
        self.max_wait = max_wait
        self._wall = wall
        self.name = name
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
                    self._check_pause(wait)
                elif self._tokens >= tokens - 1e-9:  # float refill can land a hair short
                    self._tokens = max(0.0, self._tokens - tokens)
                    return waited
                else:
                    wait = (tokens - self._tokens) / self.fill_per_second
            self._sleep(wait)
            waited += wait

    def _check_pause(self, wait: float) -> None:
        until_wall = self._wall() + wait
        if self.max_wait is not None and wait > self.max_wait:
            raise WaitTooLong(wait, self.max_wait, until_wall)
        if self._announced != self._paused_until:
            self._announced = self._paused_until
            cap = f" (the cap is {span(self.max_wait)})" if self.max_wait is not None else ""
            log.warning(
                "%s's rate limit is used up: waiting %s, until %s%s",
                self.name,
                span(wait),
                clock_time(until_wall),
                cap,
            )

    def check(self) -> None:
        """Raise `WaitTooLong` now if the bucket is paused for longer than `max_wait`."""
        with self._lock:
            now = self._now()
            if now < self._paused_until and self.max_wait is not None and self._paused_until - now > self.max_wait:
                self._check_pause(self._paused_until - now)

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

# Failing to connect at all is what an outage looks like (refused, no route, DNS, connect
# timeout); a connection dropped after it was made, or a slow answer, is a fault of one call.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout)


class CircuitBreaker:
    """Counts failures to connect to one system in a row; at `threshold` it opens for good (the run's rest).

    Only `OUTAGE_ERRORS` count. Any answer from the system (whatever its status) resets the
    count while it is closed.
    """

    def __init__(self, threshold: int = 3) -> None:
        self.threshold = max(1, threshold)
        self.failures = 0
        self.last_error: Exception | None = None
        self.url: str | None = None
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        return self.failures >= self.threshold

    def failure(self, error: Exception, url: str) -> None:
        with self._lock:
            self.failures += 1
            self.last_error, self.url = error, url

    def success(self) -> None:
        with self._lock:
            if not self.open:
                self.failures = 0


class CircuitOpen(Exception):
    """The system failed `breaker.threshold` connections in a row: it is not called again in this run."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker
        super().__init__(f"{breaker.url} failed {breaker.failures} connections in a row: {breaker.last_error!r}")


# A refused connection to 127.0.0.1 is a server that is not running, not a network hiccup:
# one retry (a server just starting), then the error, instead of a minute of backoff.
LOOPBACK_ATTEMPTS = 2


class Tally:
    """Counts kept for the life of the process, by key (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def add(self, key: str) -> None:
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)


#: 429 (too many requests) answers, by host: what the service's /metrics reports.
THROTTLED = Tally()


def send_with_retries(
    client: httpx.Client,
    request: httpx.Request,
    *,
    safe_to_retry: bool,
    policy: RetryPolicy,
    bucket: TokenBucket | None = None,
    sleep: Sleep = time.sleep,
    on_response: Callable[[httpx.Response], None] | None = None,
    breaker: CircuitBreaker | None = None,
) -> httpx.Response:
    """Send `request`, retrying throttling, outages and dropped connections when safe.

    Returns the last response (which may still be an error status for the caller to turn
    into a typed error); re-raises the transport error when every attempt failed or when
    the call is not safe to repeat. Raises `CircuitOpen` (without sending) once `breaker`
    has seen its threshold of connection failures in a row, and `WaitTooLong` when the
    bucket is paused past its cap.
    """
    attempt = 0
    while True:
        attempt += 1
        if breaker is not None and breaker.open:
            raise CircuitOpen(breaker)
        if bucket is not None:
            bucket.acquire()
        try:
            response = client.send(request)
        except TRANSIENT_ERRORS as exc:
            if breaker is not None and isinstance(exc, OUTAGE_ERRORS):
                breaker.failure(exc, str(request.url).split("?", 1)[0])
                if breaker.open:
                    raise CircuitOpen(breaker) from exc
            refused = isinstance(exc, httpx.ConnectError) and request.url.host in LOOPBACK
            if not safe_to_retry or attempt >= policy.attempts or (refused and attempt >= LOOPBACK_ATTEMPTS):
                raise
            wait = policy.delay(attempt)
            log.warning(
                "cannot reach %s (%s); retry %d of %d in %.1f s",
                where(request),
                type(exc).__name__,
                attempt,
                policy.attempts - 1,
                wait,
            )
            sleep(wait)
            continue
        if breaker is not None:
            breaker.success()
        if on_response is not None:
            on_response(response)
        if response.status_code == 429:
            THROTTLED.add(request.url.host or "")
        if (
            policy.should_retry(response)
            and attempt < policy.attempts
            and (safe_to_retry or response.status_code == 429)
        ):
            response.read()
            if bucket is not None:
                bucket.check()
            delay = policy.delay(attempt, response)
            if delay >= 1.0 or response.status_code == 429:
                log.warning(
                    "%s answered HTTP %d: waiting %s before try %d of %d",
                    where(request),
                    response.status_code,
                    span(delay),
                    attempt + 1,
                    policy.attempts,
                )
            sleep(delay)
            continue
        return response
