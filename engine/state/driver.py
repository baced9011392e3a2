"""What the state store needs of a database, so one store runs on SQLite and on PostgreSQL.

The store and the migrations write their SQL once, in what both databases share (`?`
placeholders, `ON CONFLICT ... DO UPDATE`, `RETURNING`, plain TEXT and INTEGER columns).
A `Driver` carries it to its database and answers the few questions whose SQL differs:
how a writing transaction begins (SQLite's `BEGIN IMMEDIATE` takes the file's single
writer lock; PostgreSQL's `BEGIN` takes an advisory lock on the store instead, so writers
of one store still go one at a time), which tables exist, and how a migration's DDL is
spelled (`ddl`: the only difference is the auto-numbered key).

Rows come back indexable by position and by column name (`row[0]`, `row["id"]`) from both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Sequence[Any]: ...


class Driver(Protocol):
    """One open connection to a state database (see the module docstring)."""

    kind: str  # "sqlite" or "postgresql"
    where: str  # the file or server, for messages (never a password)
    integrity_error: type[Exception]  # what a broken UNIQUE constraint raises

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement written with `?` placeholders."""
        ...

    def begin(self) -> None:
        """Open a writing transaction; other writers of this store wait until it ends."""
        ...

    @property
    def in_transaction(self) -> bool:
        """True while a transaction is open on the connection (even one the database aborted)."""
        ...

    def tables(self) -> list[str]:
        """The names of the tables in the store, the database's own excluded."""
        ...

    def ddl(self, statement: str) -> str:
        """A migration statement in this database's spelling."""
        ...

    def errors(self) -> AbstractContextManager[None]:
        """Turn the database's errors about locks, disks and reachability into `StateError`s."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


def placeholders(sql: str) -> str:
    """`?` placeholders as `%s` (and a literal `%` doubled), for drivers in the `format` style.

    The store's SQL holds no `?` inside string literals, so every `?` is a parameter.
    """
    return sql.replace("%", "%%").replace("?", "%s")


class NamedRow(tuple[Any, ...]):
    """A row readable by position and by column name, like `sqlite3.Row`."""

    names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> NamedRow:
        row = super().__new__(cls, values)
        row.names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return super().__getitem__(self.names[key])
        return super().__getitem__(key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self.names)

    def items(self) -> Iterator[tuple[str, Any]]:
        """(column name, value) pairs, in order."""
        return zip(self.names, self, strict=True)
