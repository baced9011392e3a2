"""How runs behave when they meet each other, rate limits and outages: joist.yaml's `runs:`.

```yaml
runs:
  lock_wait: 30          # seconds a second run waits for the one holding the project
  lock_stale_after: 120  # a holder whose heartbeat is this old (seconds) counts as dead
  rate_limit_wait: 900   # the longest wait for a system's rate limit to reset; longer stops the run
  outage_after: 3        # connection failures in a row before a run stops calling a system
```

Every key is optional; the defaults are the values above.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.state.lock import DEFAULT_STALE_AFTER, DEFAULT_WAIT


@dataclass(frozen=True)
class RunSettings:
    """joist.yaml's `runs:` with defaults filled in (seconds, and a count for `outage_after`)."""

    lock_wait: float = DEFAULT_WAIT
    lock_stale_after: float = DEFAULT_STALE_AFTER
    rate_limit_wait: float = 900.0
    outage_after: int = 3

    @classmethod
    def from_yaml(cls, raw: Mapping[str, Any] | None) -> RunSettings:
        """The settings of a (schema-checked) `runs:` mapping."""
        raw = raw or {}
        defaults = cls()
        return cls(
            lock_wait=float(raw.get("lock_wait", defaults.lock_wait)),
            lock_stale_after=float(raw.get("lock_stale_after", defaults.lock_stale_after)),
            rate_limit_wait=float(raw.get("rate_limit_wait", defaults.rate_limit_wait)),
            outage_after=int(raw.get("outage_after", defaults.outage_after)),
        )

    def connector_options(self) -> dict[str, Any]:
        """What every connector is opened with: the rate-limit cap and the circuit breaker's threshold."""
        return {"rate_limit_wait": self.rate_limit_wait, "outage_after": self.outage_after}
