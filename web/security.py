"""Passwords, signed session cookies and CSRF tokens, with the standard library only.

Passwords are hashed with scrypt (`hashlib.scrypt`, n=2**14, r=8, p=1, a 16-byte salt),
stored as `scrypt$n$r$p$salt$hash` (hex). A session cookie is `payload.signature`: the
payload is base64url JSON (`user`, `nonce`, `issued`), the signature HMAC-SHA256 with the
project's secret (`.joist/web-secret`, 32 random bytes, created 0600). The CSRF token of a
session is an HMAC of its nonce, so a page's forms carry a value no other site can know.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web.errors import SecretUnreadable

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_COOKIE = "joist_session"
SESSION_MAX_AGE = 12 * 3600


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password`, self-describing (parameters and salt included)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password` (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2
        )
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def load_secret(folder: Path) -> bytes:
    """The project's cookie secret (`folder/web-secret`), made with 0600 on first use."""
    path = folder / "web-secret"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            data = path.read_bytes()
            if len(data) < 32:
                raise SecretUnreadable(
                    f"the dashboard secret {path} is shorter than 32 bytes",
                    hint="delete it: the next start makes a new one (everyone signs in again)",
                ) from None
            return data
        with os.fdopen(fd, "wb") as out:
            data = secrets.token_bytes(32)
            out.write(data)
        return data
    except OSError as exc:
        raise SecretUnreadable(
            f"cannot read or create the dashboard secret {path}: {exc.strerror or exc}",
            hint="check the permissions of the project's .joist folder",
        ) from None


@dataclass(frozen=True)
class Session:
    """What a signed cookie says: who (None before sign-in), its nonce, when it was issued."""

    user: str | None
    nonce: str
    issued: float


class Signer:
    """Signs and reads session cookies and derives CSRF tokens with one secret."""

    def __init__(self, secret: bytes, *, max_age: float = SESSION_MAX_AGE) -> None:
        self.secret, self.max_age = secret, max_age

    def _mac(self, data: bytes) -> str:
        return base64.urlsafe_b64encode(hmac.new(self.secret, data, hashlib.sha256).digest()).decode().rstrip("=")

    def new(self, user: str | None) -> Session:
        """A fresh session (a new nonce: signing in or out never reuses the old CSRF token)."""
        return Session(user, secrets.token_urlsafe(16), time.time())

    def dump(self, session: Session) -> str:
        """The cookie value of a session."""
        raw = json.dumps({"user": session.user, "nonce": session.nonce, "issued": session.issued}).encode()
        payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return f"{payload}.{self._mac(payload.encode())}"

    def load(self, value: str | None) -> Session | None:
        """The session of a cookie value, or None when it is missing, forged or expired."""
        if not value or "." not in value:
            return None
        payload, signature = value.rsplit(".", 1)
        if not hmac.compare_digest(self._mac(payload.encode()), signature):
            return None
        try:
            doc: Any = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = Session(doc["user"], str(doc["nonce"]), float(doc["issued"]))
        except (ValueError, KeyError, TypeError):
            return None
        if time.time() - session.issued > self.max_age:
            return None
        return session

    def csrf(self, session: Session) -> str:
        """The CSRF token of a session's forms."""
        return self._mac(b"csrf:" + session.nonce.encode())

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        """Whether a posted token is this session's (constant time)."""
        return bool(token) and hmac.compare_digest(self.csrf(session), str(token))
