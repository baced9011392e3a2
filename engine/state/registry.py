"""The connections of a deployment, kept in PostgreSQL: one Procore company and one QBO realm each.

A deployment (many construction companies synced by one installation) names one
PostgreSQL database (`--database`, or `JOIST_DATABASE_URL`). Its schema `joist_registry`
lists the connections: a name, the Procore company id, the QBO realm id, the rule packs
and params. Each connection's state (links, cursors, runs, failures, intents, tokens,
inbox, run lock) lives in a schema of its own, `c_<name>`: a store opened for one
connection is bound to its schema when it opens (`search_path`), so no command run for
one connection can read or write another's rows, and two connections' writers never wait
for each other (the writer lock is per schema). Tokens in a connection's store are
encrypted (engine.state.secrets).

A company or a realm belongs to at most one connection.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from engine.errors import Location
from engine.state.migrations import StateError
from engine.state.postgres import PostgresDriver, PostgresState, split_url

REGISTRY_SCHEMA = "joist_registry"
DATABASE_ENV = "JOIST_DATABASE_URL"
NAME_PATTERN = r"[a-z][a-z0-9_]{0,40}"

_TABLE = f"""CREATE TABLE IF NOT EXISTS {REGISTRY_SCHEMA}.connections (
    name TEXT PRIMARY KEY,
    procore_company TEXT NOT NULL UNIQUE,
    qbo_realm TEXT NOT NULL UNIQUE,
    packs TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at TEXT NOT NULL
)"""


class ConnectionRejected(StateError):
    """A connection cannot be added: a bad name, or its name, company or realm is taken."""

    code = "S673"

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message, hint=hint)


class UnknownConnection(StateError):
    """No connection of that name in the deployment."""

    code = "S674"

    def __init__(self, name: str, known: list[str], where: str) -> None:
        super().__init__(
            f"the deployment has no connection {name!r}",
            location=Location(file=where),
            hint="`joist connections list` shows them; `joist connections add` makes one",
            allowed=known,
        )


class DatabaseMissing(StateError):
    """A deployment command was given no database to keep its connections in."""

    code = "S677"

    def __init__(self) -> None:
        super().__init__(
            "no deployment database: connections live in PostgreSQL",
            hint=f"give --database postgresql://user@host:5432/db, or set {DATABASE_ENV}",
        )


def database_url(given: str | None, environ: Mapping[str, str]) -> str:
    """The deployment's database: `given`, else `JOIST_DATABASE_URL`; `DatabaseMissing` when neither."""
    url = given or environ.get(DATABASE_ENV)
    if not url:
        raise DatabaseMissing()
    return url


@dataclass(frozen=True)
class ConnectionEntry:
    """One connection of the deployment."""

    name: str
    procore_company: str
    qbo_realm: str
    packs: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding this connection's state."""
        return f"c_{self.name}"


def _entry(row: Any) -> ConnectionEntry:
    return ConnectionEntry(
        row["name"],
        row["procore_company"],
        row["qbo_realm"],
        json.loads(row["packs"]),
        json.loads(row["params"]),
        row["created_at"],
    )


class Registry:
    """The connections table of a deployment's database (see the module docstring)."""

    def __init__(self, url: str, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        libpq, _, self.where = split_url(url)
        self.url = libpq
        self._now = now
        self._db = PostgresDriver(f"{libpq}{'&' if '?' in libpq else '?'}schema={REGISTRY_SCHEMA}", busy_timeout=30)
        with self._db.errors():
            self._db.execute(_TABLE)

    def close(self) -> None:
        """Close the registry's connection."""
        self._db.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._db.errors():
            self._db.begin()
            try:
                yield
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def entries(self) -> list[ConnectionEntry]:
        """Every connection, by name."""
        with self._db.errors():
            rows = self._db.execute(f"SELECT * FROM {REGISTRY_SCHEMA}.connections ORDER BY name").fetchall()
        return [_entry(row) for row in rows]

    def get(self, name: str) -> ConnectionEntry:
        """The connection called `name`; `UnknownConnection` when there is none."""
        with self._db.errors():
            row = self._db.execute(f"SELECT * FROM {REGISTRY_SCHEMA}.connections WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UnknownConnection(name, [e.name for e in self.entries()], self.where)
        return _entry(row)

    def find(self, system: str, account: str) -> ConnectionEntry | None:
        """The connection of a Procore company (system "procore") or a QBO realm ("qbo"), or None."""
        column = {"procore": "procore_company", "qbo": "qbo_realm"}[system]
        with self._db.errors():
            row = self._db.execute(
                f"SELECT * FROM {REGISTRY_SCHEMA}.connections WHERE {column} = ?", (str(account),)
            ).fetchone()
        return _entry(row) if row is not None else None

    def add(
        self, name: str, procore_company: str, qbo_realm: str, packs: list[str], params: dict[str, Any]
    ) -> ConnectionEntry:
        """Register a connection and create its (empty, migrated) state schema."""
        if not re.fullmatch(NAME_PATTERN, name):
            raise ConnectionRejected(
                f"{name!r} is not a connection name", "use lower-case letters, digits and _, starting with a letter"
            )
        entry = ConnectionEntry(name, str(procore_company), str(qbo_realm), list(packs), dict(params), "")
        with self._writing():
            for column, value in (
                ("name", name),
                ("procore_company", entry.procore_company),
                ("qbo_realm", entry.qbo_realm),
            ):
                row = self._db.execute(
                    f"SELECT name FROM {REGISTRY_SCHEMA}.connections WHERE {column} = ?", (value,)
                ).fetchone()
                if row is not None:
                    what = column.replace("_", " ")
                    raise ConnectionRejected(
                        f"the {what} {value} already belongs to the connection {row[0]!r}",
                        "one connection per Procore company and per QBO realm: `joist connections remove` the "
                        "other first, or pick another name",
                    )
            stamp = self._now().astimezone(UTC).isoformat(timespec="milliseconds")
            self._db.execute(
                f"INSERT INTO {REGISTRY_SCHEMA}.connections (name, procore_company, qbo_realm, packs, params, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    name,
                    entry.procore_company,
                    entry.qbo_realm,
                    json.dumps(entry.packs),
                    json.dumps(entry.params),
                    stamp,
                ),
            )
        self.open_state(name).close()  # its schema, migrated, before anyone syncs it
        return self.get(name)

    def remove(self, name: str) -> ConnectionEntry:
        """Forget a connection and drop its state schema (links, tokens, failures, everything)."""
        entry = self.get(name)
        with self._writing():
            self._db.execute(f"DELETE FROM {REGISTRY_SCHEMA}.connections WHERE name = ?", (name,))
            self._db.execute(f"DROP SCHEMA IF EXISTS {entry.schema} CASCADE")
        return entry

    def state_url(self, name: str) -> str:
        """The `state:` URL of a connection's store (its own schema)."""
        entry = self.get(name)
        return f"{self.url}{'&' if '?' in self.url else '?'}schema={entry.schema}"

    def open_state(self, name: str, **options: Any) -> PostgresState:
        """The state store of connection `name`, bound to its schema."""
        return PostgresState(self.state_url(name), **options)
