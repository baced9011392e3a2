"""Where OAuth tokens live between runs. Never in joist.yaml, never in a log line.

Refresh tokens rotate: each one works once. A connector that refreshes must `save` the
new pair before it uses the new access token for anything, so a crash right after a
refresh does not lose the only valid refresh token.

Two processes (a `joist plan` beside a `joist sync`, two workers) may find the same token
expired at once. Only one may refresh: a connector refreshes inside `refresh_lock(store,
key)` and re-reads the store first, so the second one finds the pair the first just saved
and uses it instead of spending the (now dead) refresh token it loaded earlier.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

from engine.errors import JoistError, Location

try:
    import fcntl
except ImportError:  # Windows: one process at a time is all a file lock could add there
    fcntl = None  # type: ignore[assignment]

_LOCAL = threading.Lock()  # stores that cannot lock across processes still refresh one thread at a time


class TokenFileDamaged(JoistError):
    """The token file is not a JSON object of token documents (damaged, or edited by hand)."""

    code = "S620"


class TokenStore(Protocol):
    """Keeps one token document (a JSON object) per connection key."""

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored document for `key`, or None."""

    def save(self, key: str, tokens: dict[str, Any]) -> None:
        """Replace the document for `key`, durably, before returning."""


def refresh_lock(store: TokenStore, key: str) -> AbstractContextManager[Any]:
    """Hold this while refreshing `key`'s tokens: the store's own cross-process lock when it has one."""
    locked = getattr(store, "locked", None)
    return locked(key) if locked is not None else _LOCAL


class MemoryTokenStore:
    """Tokens in memory: for tests and one-shot scripts."""

    def __init__(self, initial: dict[str, dict[str, Any]] | None = None) -> None:
        self._data: dict[str, dict[str, Any]] = dict(initial or {})

    def load(self, key: str) -> dict[str, Any] | None:
        found = self._data.get(key)
        return dict(found) if found is not None else None

    def save(self, key: str, tokens: dict[str, Any]) -> None:
        self._data[key] = dict(tokens)


class FileTokenStore:
    """Tokens in one JSON file with 0600 permissions, replaced atomically on every save."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    @contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Exclusive use of the token file for a refresh, across threads and processes (`<file>.lock`)."""
        with self._refreshing:
            if fcntl is None:
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing drops the lock

    def _read_all(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else f"not JSON: {exc}"
            raise self._damaged(reason) from None
        if not isinstance(data, dict):
            raise self._damaged("it should hold a JSON object, one entry a connection")
        for key, doc in data.items():
            if not isinstance(doc, dict):
                raise self._damaged(f"the entry {key!r} should be a JSON object")
        return data

    def _damaged(self, reason: str) -> TokenFileDamaged:
        return TokenFileDamaged(
            f"cannot use the token file: {reason}",
            location=Location(str(self.path)),
            hint="restore it from a backup, or move it aside and sign in again with "
            "`joist connect procore` and `joist connect qbo`",
        )

    def load(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._read_all().get(key)

    def save(self, key: str, tokens: dict[str, Any]) -> None:
        with self._lock:
            data = self._read_all()
            data[key] = tokens
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A temporary file of this process and thread: two writers never share one.
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
