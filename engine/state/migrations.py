"""The state store's schema, versioned from the first release, and how a file is upgraded.

`MIGRATIONS` is an ordered list; migration N turns a schema at version N-1 into version N.
Opening a store applies every migration the file has not seen yet, each in its own
transaction together with its row in `schema_version`, so a process killed half-way
through an upgrade leaves the file at the last complete version, never between two.

A file whose version is higher than the last migration here was written by a newer Joist:
it is refused (`StateTooNew`), never opened and half-understood.

The SQL keeps to what SQLite and PostgreSQL share (plain types, UNIQUE constraints,
CREATE INDEX), so both backends run the same statements; each `Driver` (engine.state.driver)
spells `INTEGER PRIMARY KEY` its own way (PostgreSQL: an identity column) and takes the
store's writer lock for each step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import JoistError, Location

if TYPE_CHECKING:
    from engine.state.driver import Driver

_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


class StateError(JoistError):
    """Base of the state store's errors (S6xx)."""

    code = "S600"


class StateUnreadable(StateError):
    """The state file exists but is not a Joist state database (or is damaged)."""

    code = "S601"

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(
            f"cannot open the state file: {reason}",
            location=Location(file=str(path)),
            hint="restore it from a backup, or move it aside and run `joist sync` to rebuild "
            "the links (existing records are matched, not duplicated)",
        )


class StateTooNew(StateError):
    """The state file was written by a newer Joist than this one."""

    code = "S602"

    def __init__(self, path: Path | str, found: int, known: int) -> None:
        self.found = found
        self.known = known
        super().__init__(
            f"the state file has schema version {found}, this Joist knows up to version {known}",
            location=Location(file=str(path)),
            hint="it was written by a newer Joist: upgrade Joist (pip install -U joist), "
            "or point `state:` in joist.yaml at another file",
        )


class StateBusy(StateError):
    """Another process holds the state file's write lock for longer than we wait."""

    code = "S603"

    def __init__(self, path: Path | str, waited: float) -> None:
        super().__init__(
            f"the state file stayed locked for {waited:g}s",
            location=Location(file=str(path)),
            hint="another joist command is writing to it; wait for it to finish, "
            "or stop it (`joist status` shows the running run)",
        )


class StateUnwritable(StateError):
    """The state file cannot be created or written (permissions, a full disk, a bad path)."""

    code = "S606"

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(
            f"cannot write the state file: {reason}",
            location=Location(file=str(path)),
            hint="check that its folder exists and is writable and that the disk has room; "
            "`state:` in joist.yaml says where the file goes",
        )


@dataclass(frozen=True)
class Migration:
    """One step of the schema: `version` is the schema version it produces."""

    version: int
    description: str
    statements: tuple[str, ...]


# Version 1 is the schema of DESIGN.md §5 as first released.
_V1 = (
    """CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        link_set TEXT NOT NULL,
        procore_id TEXT,
        qbo_id TEXT,
        procore_hash TEXT,
        qbo_hash TEXT,
        procore_version TEXT,
        qbo_sync_token TEXT,
        origin TEXT,
        locked INTEGER NOT NULL DEFAULT 0,
        UNIQUE (link_set, procore_id),
        UNIQUE (link_set, qbo_id)
    )""",
    """CREATE TABLE cursors (
        system TEXT NOT NULL,
        entity TEXT NOT NULL,
        value TEXT,
        PRIMARY KEY (system, entity)
    )""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        selection TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        counts TEXT
    )""",
    """CREATE TABLE failures (
        flow TEXT NOT NULL,
        source_id TEXT NOT NULL,
        code TEXT NOT NULL,
        message TEXT NOT NULL,
        hint TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        PRIMARY KEY (flow, source_id)
    )""",
    """CREATE TABLE intents (
        key TEXT PRIMARY KEY,
        flow TEXT NOT NULL,
        source_id TEXT NOT NULL,
        state TEXT NOT NULL
    )""",
)

# Version 2: what the sync engine needs beyond the first schema. Links learn their flow,
# lock reason and change time, and `qbo_sync_token` becomes `qbo_version` to pair with
# `procore_version`; runs keep their process (to tell a crashed run); failures keep when they happened and in which run; intents keep what
# they guard (action, target, payload hash) and the id the write produced; OAuth tokens
# can live in the store (`tokens`).
_V2 = (
    "ALTER TABLE links RENAME COLUMN qbo_sync_token TO qbo_version",
    "ALTER TABLE links ADD COLUMN flow TEXT",
    "ALTER TABLE links ADD COLUMN lock_reason TEXT",
    "ALTER TABLE links ADD COLUMN updated_at TEXT",
    "ALTER TABLE cursors ADD COLUMN updated_at TEXT",
    "ALTER TABLE runs ADD COLUMN pid INTEGER",
    "ALTER TABLE runs ADD COLUMN host TEXT",
    "ALTER TABLE failures ADD COLUMN first_failed_at TEXT",
    "ALTER TABLE failures ADD COLUMN last_failed_at TEXT",
    "ALTER TABLE failures ADD COLUMN run_id INTEGER",
    "ALTER TABLE intents ADD COLUMN action TEXT NOT NULL DEFAULT 'create'",
    "ALTER TABLE intents ADD COLUMN target_system TEXT",
    "ALTER TABLE intents ADD COLUMN target_entity TEXT",
    "ALTER TABLE intents ADD COLUMN payload_hash TEXT",
    "ALTER TABLE intents ADD COLUMN target_id TEXT",
    "ALTER TABLE intents ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE intents ADD COLUMN created_at TEXT",
    "ALTER TABLE intents ADD COLUMN updated_at TEXT",
    "CREATE INDEX intents_by_state ON intents (state, flow)",
    "CREATE INDEX intents_by_source ON intents (flow, source_id)",
    "CREATE INDEX failures_by_next ON failures (next_attempt)",
    """CREATE TABLE tokens (
        key TEXT PRIMARY KEY,
        document TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
)

# v3: creates sent together in one QBO /batch share one requestid; each intent keeps that
# batch key and its place in the batch, so a crashed batch is replayed whole and its
# replayed answer is read back item by item.
_V3 = (
    "ALTER TABLE intents ADD COLUMN batch_key TEXT",
    "ALTER TABLE intents ADD COLUMN batch_index INTEGER",
    "CREATE INDEX intents_by_batch ON intents (batch_key)",
)

# v4: each side keeps the fields Joist last wrote to it, so an update sends only what
# changed at the source and keeps what people edited on the target (a three-way merge).
_V4 = (
    "ALTER TABLE links ADD COLUMN procore_payload TEXT",
    "ALTER TABLE links ADD COLUMN qbo_payload TEXT",
)

# v5: one run per project. The single row of `run_lock` names the process holding the
# project (pid, host, command), since when, and its last heartbeat, so a second run can
# wait for it, name it, and take over from a holder that died.
_V5 = (
    """CREATE TABLE run_lock (
        name TEXT PRIMARY KEY,
        token TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    )""",
)

# Version 6: the service's durable inbox. An event is committed here before its webhook is
# answered, deduplicated by the sending system's event id, and marked done only after the
# record's sync committed.
_V6 = (
    """CREATE TABLE inbox (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        system TEXT NOT NULL,
        entity TEXT NOT NULL,
        record_id TEXT NOT NULL,
        operation TEXT,
        received_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        done_at TEXT
    )""",
    "CREATE INDEX inbox_state ON inbox (state, id)",
)

# Version 7: the web dashboard (`web/`). Its users (scrypt hash, role, language), the audit
# log of every change a user makes, each user's overview layout (JSON), and failed sign-ins
# per address (the sign-in rate limit, shared by every process serving the project);
# links by change time, for what moved per flow today and this week.
_V7 = (
    """CREATE TABLE web_users (
        name TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        language TEXT,
        created_at TEXT NOT NULL,
        layout TEXT
    )""",
    """CREATE TABLE web_audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user_name TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT
    )""",
    "CREATE INDEX web_audit_by_at ON web_audit (at)",
    """CREATE TABLE web_logins (
        id INTEGER PRIMARY KEY,
        client TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    "CREATE INDEX web_logins_by_client ON web_logins (client, at)",
    "CREATE INDEX links_by_updated ON links (updated_at, flow)",
)

# Version 8: each side keeps the fingerprint of the rule and params that produced Joist's last
# write there, so a changed mapping or param reaches records whose source did not move. Links
# from before have none: the first run adopts the current fingerprint without writing.
_V8 = (
    "ALTER TABLE links ADD COLUMN procore_rule TEXT",
    "ALTER TABLE links ADD COLUMN qbo_rule TEXT",
)

# Version 9: onboarding. The wizard's progress (one row per settled step, its answers as
# JSON) so every step can be resumed, and the match candidates it proposed with what the
# user decided for each (accept, pick another, create new, ignore).
_V9 = (
    """CREATE TABLE onboarding_steps (
        step TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        done_at TEXT NOT NULL
    )""",
    """CREATE TABLE match_candidates (
        id INTEGER PRIMARY KEY,
        link_set TEXT NOT NULL,
        flow TEXT NOT NULL,
        source_system TEXT NOT NULL,
        source_id TEXT NOT NULL,
        source_label TEXT,
        candidates TEXT NOT NULL,
        confidence TEXT,
        decision TEXT,
        chosen_id TEXT,
        decided_at TEXT,
        UNIQUE (link_set, source_system, source_id)
    )""",
    "CREATE INDEX match_candidates_flow ON match_candidates (flow, decision)",
)

RUN_RECORDS_MIGRATION = "what each run did to each record"  # its description, looked up by the run page
# Version 10: what each run did to each record (created, updated, adopted, deleted, failed),
# from the run's report, so a run's page lists them instead of inferring them from link times.
_V10 = (
    """CREATE TABLE run_records (
        run_id INTEGER NOT NULL,
        flow TEXT NOT NULL,
        source_id TEXT NOT NULL,
        action TEXT NOT NULL,
        target_id TEXT,
        code TEXT
    )""",
    "CREATE INDEX run_records_by_run ON run_records (run_id, flow)",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "links, cursors, runs, failures, intents", _V1),
    Migration(2, "link flow and lock reason, intent targets, failure times, tokens", _V2),
    Migration(3, "batched intents", _V3),
    Migration(4, "what Joist last wrote to each side", _V4),
    Migration(5, "the project's run lock", _V5),
    Migration(6, "the service's inbox", _V6),
    Migration(7, "web dashboard users, audit log, layouts and sign-in attempts", _V7),
    Migration(8, "the rule fingerprint of each side's last write", _V8),
    Migration(9, "onboarding progress and match decisions", _V9),
    Migration(10, RUN_RECORDS_MIGRATION, _V10),
)

LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def current_version(db: Driver) -> int:
    """The schema version of an open database: 0 for an empty one."""
    if "schema_version" not in db.tables():
        return 0
    found = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    return int(found or 0)


def migrate(
    db: Driver,
    path: Path | str,
    *,
    target: int = LATEST_VERSION,
    now: Callable[[], str] = _utcnow,
) -> list[int]:
    """Bring the database on `db` (in autocommit mode) up to `target`; returns the versions applied.

    Each migration commits on its own, under the store's writer lock (`Driver.begin`), so
    two processes opening one store at once apply each step once. A database newer than
    this Joist raises `StateTooNew`.
    """
    applied: list[int] = []
    db.begin()
    try:
        foreign = db.tables()
        if foreign and "schema_version" not in foreign:
            raise StateUnreadable(
                path,
                f"it is a {_NAMES.get(db.kind, db.kind)} database, but not a Joist state file "
                f"(it holds tables {', '.join(sorted(foreign)[:5])})",
            )
        db.execute(_VERSION_TABLE)
        version = current_version(db)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    if version > LATEST_VERSION:
        raise StateTooNew(path, version, LATEST_VERSION)
    for step in MIGRATIONS:
        if step.version > target:
            break
        db.begin()
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            if step.version <= current_version(db):
                db.execute("COMMIT")
                continue
            for statement in step.statements:
                db.execute(db.ddl(statement))
            db.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (step.version, step.description, now()),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        applied.append(step.version)
    return applied
