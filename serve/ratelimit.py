"""Rate limits shared by every worker: one token bucket per QBO realm and per Procore company, in Redis.

A connector paces its calls with a bucket (`connectors.http.TokenBucket`: `acquire`,
`check`, `pause_until`). In one process that bucket lives in memory; a deployment's
workers may sync the same connection one after another on different machines, and a
realm's limit (QBO: 500 calls a minute) counts every call of the app on it. `RedisBucket`
keeps the bucket's state (tokens, last refill, paused until) in one Redis hash per
account, updated by one Lua script under Redis's own clock, so every worker draws from
the same budget and a 429's pause seen by one worker holds for all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from connectors.http import WaitTooLong

log = logging.getLogger("joist.ratelimit")

# KEYS[1]: the hash. ARGV: fill per second, capacity, tokens wanted, pause seconds (0: none).
# Returns the seconds to wait (0: the tokens were taken), as text (Lua numbers lose precision as replies).
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local fill, cap, want, pause = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'last', 'paused')
local tokens, last, paused = tonumber(s[1]) or cap, tonumber(s[2]) or now, tonumber(s[3]) or 0
if pause > 0 then
  paused = math.max(paused, now + pause)
  tokens = 0
  last = math.max(last, paused)
end
if now > last then
  tokens = math.min(cap, tokens + (now - last) * fill)
  last = now
end
local wait = 0
if now < paused then
  wait = paused - now
elseif want > 0 then
  if tokens >= want - 1e-9 then
    tokens = math.max(0, tokens - want)
  else
    wait = (want - tokens) / fill
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(last), 'paused', tostring(paused))
redis.call('EXPIRE', KEYS[1], 7200)
return tostring(wait)
"""


class RedisBucket:
    """`rate` calls per `per` seconds, bursts up to `capacity`, shared through the Redis hash `key`."""

    def __init__(
        self,
        client: Any,
        key: str,
        rate: float,
        per: float = 1.0,
        capacity: float | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float | None = None,
        name: str = "the system",
    ) -> None:
        self.client = client
        self.key = key
        self.fill_per_second = rate / per
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self.sleep = sleep
        self.max_wait = max_wait
        self.name = name
        self._script = client.register_script(_SCRIPT)

    def _call(self, want: float, pause: float = 0.0) -> float:
        return float(self._script(keys=[self.key], args=[self.fill_per_second, self.capacity, want, pause]))

    def _check(self, wait: float, paused: bool) -> None:
        if paused and self.max_wait is not None and wait > self.max_wait:
            raise WaitTooLong(wait, self.max_wait, time.time() + wait)

    def acquire(self, tokens: float = 1.0) -> float:
        """Take `tokens` from the shared bucket, waiting as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            wait = self._call(tokens)
            if wait <= 0:
                return waited
            self._check(wait, wait > tokens / self.fill_per_second + 1e-6)
            self.sleep(wait)
            waited += wait

    def check(self) -> None:
        """Raise `WaitTooLong` now if the shared bucket is paused for longer than `max_wait`."""
        wait = self._call(0.0)
        self._check(wait, True)

    def pause_until(self, until: float) -> None:
        """Empty the bucket for every worker until monotonic time `until` (a server's reset time)."""
        seconds = until - time.monotonic()
        if seconds > 0:
            log.warning("%s's rate limit is used up: every worker waits %.0f s", self.name, seconds)
            self._call(0.0, seconds)


def shared_buckets(client: Any, project: Any) -> dict[str, dict[str, Any]]:
    """Connector options giving a connection's connectors their account's shared bucket.

    QBO: 490 calls a minute per realm, bursts of 10 (as the QBO connector paces alone);
    Procore: 1000 a second per company, the connector's own pace. Keys: `joist:rate:qbo:REALM`
    and `joist:rate:procore:COMPANY`.
    """
    options: dict[str, dict[str, Any]] = {}
    if "qbo" in project.connections:
        realm = project.connections["qbo"].account_id
        options["qbo"] = {
            "bucket": RedisBucket(client, f"joist:rate:qbo:{realm}", 490, 60.0, 10, max_wait=900, name="QuickBooks")
        }
    if "procore" in project.connections:
        company = project.connections["procore"].account_id
        options["procore"] = {
            "bucket": RedisBucket(
                client, f"joist:rate:procore:{company}", 1000, 1.0, 1000, max_wait=900, name="Procore"
            )
        }
    return options
