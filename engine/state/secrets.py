"""OAuth tokens encrypted at rest, for deployments whose state lives in a shared database.

The key comes from the environment: `JOIST_TOKEN_KEYS` holds one or more Fernet keys
(`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`),
separated by commas. The first key encrypts; every key decrypts. To rotate: put a new key
first, keep the old ones after it, run `joist connections rekey` (every stored token is
re-encrypted with the first key), then drop the old keys. A token document is stored as
`fernet:<token>`; Fernet authenticates it, so a document changed in the database, or one
whose key is gone, is refused rather than read wrong.

`cryptography` is part of the `scale` extra; it is imported only here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from engine.state.migrations import StateError
from engine.state.store import State, _json_default

KEYS_ENV = "JOIST_TOKEN_KEYS"
PREFIX = "fernet:"


class TokenKeyMissing(StateError):
    """Tokens are to be encrypted, and no key (or no usable key) is in the environment."""

    code = "S675"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"cannot encrypt or decrypt OAuth tokens: {reason}",
            hint=f'set {KEYS_ENV} to a Fernet key (python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"); several keys, comma-separated, while rotating',
        )


class TokenUndecryptable(StateError):
    """A stored token document does not decrypt with any key of `JOIST_TOKEN_KEYS`."""

    code = "S676"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"the stored tokens {key} do not decrypt with any key in {KEYS_ENV}",
            hint=f"put the key they were encrypted with back into {KEYS_ENV} (after the new one) and run "
            "`joist connections rekey`; if that key is lost, sign in again (`joist connect`)",
        )


class TokenCipher:
    """Encrypts with the first of `keys`, decrypts with any (a `MultiFernet`)."""

    def __init__(self, keys: list[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        if not keys:
            raise TokenKeyMissing(f"{KEYS_ENV} is not set")
        try:
            self._fernet = MultiFernet([Fernet(key.strip().encode()) for key in keys])
        except ValueError:
            raise TokenKeyMissing(
                f"{KEYS_ENV} holds a value that is not a Fernet key (32 url-safe base64 bytes)"
            ) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TokenCipher:
        """The cipher of `JOIST_TOKEN_KEYS` (comma-separated, newest first)."""
        text = (os.environ if environ is None else environ).get(KEYS_ENV, "")
        return cls([key for key in text.split(",") if key.strip()])

    def seal(self, document: Mapping[str, Any]) -> str:
        """The text stored for a token document."""
        plain = json.dumps(dict(document), sort_keys=True, default=_json_default).encode()
        return PREFIX + self._fernet.encrypt(plain).decode()

    def open(self, key: str, text: str) -> dict[str, Any]:
        """The token document of stored `text`; `TokenUndecryptable` when no key opens it."""
        from cryptography.fernet import InvalidToken

        if not text.startswith(PREFIX):
            raise TokenUndecryptable(key)
        try:
            plain = self._fernet.decrypt(text[len(PREFIX) :].encode())
        except InvalidToken:
            raise TokenUndecryptable(key) from None
        document: dict[str, Any] = json.loads(plain)
        return document

    def rotate(self, text: str) -> str:
        """The same document encrypted with the first key."""
        from cryptography.fernet import InvalidToken

        try:
            return PREFIX + self._fernet.rotate(text[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise TokenUndecryptable("(one document)") from None


class EncryptedTokenStore:
    """A `connectors.tokens.TokenStore` in a state store's `tokens` table, each document encrypted."""

    def __init__(self, state: State, cipher: TokenCipher) -> None:
        self.state = state
        self.cipher = cipher

    def load(self, key: str) -> dict[str, Any] | None:
        """The stored document for `key`, decrypted, or None."""
        rows = self.state.query("SELECT document FROM tokens WHERE key = ?", (key,))
        return self.cipher.open(key, rows[0][0]) if rows else None

    def save(self, key: str, tokens: dict[str, Any]) -> None:
        """Replace the document for `key`, encrypted, durably, before returning."""
        with self.state.transaction():
            self.state.execute(
                "INSERT INTO tokens (key, document, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at",
                (key, self.cipher.seal(tokens), self.state.stamp()),
            )

    def rekey(self) -> int:
        """Re-encrypt every document with the cipher's first key; returns how many."""
        with self.state.transaction():
            rows = self.state.execute("SELECT key, document FROM tokens ORDER BY key").fetchall()
            for key, text in ((row[0], row[1]) for row in rows):
                self.cipher.open(key, text)  # names the document no key opens
                self.state.execute("UPDATE tokens SET document = ? WHERE key = ?", (self.cipher.rotate(text), key))
        return len(rows)
