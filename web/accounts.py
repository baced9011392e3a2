"""The dashboard's users, audit log, layouts and sign-in attempts, kept in the state store.

Everything goes through the store's public `query` / `transaction` + `execute` with plain
portable SQL (schema version 7), so a PostgreSQL backend serves the dashboard unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.state.store import State
from web.errors import BadLayout, BadSignIn, BadUser, TooManySignIns, UnknownUser, UserExists
from web.security import check_password, hash_password

ROLES = ("admin", "viewer")
MIN_PASSWORD = 10
MAX_FAILED_SIGNINS = 5
SIGNIN_WINDOW = timedelta(minutes=15)
LANGUAGES = ("en", "es", "fr", "de", "pt")


@dataclass(frozen=True)
class User:
    """A dashboard user: `role` is admin (may change things) or viewer (reads only)."""

    name: str
    role: str
    language: str | None
    created_at: str

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class AuditEntry:
    """One change a user made through the dashboard."""

    id: int
    at: str
    user: str
    action: str
    target: str | None
    detail: str | None


class Accounts:
    """Users, roles, audit log, per-user layouts and the sign-in limit of one project."""

    def __init__(self, state: State) -> None:
        self.state = state

    # -- users ------------------------------------------------------------------------------

    def any_user(self) -> bool:
        """Whether a user exists (else the dashboard asks to create the first admin)."""
        return bool(self.state.query("SELECT name FROM web_users LIMIT 1"))

    def users(self) -> list[User]:
        rows = self.state.query("SELECT name, role, language, created_at FROM web_users ORDER BY name")
        return [User(r["name"], r["role"], r["language"], r["created_at"]) for r in rows]

    def user(self, name: str) -> User | None:
        rows = self.state.query("SELECT name, role, language, created_at FROM web_users WHERE name = ?", (name,))
        return User(rows[0]["name"], rows[0]["role"], rows[0]["language"], rows[0]["created_at"]) if rows else None

    def add_user(self, name: str, password: str, role: str, *, by: str | None = None) -> User:
        """Create a user; raises `UserExists` or `BadUser` (name, role, password under 10 characters)."""
        name = name.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise BadUser(f"{name!r} is not a user name", hint="use 1 to 64 characters without spaces")
        if role not in ROLES:
            raise BadUser(f"{role!r} is not a role", allowed=ROLES, hint="admin changes things, viewer only reads")
        if len(password) < MIN_PASSWORD:
            raise BadUser(f"the password is shorter than {MIN_PASSWORD} characters", hint="choose a longer passphrase")
        hashed = hash_password(password)
        with self.state.transaction():
            if self.state.execute("SELECT name FROM web_users WHERE name = ?", (name,)).fetchone():
                raise UserExists(f"user {name!r} exists already", hint="choose another name, or `joist user remove`")
            self.state.execute(
                "INSERT INTO web_users (name, password_hash, role, created_at) VALUES (?, ?, ?, ?)",
                (name, hashed, role, self.state.stamp()),
            )
            self._audit(by or name, "user.add", name, role)
        return User(name, role, None, self.state.stamp())

    def remove_user(self, name: str, *, by: str) -> None:
        with self.state.transaction():
            if self.state.execute("DELETE FROM web_users WHERE name = ?", (name,)).rowcount == 0:
                raise UnknownUser(f"no user {name!r}", allowed=[u.name for u in self.users()])
            self._audit(by, "user.remove", name, None)

    def set_language(self, name: str, language: str | None) -> None:
        """Remember a user's language (None: follow the browser)."""
        if language is not None and language not in LANGUAGES:
            raise BadUser(f"{language!r} is not a language of the dashboard", allowed=LANGUAGES)
        with self.state.transaction():
            self.state.execute("UPDATE web_users SET language = ? WHERE name = ?", (language, name))
            self._audit(name, "user.language", name, language or "browser")

    # -- signing in -------------------------------------------------------------------------

    def sign_in(self, name: str, password: str, client: str) -> User:
        """The user, if the password is right and `client` has not failed too often lately."""
        since = self._since(SIGNIN_WINDOW)
        failed = self.state.query("SELECT COUNT(*) AS n FROM web_logins WHERE client = ? AND at >= ?", (client, since))[
            0
        ]["n"]
        if failed >= MAX_FAILED_SIGNINS:
            raise TooManySignIns(
                f"{failed} failed sign-ins from this address in the last 15 minutes",
                hint="wait a quarter of an hour, or ask an admin to check the name",
            )
        rows = self.state.query("SELECT password_hash FROM web_users WHERE name = ?", (name,))
        stored = rows[0]["password_hash"] if rows else "scrypt$16384$8$1$00$00"
        if not check_password(password, stored) or not rows:
            with self.state.transaction():
                self.state.execute("DELETE FROM web_logins WHERE at < ?", (since,))  # only the window counts
                self.state.execute("INSERT INTO web_logins (client, at) VALUES (?, ?)", (client, self.state.stamp()))
            raise BadSignIn("wrong user name or password")
        with self.state.transaction():
            self.state.execute("DELETE FROM web_logins WHERE client = ?", (client,))
        user = self.user(name)
        assert user is not None
        return user

    def _since(self, ago: timedelta) -> str:
        return (datetime.fromisoformat(self.state.stamp()) - ago).isoformat(timespec="milliseconds")

    # -- audit ------------------------------------------------------------------------------

    def _audit(self, user: str, action: str, target: str | None, detail: Any) -> None:
        text = detail if detail is None or isinstance(detail, str) else json.dumps(detail, sort_keys=True, default=str)
        self.state.execute(
            "INSERT INTO web_audit (at, user_name, action, target, detail) VALUES (?, ?, ?, ?, ?)",
            (self.state.stamp(), user, action, target, text),
        )

    def audit(self, user: str, action: str, target: str | None = None, detail: Any = None) -> None:
        """Write one change to the audit log (joins an open transaction: logged with the change)."""
        with self.state.transaction():
            self._audit(user, action, target, detail)

    def audit_log(self, limit: int = 200) -> list[AuditEntry]:
        """The latest changes, newest first."""
        rows = self.state.query(
            "SELECT id, at, user_name, action, target, detail FROM web_audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [AuditEntry(r["id"], r["at"], r["user_name"], r["action"], r["target"], r["detail"]) for r in rows]

    # -- layouts ----------------------------------------------------------------------------

    def layout(self, name: str) -> list[dict[str, str]] | None:
        """A user's saved overview layout ([{"widget", "size"}] in order), None if never saved."""
        rows = self.state.query("SELECT layout FROM web_users WHERE name = ?", (name,))
        return json.loads(rows[0]["layout"]) if rows and rows[0]["layout"] else None

    def save_layout(self, name: str, layout: list[dict[str, str]], widgets: set[str], sizes: set[str]) -> None:
        """Save a layout after checking every widget and size is known (`BadLayout`)."""
        seen: set[str] = set()
        for item in layout:
            if item.get("widget") not in widgets or item.get("size") not in sizes or item["widget"] in seen:
                raise BadLayout(
                    f"the layout names an unknown or repeated widget or size: {item!r}", allowed=sorted(widgets)
                )
            seen.add(item["widget"])
        text = json.dumps([{"widget": i["widget"], "size": i["size"]} for i in layout])
        with self.state.transaction():
            self.state.execute("UPDATE web_users SET layout = ? WHERE name = ?", (text, name))
            self._audit(name, "layout.save", name, [f"{i['widget']}:{i['size']}" for i in layout])
