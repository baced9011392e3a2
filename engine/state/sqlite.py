"""The embedded backend's connection: one SQLite file (stdlib `sqlite3`, WAL, `synchronous=FULL`).

SQLite has one writer per file: `begin()` is `BEGIN IMMEDIATE`, which waits up to
`busy_timeout` seconds for another process's write to end, then raises `StateBusy`. The
file and its WAL files are readable by their owner only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.state.migrations import StateBusy, StateUnreadable, StateUnwritable


def _private(path: Path) -> None:
    """Create the state file readable by its owner only (0600), and narrow an existing one and its WAL files.

    SQLite creates `-wal` and `-shm` with the database file's permissions, so they follow.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except IsADirectoryError:
        return  # sqlite3 says what is wrong with the path
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            continue
        except PermissionError:  # someone else's file: leave it as its owner set it
            continue


class SQLiteDriver:
    """One connection to a state file, in autocommit mode (the store opens its transactions)."""

    kind = "sqlite"
    integrity_error: type[Exception] = sqlite3.IntegrityError

    def __init__(self, path: Path, *, busy_timeout: float) -> None:
        self.path = path
        self.where = str(path)
        self.busy_timeout = busy_timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _private(path)
            self.conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.OperationalError) as exc:
            raise StateUnwritable(path, getattr(exc, "strerror", None) or str(exc)) from None
        self.conn.row_factory = sqlite3.Row
        try:
            with self.errors():
                mode = self.conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StateUnreadable(path, f"cannot switch it to WAL mode (got {mode})")
                self.conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            self.conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement."""
        return self.conn.execute(sql, tuple(params))

    def begin(self) -> None:
        """`BEGIN IMMEDIATE`: take the file's write lock now, not at the first write."""
        self.conn.execute("BEGIN IMMEDIATE")

    @property
    def in_transaction(self) -> bool:
        """True while SQLite has a transaction open (it rolls back by itself on some errors)."""
        return self.conn.in_transaction

    def tables(self) -> list[str]:
        """The file's tables, SQLite's own excluded."""
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        return [row[0] for row in rows]

    def ddl(self, statement: str) -> str:
        """SQLite runs the migrations as written."""
        return statement

    @contextmanager
    def errors(self) -> Iterator[None]:
        """SQLite's busy, disk and damage errors as `StateBusy`, `StateUnwritable`, `StateUnreadable`."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            name = getattr(exc, "sqlite_errorname", "")
            if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
                raise StateBusy(self.path, self.busy_timeout) from None
            if name.startswith(("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_PERM")):
                raise StateUnwritable(self.path, str(exc)) from None
            raise
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
                raise StateUnreadable(self.path, str(exc)) from None
            raise

    def close(self) -> None:
        """Close the connection; the file stays consistent whether or not this is called."""
        self.conn.close()
