"""Where OAuth tokens live between runs. Never in joist.yaml, never in a log line.

Refresh tokens rotate: each one works once. A connector that refreshes must `save` the
new pair before it uses the new access token for anything, so a crash right after a
refresh does not lose the only valid refresh token.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol

from engine.errors import JoistError, Location


class TokenFileDamaged(JoistError):
    """The token file is not a JSON object of token documents (damaged, or edited by hand)."""

    code = "S620"


class TokenStore(Protocol):
    """Keeps one token document (a JSON object) per connection key."""

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored document for `key`, or None."""

    def save(self, key: str, tokens: dict[str, Any]) -> None:
        """Replace the document for `key`, durably, before returning."""


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

    def _read_all(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise self._damaged(exc.strerror if isinstance(exc, OSError) else f"not JSON: {exc}") from None
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
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
