"""Which backend holds a project's state, from `state:` in joist.yaml.

`state:` is a file path (`.joist/state.db`, the default, relative to the project), a
`sqlite:///` URL (`sqlite:///.joist/state.db` relative, `sqlite:////var/joist/state.db`
absolute), or a `postgresql://` URL (engine.state.postgres). `open_state` opens either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.state.store import State

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


def is_server(spec: str) -> bool:
    """True when `spec` names a database server (PostgreSQL) rather than a file."""
    return spec.startswith(POSTGRES_PREFIXES)


def state_file(spec: str, root: Path) -> Path:
    """The state file `spec` names (a path or a sqlite:/// URL), resolved against the project's `root`."""
    text = spec[len(SQLITE_PREFIX) :] if spec.startswith(SQLITE_PREFIX) else spec
    return (root / Path(text).expanduser()).resolve()


def open_state(spec: str | Path, **options: Any) -> State:
    """Open the store `spec` names: a postgresql:// URL, or a SQLite file (a path or a sqlite:/// URL).

    `options` go to the backend (`now`, `busy_timeout`, `retry_base`, `retry_cap`).
    """
    text = str(spec)
    if is_server(text):
        from engine.state.postgres import PostgresState  # psycopg only when PostgreSQL is used

        return PostgresState(text, **options)
    from engine.state.store import SQLiteState

    return SQLiteState(state_file(text, Path.cwd()), **options)
