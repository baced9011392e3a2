"""What a plan or a sync did, per record and per flow, ready to print or to dump as JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from engine.errors import JoistError
from engine.mapping.diff import Change

ACTIONS = ("create", "update", "adopt", "delete", "skip", "lock", "defer", "error")
KEEP_ALL = frozenset({"create", "update", "adopt", "delete", "lock", "defer", "error"})


@dataclass
class Outcome:
    """One source record's fate in one flow."""

    flow: str
    source_id: str
    action: str
    reason: str | None = None
    entity: str | None = None
    target_id: str | None = None
    changes: list[Change] = field(default_factory=list)
    payload: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"flow": self.flow, "source_id": self.source_id, "action": self.action}
        for key in ("reason", "entity", "target_id", "payload", "error"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.changes:
            out["changes"] = [{"path": c.path, "from": c.old, "to": c.new} for c in self.changes]
        return out


@dataclass
class FlowReport:
    flow: str
    counts: Counter[str] = field(default_factory=Counter)
    outcomes: list[Outcome] = field(default_factory=list)
    disabled: str | None = None
    upstream_off: list[str] = field(default_factory=list)  # flows it depends on that are off
    reads: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.action] += 1
        if outcome.action in KEEP_ALL:
            self.outcomes.append(outcome)
        else:
            self.skip_reasons[outcome.reason or "skipped"] += 1

    def replace(self, old: Outcome, new: Outcome) -> None:
        """A deferred record that went through later in the run."""
        self.counts[old.action] -= 1
        if old in self.outcomes:
            self.outcomes.remove(old)
        self.add(new)

    @property
    def failed(self) -> int:
        return self.counts["error"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "flow": self.flow,
            "disabled": self.disabled,
            "depends_on_off": list(self.upstream_off),
            "counts": {a: self.counts[a] for a in ACTIONS},
            "skipped_because": dict(self.skip_reasons),
            "records": [o.to_dict() for o in self.outcomes],
        }


@dataclass
class RunReport:
    command: str
    flows: list[FlowReport] = field(default_factory=list)
    run_id: int | None = None
    # Systems the run stopped calling (an outage, a rate limit resetting past the cap): their
    # records wait for the next run.
    halted: list[JoistError] = field(default_factory=list)
    # Asked to stop (the service shutting down) before every record was handled.
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.halted and all(f.failed == 0 for f in self.flows)

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.flows:
            total.update(f.counts)
        return total

    def to_dict(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "command": self.command,
            "run_id": self.run_id,
            "ok": self.ok,
            "totals": {a: totals[a] for a in ACTIONS},
            "flows": [f.to_dict() for f in self.flows],
            "halted": [e.to_dict() for e in self.halted],
        }
