"""The sync state: links, cursors, runs, failures, write intents and OAuth tokens.

Everything the sync engine must remember between runs lives here, behind the narrow
`StateStore` protocol; `SQLiteState` is the embedded backend (stdlib `sqlite3`, WAL,
`synchronous=FULL`, `.joist/state.db` by default). Every write commits before the method
returns, or at the end of the outermost `transaction()` when called inside one, so a
process killed at any moment leaves the store as it was after its last commit.

Idempotent creates (DESIGN.md §5) go through intents::

    key = intent_key(flow, source_id, payload_hash)
    store.begin_intent(flow, source_id, key, action="create", target_system="qbo",
                       target_entity="Bill", payload_hash=payload_hash)   # durable now
    created = qbo.create("Bill", payload, idempotency_key=key)
    with store.transaction():
        store.put_link(Link("bills", source_id, created["Id"], ...))
        store.complete_intent(key, target_id=created["Id"])

After a crash, `pending_intents()` lists the creates that may or may not have reached the
target; the engine replays each with its stored `key` (or finds it with
`Connector.find_created`) instead of creating again.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.state.driver import Cursor, Driver
from engine.state.lock import alive, stale
from engine.state.migrations import StateBusy, StateError, StateTooNew, StateUnreadable, StateUnwritable, migrate
from engine.state.records import (
    Failure,
    Intent,
    Link,
    LinkConflict,
    LockHolder,
    Run,
    StateStore,
    UnknownIntent,
    canonical_json,
    content_hash,
    intent_key,
)
from engine.state.sqlite import SQLiteDriver

__all__ = [
    "DEFAULT_STATE_PATH",
    "Link",
    "Run",
    "Failure",
    "Intent",
    "StateStore",
    "State",
    "SQLiteState",
    "StateTokenStore",
    "LinkConflict",
    "UnknownIntent",
    "StateError",
    "StateBusy",
    "StateUnreadable",
    "StateUnwritable",
    "StateTooNew",
    "intent_key",
    "canonical_json",
    "content_hash",
]

DEFAULT_STATE_PATH = Path(".joist/state.db")
SYSTEMS = ("procore", "qbo")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


_LINK_COLUMNS = tuple(f.name for f in fields(Link))
_FAILURE_COLUMNS = tuple(f.name for f in fields(Failure))
_INTENT_COLUMNS = tuple(f.name for f in fields(Intent))


def _link(row: Any) -> Link:
    values = {name: row[name] for name in _LINK_COLUMNS}
    values["locked"] = bool(values["locked"])
    return Link(**values)


def _run(row: Any) -> Run:
    counts = json.loads(row["counts"]) if row["counts"] else {}
    status = row["status"]
    if status == "running" and row["pid"] and row["host"] == socket.gethostname() and not alive(row["pid"]):
        status = "interrupted"
    return Run(
        row["id"],
        row["command"],
        row["selection"],
        status,
        row["started_at"],
        row["finished_at"],
        counts,
        row["pid"],
        row["host"],
    )


class State:
    """The state store on one database connection (`db`), safe to share between threads.

    The backend is the `Driver`: `SQLiteState` opens a file, `engine.state.postgres.PostgresState`
    a PostgreSQL schema; `open_state` picks one from joist.yaml's `state:`. `now` returns
    the current time (aware datetime); tests pass a movable clock. A failed record may be
    retried `retry_base * 2**(attempts-1)` seconds after its last failure, at most
    `retry_cap` seconds.
    """

    def __init__(
        self,
        db: Driver,
        *,
        now: Callable[[], datetime] = _utc_now,
        retry_base: float = 60.0,
        retry_cap: float = 6 * 3600.0,
    ) -> None:
        self._db = db
        self.where = db.where
        self._now = now
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self._lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None
        try:
            with db.errors():
                migrate(db, getattr(db, "path", db.where), now=self.stamp)
        except BaseException:
            db.close()
            raise

    @property
    def backend(self) -> str:
        """Which database holds the store: "sqlite" or "postgresql"."""
        return self._db.kind

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection; the file stays consistent whether or not this is called."""
        with self._lock:
            self._db.close()

    # -- plumbing ---------------------------------------------------------------------------

    def stamp(self) -> str:
        """The store's clock now, as the ISO text its rows hold."""
        return _iso(self._now())

    def _errors(self) -> AbstractContextManager[None]:
        return self._db.errors()

    @property
    def in_transaction(self) -> bool:
        """True while the calling thread is inside `transaction()`."""
        return self._depth > 0 and self._owner == threading.get_ident()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit everything inside at the end, or nothing if it raises.

        A nested call joins the outer transaction through a savepoint: if the inner block
        raises, only its own writes are undone, and the exception goes on up. Other threads
        wait until the outermost block ends.
        """
        with self._lock, self._errors():
            savepoint = f"joist_{self._depth}" if self._depth else None
            if savepoint:
                self._db.execute(f"SAVEPOINT {savepoint}")
            else:
                self._db.begin()
            self._depth += 1
            self._owner = threading.get_ident()
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                    if savepoint:
                        self._db.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                        self._db.execute(f"RELEASE SAVEPOINT {savepoint}")
                    else:
                        self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if savepoint:
                self._db.execute(f"RELEASE SAVEPOINT {savepoint}")
            else:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise

    @contextmanager
    def _durable(self, what: str) -> Iterator[None]:
        """A transaction that must be on disk when it ends, so it may not join an outer one."""
        with self._lock:
            if self._depth:
                raise RuntimeError(
                    f"{what} must not run inside a transaction: it has to be on disk before the call it guards is made"
                )
            with self.transaction():
                yield

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one read (`?` placeholders; each row readable by index and by column name), under the store's lock."""
        with self._lock, self._errors():
            return list(self._db.execute(sql, params).fetchall())

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """One statement; call it inside `transaction()`, which holds the lock and commits."""
        return self._db.execute(sql, params)

    # -- links ------------------------------------------------------------------------------

    @staticmethod
    def _side(procore_id: str | None, qbo_id: str | None) -> tuple[str, str]:
        if (procore_id is None) == (qbo_id is None):
            raise ValueError("give exactly one of procore_id and qbo_id")
        return ("procore_id", str(procore_id)) if procore_id is not None else ("qbo_id", str(qbo_id))

    def find_link(self, link_set: str, *, procore_id: str | None = None, qbo_id: str | None = None) -> Link | None:
        """The link holding this Procore id (or QBO id) in `link_set`, or None."""
        column, value = self._side(procore_id, qbo_id)
        rows = self.query(f"SELECT * FROM links WHERE link_set = ? AND {column} = ?", (link_set, value))
        return _link(rows[0]) if rows else None

    def links(self, link_set: str | None = None) -> list[Link]:
        """Every link (of one link set, when given), in the order they were made."""
        if link_set is None:
            rows = self.query("SELECT * FROM links ORDER BY link_set, id")
        else:
            rows = self.query("SELECT * FROM links WHERE link_set = ? ORDER BY id", (link_set,))
        return [_link(row) for row in rows]

    def resolver(self, link_set: str, toward: str) -> Callable[[str], str | None]:
        """A function from an id on one side to its twin's id: toward "qbo" maps Procore ids to QBO ids.

        It reads the store on every call, so links made later in the same run are seen.
        """
        if toward not in SYSTEMS:
            raise ValueError(f"toward must be one of {', '.join(SYSTEMS)}, not {toward!r}")
        have, want = ("procore_id", "qbo_id") if toward == "qbo" else ("qbo_id", "procore_id")
        sql = f"SELECT {want} FROM links WHERE link_set = ? AND {have} = ?"

        def resolve(record_id: str) -> str | None:
            rows = self.query(sql, (link_set, str(record_id)))
            return rows[0][0] if rows else None

        return resolve

    def put_link(self, link: Link) -> Link:
        """Insert or update the link holding either id; returns it as stored.

        A link found by one id gets the other id if it had none. Every other field is
        replaced by the given value. Linking a record to a second, different twin raises
        `LinkConflict` and changes nothing.
        """
        if link.procore_id is None and link.qbo_id is None:
            raise ValueError("a link needs a procore_id or a qbo_id")
        pid = None if link.procore_id is None else str(link.procore_id)
        qid = None if link.qbo_id is None else str(link.qbo_id)
        with self.transaction():
            by_p = self._row("procore_id", link.link_set, pid)
            by_q = self._row("qbo_id", link.link_set, qid)
            if by_p is not None and by_p["qbo_id"] is not None and qid is not None and by_p["qbo_id"] != qid:
                raise LinkConflict(link.link_set, "procore", pid or "", by_p["qbo_id"], qid)
            if by_q is not None and by_q["procore_id"] is not None and pid is not None and by_q["procore_id"] != pid:
                raise LinkConflict(link.link_set, "qbo", qid or "", by_q["procore_id"], pid)
            existing = by_p if by_p is not None else by_q
            if by_p is not None and by_q is not None and by_p["id"] != by_q["id"]:
                # Two half links (Procore-only and QBO-only) now meet: keep one row.
                self.execute("DELETE FROM links WHERE id = ?", (by_q["id"],))
            values = {name: getattr(link, name) for name in _LINK_COLUMNS}
            values.update(
                procore_id=pid or (existing["procore_id"] if existing else None),
                qbo_id=qid or (existing["qbo_id"] if existing else None),
                locked=1 if link.locked else 0,
                updated_at=self.stamp(),
            )
            names = [n for n in _LINK_COLUMNS if n != "link_set"]
            try:
                if existing is None:
                    cols = ", ".join(_LINK_COLUMNS)
                    marks = ", ".join("?" for _ in _LINK_COLUMNS)
                    cur = self.execute(
                        f"INSERT INTO links ({cols}) VALUES ({marks}) RETURNING id",
                        tuple(values[n] for n in _LINK_COLUMNS),
                    )
                    row_id = cur.fetchone()[0]
                else:
                    sets = ", ".join(f"{n} = ?" for n in names)
                    self.execute(
                        f"UPDATE links SET {sets} WHERE id = ?", tuple(values[n] for n in names) + (existing["id"],)
                    )
                    row_id = existing["id"]
            except self._db.integrity_error:
                raise LinkConflict(link.link_set, "procore", pid or "?", "another record", qid or "?") from None
            return _link(self.execute("SELECT * FROM links WHERE id = ?", (row_id,)).fetchone())

    def _row(self, column: str, link_set: str, value: str | None) -> Any:
        if value is None:
            return None
        return self.execute(f"SELECT * FROM links WHERE link_set = ? AND {column} = ?", (link_set, value)).fetchone()

    def remove_link(self, link_set: str, *, procore_id: str | None = None, qbo_id: str | None = None) -> bool:
        """Forget the link holding this id; True if there was one."""
        column, value = self._side(procore_id, qbo_id)
        with self.transaction():
            cur = self.execute(f"DELETE FROM links WHERE link_set = ? AND {column} = ?", (link_set, value))
            return cur.rowcount > 0

    def link_counts(self) -> dict[str, int]:
        """How many links each link set holds."""
        rows = self.query("SELECT link_set, COUNT(*) FROM links GROUP BY link_set ORDER BY link_set")
        return {row[0]: int(row[1]) for row in rows}

    # -- cursors and runs -------------------------------------------------------------------

    def cursor(self, system: str, entity: str) -> str | None:
        """Where the last read of `entity` on `system` stopped (None: read everything)."""
        rows = self.query("SELECT value FROM cursors WHERE system = ? AND entity = ?", (system, entity))
        return rows[0][0] if rows else None

    def set_cursor(self, system: str, entity: str, value: str | None) -> None:
        """Remember where to resume; None forgets it (the next read is a full one)."""
        with self.transaction():
            self.execute(
                "INSERT INTO cursors (system, entity, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (system, entity) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (system, entity, value, self.stamp()),
            )

    def start_run(self, command: str, selection: str) -> int:
        """Record that a run began (status "running"); returns its id."""
        with self.transaction():
            cur = self.execute(
                "INSERT INTO runs (command, selection, status, started_at, pid, host) VALUES (?, ?, ?, ?, ?, ?) "
                "RETURNING id",
                (command, selection, "running", self.stamp(), os.getpid(), socket.gethostname()),
            )
            return int(cur.fetchone()[0])

    def finish_run(self, run_id: int, status: str, counts: Mapping[str, int]) -> None:
        """Record how a run ended and what it did (counts per action)."""
        with self.transaction():
            cur = self.execute(
                "UPDATE runs SET status = ?, finished_at = ?, counts = ? WHERE id = ?",
                (status, self.stamp(), json.dumps(dict(counts), sort_keys=True), run_id),
            )
            if cur.rowcount == 0:
                raise ValueError(f"no run with id {run_id}")

    def record_run_outcomes(self, run_id: int, rows: Iterable[tuple[str, str, str, str | None, str | None]]) -> None:
        """Remember what run `run_id` did to each record: (flow, source id, action, target id, error code)."""
        with self.transaction():
            for row in rows:
                self.execute(
                    "INSERT INTO run_records (run_id, flow, source_id, action, target_id, code) VALUES (?, ?, ?, ?, ?, ?)",
                    (run_id, *row),
                )

    def run_outcomes(self, run_id: int, flow: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """What run `run_id` did to each record (see `record_run_outcomes`), by flow and record."""
        where, args = ("run_id = ? AND flow = ?", (run_id, flow)) if flow else ("run_id = ?", (run_id,))
        rows = self.query(
            f"SELECT flow, source_id, action, target_id, code FROM run_records WHERE {where} "
            "ORDER BY flow, source_id LIMIT ?",
            (*args, limit),
        )
        return [dict(r) for r in rows]

    def runs(self, limit: int = 20) -> list[Run]:
        """The latest runs, newest first. A run whose process died unfinished (on this host) shows "interrupted"."""
        return [_run(row) for row in self.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))]

    # -- failures ---------------------------------------------------------------------------

    def record_failure(
        self, flow: str, source_id: str, *, code: str, message: str, hint: str | None = None, run_id: int | None = None
    ) -> Failure:
        """Record that a record failed (again): attempts goes up, the next try backs off."""
        source_id = str(source_id)
        with self.transaction():
            now = self._now()
            row = self.execute(
                "SELECT attempts, first_failed_at FROM failures WHERE flow = ? AND source_id = ?", (flow, source_id)
            ).fetchone()
            attempts = (row["attempts"] if row else 0) + 1
            delay = min(self.retry_cap, self.retry_base * 2 ** (attempts - 1))
            failure = Failure(
                flow,
                source_id,
                code,
                message,
                hint,
                attempts,
                _iso(now + timedelta(seconds=delay)),
                row["first_failed_at"] if row and row["first_failed_at"] else _iso(now),
                _iso(now),
                run_id,
            )
            cols = ", ".join(_FAILURE_COLUMNS)
            marks = ", ".join("?" for _ in _FAILURE_COLUMNS)
            updates = ", ".join(f"{n} = excluded.{n}" for n in _FAILURE_COLUMNS if n not in ("flow", "source_id"))
            self.execute(
                f"INSERT INTO failures ({cols}) VALUES ({marks}) ON CONFLICT (flow, source_id) DO UPDATE SET {updates}",
                tuple(getattr(failure, n) for n in _FAILURE_COLUMNS),
            )
            return failure

    def clear_failure(self, flow: str, source_id: str) -> bool:
        """Forget a failure (the record synced); True if there was one."""
        with self.transaction():
            cur = self.execute("DELETE FROM failures WHERE flow = ? AND source_id = ?", (flow, str(source_id)))
            return cur.rowcount > 0

    def failures(self, flow: str | None = None, *, due: bool = False) -> list[Failure]:
        """Failed records (of one flow), oldest first; `due` keeps those whose next try has come."""
        sql, params = f"SELECT {', '.join(_FAILURE_COLUMNS)} FROM failures WHERE 1 = 1", []
        if flow is not None:
            sql, params = sql + " AND flow = ?", [flow]
        if due:
            sql += " AND next_attempt <= ?"
            params.append(self.stamp())
        rows = self.query(sql + " ORDER BY first_failed_at, flow, source_id", tuple(params))
        return [Failure(**{n: row[n] for n in _FAILURE_COLUMNS}) for row in rows]

    # -- intents ----------------------------------------------------------------------------

    def _intent(self, key: str) -> Intent | None:
        row = self.execute(f"SELECT {', '.join(_INTENT_COLUMNS)} FROM intents WHERE key = ?", (key,)).fetchone()
        return Intent(**{n: row[n] for n in _INTENT_COLUMNS}) if row else None

    def begin_intent(
        self,
        flow: str,
        source_id: str,
        key: str,
        *,
        action: str,
        target_system: str,
        target_entity: str,
        payload_hash: str | None,
    ) -> Intent:
        """Announce a write before sending it; on disk when this returns.

        Called again with the same key (a replay after a crash) it counts the attempt and
        returns the pending intent; a done intent comes back unchanged (the write landed,
        see `target_id`); an abandoned one is reopened. Must not run inside `transaction()`.
        """
        source_id = str(source_id)
        with self._durable("begin_intent"):
            found = self._intent(key)
            stamp = self.stamp()
            if found is None:
                self.execute(
                    "INSERT INTO intents (key, flow, source_id, state, action, target_system, target_entity, "
                    "payload_hash, attempts, created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, 1, ?, ?)",
                    (key, flow, source_id, action, target_system, target_entity, payload_hash, stamp, stamp),
                )
            elif (found.flow, found.source_id) != (flow, source_id):
                raise ValueError(f"intent key {key} belongs to {found.flow} {found.source_id}, not {flow} {source_id}")
            elif found.state != "done":
                self.execute(
                    "UPDATE intents SET state = 'pending', attempts = attempts + 1, payload_hash = ?, "
                    "updated_at = ? WHERE key = ?",
                    (payload_hash, stamp, key),
                )
            return self._intent(key)  # type: ignore[return-value]

    def begin_batch(
        self,
        flow: str,
        entries: list[tuple[str, str, str | None]],
        batch_key: str,
        *,
        action: str,
        target_system: str,
        target_entity: str,
    ) -> list[Intent]:
        """Announce the writes of one batch request at once; on disk when this returns.

        `entries` are (source_id, key, payload_hash) in batch order. Each intent records
        `batch_key` and its index, so a replay after a crash resends the same batch.
        """
        with self._durable("begin_batch"):
            stamp = self.stamp()
            for index, (source_id, key, payload_hash) in enumerate(entries):
                found = self._intent(key)
                if found is None:
                    self.execute(
                        "INSERT INTO intents (key, flow, source_id, state, action, target_system, target_entity, "
                        "payload_hash, attempts, created_at, updated_at, batch_key, batch_index) "
                        "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                        (
                            key,
                            flow,
                            str(source_id),
                            action,
                            target_system,
                            target_entity,
                            payload_hash,
                            stamp,
                            stamp,
                            batch_key,
                            index,
                        ),
                    )
                elif found.state != "done":
                    self.execute(
                        "UPDATE intents SET state = 'pending', attempts = attempts + 1, payload_hash = ?, "
                        "batch_key = ?, batch_index = ?, updated_at = ? WHERE key = ?",
                        (payload_hash, batch_key, index, stamp, key),
                    )
            return [self._intent(key) for _, key, _ in entries]  # type: ignore[misc]

    def complete_intent(self, key: str, *, target_id: str | None) -> None:
        """Mark the write done, with the id it produced. Put it in the transaction that records the link."""
        with self.transaction():
            cur = self.execute(
                "UPDATE intents SET state = 'done', target_id = ?, updated_at = ? WHERE key = ?",
                (None if target_id is None else str(target_id), self.stamp(), key),
            )
            if cur.rowcount == 0:
                raise UnknownIntent(key)

    def abandon_intent(self, key: str) -> None:
        """Give up a pending write known not to have landed. A done intent stays done."""
        with self.transaction():
            found = self._intent(key)
            if found is None:
                raise UnknownIntent(key)
            if found.state == "pending":
                self.execute(
                    "UPDATE intents SET state = 'abandoned', updated_at = ? WHERE key = ?", (self.stamp(), key)
                )

    def intent(self, key: str) -> Intent | None:
        """The intent with this key, whatever its state."""
        with self._lock, self._errors():
            return self._intent(key)

    def pending_intents(self, flow: str | None = None) -> list[Intent]:
        """Writes announced but not known to have landed or failed, oldest first."""
        sql = f"SELECT {', '.join(_INTENT_COLUMNS)} FROM intents WHERE state = 'pending'"
        params: tuple[Any, ...] = ()
        if flow is not None:
            sql, params = sql + " AND flow = ?", (flow,)
        rows = self.query(sql + " ORDER BY created_at, key", params)
        return [Intent(**{n: row[n] for n in _INTENT_COLUMNS}) for row in rows]

    def forget_intents(self, before: str) -> int:
        """Delete done and abandoned intents last changed before the ISO time `before`; returns how many.

        Pending intents are never deleted: they are the only memory of a write in flight.
        """
        with self.transaction():
            cur = self.execute("DELETE FROM intents WHERE state IN ('done', 'abandoned') AND updated_at < ?", (before,))
            return cur.rowcount

    # -- tokens -----------------------------------------------------------------------------

    def load_tokens(self, key: str) -> dict[str, Any] | None:
        """The token document stored under `key`, or None."""
        rows = self.query("SELECT document FROM tokens WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def save_tokens(self, key: str, tokens: Mapping[str, Any]) -> None:
        """Replace the token document under `key`; on disk when this returns."""
        document = json.dumps(dict(tokens), sort_keys=True, default=_json_default)
        with self._durable("save_tokens"):
            self.execute(
                "INSERT INTO tokens (key, document, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                (key, document, self.stamp()),
            )

    # -- the run lock (engine.state.lock) ----------------------------------------------------

    def acquire_lock(self, holder: LockHolder, *, stale_after: float) -> LockHolder | None:
        """Take the run lock for `holder` unless a live holder has it; returns that holder, or None when taken.

        A holder whose process is gone (on this host) or whose heartbeat is older than
        `stale_after` seconds is replaced. On disk when this returns.
        """
        with self._durable("acquire_lock"):
            found = self._lock_row()
            now = self._now()
            if found is not None and found.token != holder.token:
                age = (now - datetime.fromisoformat(found.heartbeat_at)).total_seconds()
                if not stale(found, age, stale_after):
                    return found
            stamp = _iso(now)
            self.execute(
                "INSERT INTO run_lock (name, token, pid, host, command, started_at, heartbeat_at) "
                "VALUES ('project', ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET token = excluded.token, "
                "pid = excluded.pid, host = excluded.host, command = excluded.command, "
                "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                (holder.token, holder.pid, holder.host, holder.command, stamp, stamp),
            )
            return None

    def refresh_lock(self, token: str) -> bool:
        """Renew the heartbeat of the lock taken with `token`; False when it is no longer ours."""
        with self.transaction():
            cur = self.execute(
                "UPDATE run_lock SET heartbeat_at = ? WHERE name = 'project' AND token = ?", (self.stamp(), token)
            )
            return cur.rowcount == 1

    def release_lock(self, token: str) -> None:
        """Give up the lock taken with `token` (a no-op when it is no longer ours)."""
        with self.transaction():
            self.execute("DELETE FROM run_lock WHERE name = 'project' AND token = ?", (token,))

    def lock_holder(self) -> LockHolder | None:
        """Who holds the run lock now (a stale holder included), or None."""
        with self._lock, self._errors():
            return self._lock_row()

    def _lock_row(self) -> LockHolder | None:
        row = self.execute(
            "SELECT token, pid, host, command, started_at, heartbeat_at FROM run_lock WHERE name = 'project'"
        ).fetchone()
        return LockHolder(*row) if row else None


class SQLiteState(State):
    """The embedded state store: one SQLite file, one connection, safe to share between threads.

    `busy_timeout` is how long a write waits for another process holding the file before
    raising `StateBusy`; the other options are `State`'s.
    """

    def __init__(
        self,
        path: str | Path = DEFAULT_STATE_PATH,
        *,
        now: Callable[[], datetime] = _utc_now,
        busy_timeout: float = 10.0,
        retry_base: float = 60.0,
        retry_cap: float = 6 * 3600.0,
    ) -> None:
        self.path = Path(path)
        super().__init__(
            SQLiteDriver(self.path, busy_timeout=busy_timeout), now=now, retry_base=retry_base, retry_cap=retry_cap
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a token document")


class StateTokenStore:
    """A `connectors.tokens.TokenStore` kept in the state store's `tokens` table."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored document for `key`, or None."""
        return self.store.load_tokens(key)

    def save(self, key: str, tokens: dict[str, Any]) -> None:
        """Replace the document for `key`, durably, before returning."""
        self.store.save_tokens(key, tokens)
