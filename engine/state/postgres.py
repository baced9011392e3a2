"""The state store on PostgreSQL (psycopg 3), for deployments that outgrow one SQLite file.

`state: postgresql://user@host:5432/db?schema=NAME` in joist.yaml puts a project's state in
the schema NAME (default `joist`) of that database; many stores share one database, one
schema each. The store runs the same SQL and the same migrations as SQLite (see
engine.state.driver).

Where SQLite has one writer per file, a PostgreSQL store has one writer per schema: every
writing transaction begins by taking a transaction-scoped advisory lock on its schema
(`pg_advisory_xact_lock`), so the read-then-write steps of links, intents, the run lock
and the inbox stay as atomic as on SQLite, while stores in other schemas write in
parallel. A writer waits `busy_timeout` seconds for the lock (`lock_timeout`), then
`StateBusy`. Reads outside a transaction see the last committed state.

psycopg is the `scale` extra (`pip install 'joist[scale]'`); it is imported only here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from engine.errors import Location
from engine.state.driver import NamedRow, placeholders
from engine.state.migrations import StateBusy, StateError, StateUnwritable
from engine.state.store import State

DEFAULT_SCHEMA = "joist"
SCHEMES = ("postgresql", "postgres")
# The advisory lock space of Joist's writer locks (any fixed number; the key is the schema's hash).
LOCK_CLASS = 0x4A6F


class StateServerUnreachable(StateError):
    """The PostgreSQL server named by `state:` cannot be reached or refuses the connection."""

    code = "S670"

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(
            f"cannot connect to the state database {where}: {reason}",
            location=Location(file=where),
            hint="check that PostgreSQL runs and accepts connections from this machine, and the user, password "
            "(PGPASSWORD or ~/.pgpass) and database in `state:` of joist.yaml",
        )


class StateUrlInvalid(StateError):
    """`state:` is not a file path, a sqlite:/// URL or a postgresql:// URL Joist can use."""

    code = "S671"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"`state:` {url!r} {reason}",
            hint="write a file path (`.joist/state.db`), `sqlite:///path/to/state.db`, or "
            "`postgresql://user@host:5432/database?schema=name` (schema: lower-case letters, digits, _)",
        )


class PostgresMissing(StateError):
    """`state:` names PostgreSQL but psycopg is not installed."""

    code = "S672"

    def __init__(self, url: str) -> None:
        super().__init__(
            f"`state:` {url} is a PostgreSQL database, and the PostgreSQL driver (psycopg) is not installed",
            hint="install Joist with its scale-out parts: pip install 'joist[scale]'",
        )


def split_url(url: str) -> tuple[str, str, str]:
    """(libpq URL without `schema=`, schema, the URL shown in messages: no password)."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise StateUrlInvalid(url, "is not a postgresql:// URL")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((value for key, value in query if key == "schema"), DEFAULT_SCHEMA)
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
        raise StateUrlInvalid(url, f"names the schema {schema!r}, which is not a plain lower-case name")
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    libpq = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    host = parts.hostname or "localhost"
    shown = f"postgresql://{parts.username + '@' if parts.username else ''}{host}"
    shown += f":{parts.port}" if parts.port else ""
    return libpq, schema, f"{shown}{parts.path}?schema={schema}"


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], NamedRow]:
    names = {column.name: index for index, column in enumerate(cursor.description or ())}
    return lambda values: NamedRow(values, names)


class PostgresDriver:
    """One autocommit connection to PostgreSQL, its `search_path` set to the store's schema."""

    kind = "postgresql"

    def __init__(self, url: str, *, busy_timeout: float) -> None:
        try:
            import psycopg
        except ImportError:
            raise PostgresMissing(url) from None
        self._psycopg = psycopg
        libpq, self.schema, self.where = split_url(url)
        self.busy_timeout = busy_timeout
        self.integrity_error: type[Exception] = psycopg.errors.IntegrityError
        try:
            self.conn = psycopg.connect(libpq, autocommit=True, row_factory=_row_factory, connect_timeout=10)
        except psycopg.Error as exc:
            raise StateServerUnreachable(self.where, str(exc).strip().splitlines()[0]) from None
        try:
            with self.errors():
                self.conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(busy_timeout * 1000)}ms",))
                self.begin()
                self.conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                self.conn.execute("COMMIT")
                self.conn.execute(f"SET search_path TO {self.schema}")
        except BaseException:
            self.conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement written with `?` placeholders."""
        return self.conn.execute(placeholders(sql), tuple(params))

    def begin(self) -> None:
        """`BEGIN`, then wait for this schema's writer lock (held until the transaction ends)."""
        self.conn.execute("BEGIN")
        try:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_CLASS, self.schema))
        except BaseException:  # no lock, no transaction: like a failed BEGIN IMMEDIATE
            if not self.conn.broken:
                self.conn.execute("ROLLBACK")
            raise

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open, an aborted one (after an error) included."""
        status = self.conn.info.transaction_status
        return status != self._psycopg.pq.TransactionStatus.IDLE

    def tables(self) -> list[str]:
        """The tables of the store's schema."""
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name",
            (self.schema,),
        ).fetchall()
        return [row[0] for row in rows]

    def ddl(self, statement: str) -> str:
        """An auto-numbered `INTEGER PRIMARY KEY` becomes a 64-bit identity column."""
        return statement.replace("INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")

    @contextmanager
    def errors(self) -> Iterator[None]:
        """A lock wait that timed out as `StateBusy`; a lost or refused connection as `StateServerUnreachable`."""
        errors = self._psycopg.errors
        try:
            yield
        except errors.LockNotAvailable:
            raise StateBusy(self.where, self.busy_timeout) from None
        except (errors.DiskFull, errors.InsufficientPrivilege, errors.ReadOnlySqlTransaction) as exc:
            raise StateUnwritable(self.where, str(exc).strip().splitlines()[0]) from None
        except self._psycopg.OperationalError as exc:
            if self.conn.closed or self.conn.broken:
                raise StateServerUnreachable(
                    self.where, str(exc).strip().splitlines()[0] or "connection lost"
                ) from None
            raise

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back by the server)."""
        self.conn.close()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PostgresState(State):
    """The state store in one schema of a PostgreSQL database (see the module docstring).

    `busy_timeout` is how long a write waits for another writer of the same schema before
    raising `StateBusy`; the other options are `State`'s.
    """

    def __init__(
        self,
        url: str,
        *,
        now: Callable[[], datetime] = _utc_now,
        busy_timeout: float = 10.0,
        retry_base: float = 60.0,
        retry_cap: float = 6 * 3600.0,
    ) -> None:
        driver = PostgresDriver(url, busy_timeout=busy_timeout)
        self.schema = driver.schema
        super().__init__(driver, now=now, retry_base=retry_base, retry_cap=retry_cap)
