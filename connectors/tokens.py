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
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}

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
