"""Where a flow's outcomes go: its report, the run's listener, and the failures table.

Every step of the pipeline reports through one `Outcomes`: a record's fate is added to the
flow's report and passed to the listener (the CLI's progress line); a failure or a
deferral is also written to the failures table (not in a dry run), and a record that
succeeds later clears its failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import JoistError
from engine.state.store import State
from engine.sync.report import FlowReport, Outcome

Listener = Callable[[str, Outcome], None]
DEFERRED = "M406"


class Deferred(JoistError):
    """A record waits for a link that another flow makes (not an error)."""

    code = DEFERRED


class Outcomes:
    """The outcomes of one flow in one run (see the module docstring)."""

    def __init__(
        self,
        flow: str,
        state: State,
        *,
        dry_run: bool,
        run_id: int | None,
        listener: Listener | None,
        known_failures: dict[str, set[str]],
    ) -> None:
        self.flow, self.state = flow, state
        self.dry_run, self.run_id, self.listener = dry_run, run_id, listener
        self.known_failures = known_failures  # shared by the run: every recorded failure, by flow
        self.report = FlowReport(flow)

    def emit(self, outcome: Outcome) -> Outcome:
        """Add an outcome to the report and tell the listener."""
        self.report.add(outcome)
        if self.listener:
            self.listener(self.flow, outcome)
        return outcome

    def out(self, sid: str, action: str, **kw: Any) -> Outcome:
        """Report `action` for the record `sid`."""
        return self.emit(Outcome(self.flow, sid, action, **kw))

    def _record(self, sid: str, *, code: str, message: str, hint: str | None) -> None:
        if not self.dry_run:
            self.state.record_failure(self.flow, sid, code=code, message=message, hint=hint, run_id=self.run_id)
            self.known_failures.setdefault(self.flow, set()).add(sid)

    def fail(self, sid: str, error: JoistError, action: str = "error") -> Outcome:
        """Record a failure with its reason and fix; the run goes on."""
        self._record(sid, code=error.code, message=error.message, hint=error.hint)
        return self.out(sid, action, reason=error.message, error=error.to_dict())

    def defer(self, sid: str, reason: str | None) -> Outcome:
        """Record that `sid` waits for a link another flow makes (not an error)."""
        waiting = Deferred(reason or "waiting", hint="it runs again once the record it refers to has synced")
        self._record(sid, code=waiting.code, message=waiting.message, hint=waiting.hint)
        return self.emit(Outcome(self.flow, sid, "defer", reason=reason))

    def succeeded(self, sid: str) -> None:
        """Clear the failure a record had, now that it went through."""
        if not self.dry_run and sid in self.known_failures.get(self.flow, ()):
            self.state.clear_failure(self.flow, sid)

    def withdraw(self, outcome: Outcome) -> None:
        """Take a deferral back out of the report before the record is tried again."""
        self.report.counts[outcome.action] -= 1
        if outcome in self.report.outcomes:
            self.report.outcomes.remove(outcome)
