"""The service's durable inbox: change notices from Procore and QBO, kept until synced.

`joist serve` commits every accepted webhook event here before it answers the sender, so
an event is never lost between "accepted" and "synced". An event is keyed by the sending
system's own event id: a delivery seen before (webhooks are at-least-once) is dropped at
the door. The worker takes the pending events, syncs their records, and marks them done
only after the record's sync committed; a process killed in between finds them still
pending on its next start and syncs them again, and the sync's own intents keep the effect
exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from engine.state.store import State


@dataclass(frozen=True)
class Event:
    """One change notice: which record of which entity of which system changed."""

    event_id: str
    system: str
    entity: str
    record_id: str
    operation: str | None = None
    id: int | None = None  # the inbox row, once stored
    received_at: str | None = None
    attempts: int = 0


class Inbox:
    """The inbox table of one state store (see the module docstring)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, events: Iterable[Event]) -> tuple[int, int]:
        """Store new events in one transaction; returns (added, duplicates dropped)."""
        added = dropped = 0
        with self.state.transaction():
            stamp = self.state.stamp()
            for e in events:
                cursor = self.state.execute(
                    "INSERT INTO inbox (event_id, system, entity, record_id, operation, received_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                    (e.event_id, e.system, e.entity, e.record_id, e.operation, stamp),
                )
                if cursor.rowcount:
                    added += 1
                else:
                    dropped += 1
        return added, dropped

    def pending(self, limit: int = 500) -> list[Event]:
        """The oldest pending events, oldest first."""
        rows = self.state.query(
            "SELECT id, event_id, system, entity, record_id, operation, received_at, attempts "
            "FROM inbox WHERE state = 'pending' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [
            Event(
                r["event_id"],
                r["system"],
                r["entity"],
                r["record_id"],
                r["operation"],
                r["id"],
                r["received_at"],
                r["attempts"],
            )
            for r in rows
        ]

    def done(self, ids: Iterable[int]) -> None:
        """Mark events synced (after their records' sync committed)."""
        with self.state.transaction():
            stamp = self.state.stamp()
            for row_id in ids:
                self.state.execute("UPDATE inbox SET state = 'done', done_at = ? WHERE id = ?", (stamp, row_id))

    def tried(self, ids: Iterable[int], error: str) -> None:
        """Count a failed attempt; the events stay pending for the next turn."""
        with self.state.transaction():
            for row_id in ids:
                self.state.execute(
                    "UPDATE inbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, row_id)
                )

    def depth(self) -> int:
        """How many events wait to be synced."""
        return int(self.state.query("SELECT COUNT(*) FROM inbox WHERE state = 'pending'")[0][0])

    def announce(self, presence: dict[str, object] | None) -> None:
        """Say which service process serves this project (pid, host, url, when); None when it stops."""
        self.state.set_cursor("serve", "process", json.dumps(presence) if presence else None)

    def server(self) -> dict[str, object] | None:
        """The service process that last announced itself here, if any."""
        text = self.state.cursor("serve", "process")
        return json.loads(text) if text else None

    def forget(self, before: str) -> int:
        """Delete done events received before `before` (an ISO time); returns how many."""
        with self.state.transaction():
            cursor = self.state.execute("DELETE FROM inbox WHERE state = 'done' AND received_at < ?", (before,))
        return cursor.rowcount
