"""The service's inbox on both backends: an event is stored once however many deliveries race."""

from __future__ import annotations

import threading

from engine.state.backends import open_state
from engine.state.inbox import Event, Inbox
from engine.state.store import State


def test_racing_deliveries_store_each_event_once(store: State, state_spec: str) -> None:
    events = [Event(f"evt-{n}", "procore", "vendors", str(n), "update") for n in range(40)]
    others = [open_state(state_spec) for _ in range(3)]
    totals: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def deliver(state: State) -> None:
        try:
            for start in range(0, len(events), 8):  # the same batches, from every "process" at once
                totals.append(Inbox(state).add(events[start : start + 8]))
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(s,)) for s in [store, *others]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for other in others:
        other.close()
    assert errors == []
    assert sum(added for added, _ in totals) == len(events)
    assert sum(dropped for _, dropped in totals) == 3 * len(events)
    inbox = Inbox(store)
    pending = inbox.pending()
    assert [e.event_id for e in pending] == [e.event_id for e in events]
    inbox.done([e.id for e in pending[:10] if e.id is not None])
    inbox.tried([e.id for e in pending[10:12] if e.id is not None], "C508 down")
    assert inbox.depth() == 30
    assert [e.attempts for e in inbox.pending()[:3]] == [1, 1, 0]
