"""The service's worker: inbox events become targeted syncs, and a poll catches the rest.

One thread, one sync at a time. Events wait `window` seconds from their first sight so a
burst on one record (a save, then its lines) is synced once; then every pending event is
taken at once, grouped by the flows whose source is its entity, and its records run
through `Sync.run_records` — the same planner and writer as `joist sync`, each record
re-read by id. Events are marked done only after that sync returned, so a process killed
mid-sync replays them on its next start (the sync's intents keep the writes exactly once).
Every `poll_every` seconds, and once at start-up, an incremental sync by cursor (QBO CDC,
Procore `updated_at`) catches whatever webhooks missed; with webhooks down the service is
slower, never wrong. A sync that stops on an error (an outage, expired tokens) leaves its
events pending and is tried again after a pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from engine.errors import JoistError
from engine.project.session import Session
from engine.state.inbox import Event, Inbox
from engine.sync.report import Outcome
from serve.metrics import Metrics

Log = Callable[..., None]
WRITES = frozenset({"create", "update", "delete", "adopt"})


class Worker:
    """Syncs inbox events and polls (see the module docstring)."""

    def __init__(
        self,
        session: Session,
        metrics: Metrics,
        log: Log,
        *,
        window: float = 1.0,
        poll_every: float = 300.0,
        batch: int = 500,
        retry_pause: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        held: Callable[[], bool] | None = None,
    ) -> None:
        self.session, self.metrics, self.log = session, metrics, log
        self.held = held  # while it answers True nothing syncs (an onboarding under way)
        self.inbox = Inbox(session.state)
        self.window, self.poll_every, self.batch, self.retry_pause = window, poll_every, batch, retry_pause
        self.clock = clock
        self.first_seen: dict[int, float] = {}
        self.last_poll: float | None = None  # clock() of the last finished poll
        self.last_poll_at: float | None = None  # wall time of the same, for /readyz
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None  # the last sync's error, until one succeeds
        self.presence: dict[str, Any] = {}  # what `joist status` shows of this process (set by the service)
        self._announced = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="joist-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Finish the sync in hand, take nothing new; True when the thread ended in time."""
        self._stop.set()
        self._wake.set()
        drained = True
        if self._thread is not None:
            self._thread.join(timeout)
            drained = not self._thread.is_alive()
        self.inbox.announce(None)
        return drained

    def wake(self) -> None:
        """New events are in the inbox."""
        self._wake.set()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop --------------------------------------------------------------------------

    def _announce(self) -> None:
        """Tell `joist status` this process serves the project (every 10 s at most)."""
        now = time.time()
        if now - self._announced >= 10:
            self.inbox.announce(self.presence | {"at": now})
            self._announced = now

    def _holding(self) -> bool:
        """Wait half a second if syncs are held; True when they were."""
        if self.held is None or not self.held():
            return False
        self._wake.wait(0.5)
        self._wake.clear()
        return True

    def _loop(self) -> None:
        caught_up = False
        while not self._stop.is_set():
            self._announce()
            if self._holding():
                continue
            if not caught_up:
                self.poll("catch-up")
                caught_up = True
                continue
            events = self.inbox.pending(self.batch)
            self.metrics.inbox_depth.set(len(events))
            now = self.clock()
            for e in events:
                assert e.id is not None
                self.first_seen.setdefault(e.id, now)
            oldest = min((self.first_seen[e.id] for e in events if e.id is not None), default=None)
            if oldest is not None and now - oldest >= self.window:
                self.sync_events(events)
                continue
            if self.poll_every > 0 and (self.last_poll is None or now - self.last_poll >= self.poll_every):
                self.poll("poll")
                continue
            wait = self.window - (now - oldest) if oldest is not None else 0.5
            self._wake.wait(max(0.01, min(wait, 0.5)))
            self._wake.clear()

    def _pause(self) -> None:
        self._stop.wait(self.retry_pause)

    def targets(self, events: list[Event]) -> dict[str, set[str]]:
        """The flows each event's record runs through: those whose source is its entity."""
        found: dict[str, set[str]] = {}
        for rule in self.session.ruleset.rules.values():
            for e in events:
                if rule.source.system == e.system and rule.source.entity == e.entity:
                    found.setdefault(rule.flow, set()).add(e.record_id)
        return found

    def sync_events(self, events: list[Event]) -> None:
        """One targeted sync for every pending event; done only once it returned."""
        ids = [e.id for e in events if e.id is not None]
        targets = self.targets(events)
        started = time.perf_counter()
        try:
            if targets:
                self.session.fresh_connectors()
                report = self.session.run_records(targets, listener=self._outcome, stop=self._stop)
                self.metrics.count(report, "events")
                if report.interrupted:  # shutting down: the rest stays pending for the next start
                    self.log("stopped mid-sync", events=len(events))
                    return
        except JoistError as exc:
            self._failed("events", exc, len(events))
            self.inbox.tried(ids, exc.message)
            self._pause()
            return
        self.inbox.done(ids)
        now = self.clock()
        for row_id in ids:
            self.metrics.latency.observe(max(0.0, now - self.first_seen.pop(row_id, now)))
        self.error = None
        self.log(
            "synced",
            events=len(events),
            flows=sorted(targets),
            seconds=round(time.perf_counter() - started, 3),
        )

    def poll(self, kind: str) -> None:
        """An incremental sync of every flow by cursor (what `joist sync` does)."""
        started = time.perf_counter()
        try:
            self.session.fresh_connectors()
            report = self.session.run(None, listener=self._outcome, command="serve", stop=self._stop)
        except JoistError as exc:
            self._failed(kind, exc, 0)
            self.last_poll = self.clock()  # try again at the next interval, not at once
            return
        self.metrics.count(report, kind)
        self.last_poll, self.last_poll_at = self.clock(), time.time()
        self.metrics.last_poll.set(self.last_poll_at)
        self.error = None
        self.log(kind, seconds=round(time.perf_counter() - started, 3), **dict(report.totals()))

    def _failed(self, kind: str, exc: JoistError, events: int) -> None:
        self.error = exc.format()
        self.metrics.run_failures.labels(kind).inc()
        self.log("sync stopped", kind=kind, code=exc.code, error=exc.message, hint=exc.hint, events=events)

    def _outcome(self, flow: str, outcome: Outcome) -> None:
        if outcome.action in WRITES or outcome.action == "error":
            fields: dict[str, Any] = {"flow": flow, "source_id": outcome.source_id, "target_id": outcome.target_id}
            if outcome.action == "error":
                fields["reason"] = outcome.reason
            self.log(outcome.action, **fields)
