"""The overview's widgets: what each shows, read from the state store, the worker and the systems.

Each widget is a function of the dashboard returning a dict its template fragment
(`templates/widgets/<name>.html`) draws. A user's layout is a list of `{"widget", "size"}`
saved in the state store (`web.accounts.Accounts.save_layout`); `change_layout` applies
one edit (add, remove, resize, move) to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.errors import JoistError
from engine.state.inbox import Inbox
from web.errors import BadLayout
from web.i18n import N_

if TYPE_CHECKING:
    from web.board import Dashboard

TITLES: dict[str, str] = {
    "connections": N_("Connections"),
    "moved": N_("Moved per flow"),
    "failures": N_("Open failures"),
    "locked": N_("Locked records"),
    "inbox": N_("Inbox"),
    "latency": N_("Sync latency"),
    "reconcile": N_("Reconcile differences"),
}
SIZES = ("small", "medium", "large")
DEFAULT_LAYOUT: list[dict[str, str]] = [
    {"widget": "connections", "size": "large"},
    {"widget": "failures", "size": "medium"},
    {"widget": "inbox", "size": "small"},
    {"widget": "moved", "size": "large"},
    {"widget": "locked", "size": "small"},
    {"widget": "latency", "size": "small"},
]
WAITING = "M406"  # a record waiting for a link, not a failure to fix


def change_layout(layout: list[dict[str, str]], action: str, widget: str, value: str = "") -> list[dict[str, str]]:
    """`layout` after one edit: add, remove, size (to `value`), move (`value` -1 or 1 places),
    place (at position `value`, counted from 0, where a drag dropped it)."""
    out = [dict(item) for item in layout]
    names = [item["widget"] for item in out]
    if widget not in TITLES:
        raise BadLayout(f"there is no widget {widget!r}", allowed=sorted(TITLES))
    if action == "add":
        if widget not in names:
            out.append({"widget": widget, "size": value if value in SIZES else "medium"})
        return out
    if widget not in names:
        raise BadLayout(f"the widget {widget!r} is not on the dashboard", allowed=names)
    at = names.index(widget)
    if action == "remove":
        del out[at]
    elif action == "size" and value in SIZES:
        out[at]["size"] = value
    elif action == "move" and value in ("-1", "1"):
        to = max(0, min(len(out) - 1, at + int(value)))
        out.insert(to, out.pop(at))
    elif action == "place" and value.isdigit():  # dropped at this position (drag and drop)
        out.insert(min(int(value), len(out) - 1), out.pop(at))
    else:
        raise BadLayout(
            f"cannot {action!r} a widget with {value!r}", allowed=["add", "remove", "size", "move", "place"]
        )
    return out


def _week_start(now: datetime) -> datetime:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class Widgets:
    """The data of every widget, for one dashboard."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.state = board.state
        self._reconcile: tuple[float, Any] | None = None

    def data(self, name: str) -> dict[str, Any]:
        """What widget `name` shows (a problem reading it is shown in the widget, not raised)."""
        make: Callable[[], dict[str, Any]] = getattr(self, name)
        try:
            return make()
        except JoistError as exc:
            return {"error": f"{exc.code} {exc.message}"}

    def connections(self) -> dict[str, Any]:
        service = self.board.service
        project = service.project
        systems = []
        last_hooks = {
            r["system"]: r["at"]
            for r in self.state.query("SELECT system, MAX(received_at) AS at FROM inbox GROUP BY system")
        }
        for system in sorted(project.connections):
            conn = project.connections[system]
            problem = None
            try:
                project.credentials(system)
            except JoistError as exc:
                problem = f"{exc.code} {exc.message}"
            tokens = project.token_store().load(project.token_key(system)) or {}
            expires = tokens.get("expires_at")
            token = "missing" if not tokens.get("refresh_token") else "ok"
            if token == "ok" and expires and float(expires) < time.time():
                token = "renews"  # the access token expired; the refresh token gets a new one on the next call
            systems.append(
                {
                    "system": system,
                    "account": conn.account_id,
                    "kind": "company" if system == "procore" else "realm",
                    "token": token,
                    "problem": problem,
                    "last_webhook": last_hooks.get(system),
                    "healthy": problem is None and token != "missing" and service.worker.error is None,
                }
            )
        poll = service.worker.last_poll_at
        last = self.state.runs(1)
        return {
            "last_run": last[0] if last else None,
            "systems": systems,
            "last_poll": _stamp(datetime.fromtimestamp(poll, UTC)) if poll else None,
            "worker": "running" if service.worker.alive else "stopped",
            "error": service.worker.error,
        }

    def moved(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        today = _stamp(now.replace(hour=0, minute=0, second=0, microsecond=0))
        week = _stamp(_week_start(now))
        rows = self.state.query(
            "SELECT flow, COUNT(*) AS week, SUM(CASE WHEN updated_at >= ? THEN 1 ELSE 0 END) AS today "
            "FROM links WHERE updated_at >= ? GROUP BY flow ORDER BY flow",
            (today, week),
        )
        flows = [{"flow": r["flow"] or "-", "today": int(r["today"] or 0), "week": int(r["week"])} for r in rows]
        return {"flows": flows, "today": sum(f["today"] for f in flows), "week": sum(f["week"] for f in flows)}

    def failures(self) -> dict[str, Any]:
        rows = self.state.query(
            "SELECT flow, source_id, code, message FROM failures WHERE code <> ? ORDER BY last_failed_at DESC LIMIT 5",
            (WAITING,),
        )
        counts = self.state.query(
            "SELECT SUM(CASE WHEN code <> ? THEN 1 ELSE 0 END) AS failed, "
            "SUM(CASE WHEN code = ? THEN 1 ELSE 0 END) AS waiting FROM failures",
            (WAITING, WAITING),
        )[0]
        return {
            "count": int(counts["failed"] or 0),
            "waiting": int(counts["waiting"] or 0),
            "latest": [dict(r) for r in rows],
        }

    def locked(self) -> dict[str, Any]:
        count = self.state.query("SELECT COUNT(*) AS n FROM links WHERE locked = 1")[0]["n"]
        return {"count": int(count)}

    def inbox(self) -> dict[str, Any]:
        return {"depth": Inbox(self.state).depth()}

    def latency(self) -> dict[str, Any]:
        registry = self.board.service.metrics.registry
        total = registry.get_sample_value("joist_sync_latency_seconds_sum") or 0.0
        count = registry.get_sample_value("joist_sync_latency_seconds_count") or 0.0
        return {"count": int(count), "mean": (total / count) if count else None}

    def reconcile(self) -> dict[str, Any]:
        """Projects whose figures differ (computed at most once a minute: it reads both systems)."""
        if self._reconcile is None or time.monotonic() - self._reconcile[0] > 60:
            self._reconcile = (time.monotonic(), self.board.reconciliation())
        report = self._reconcile[1]
        differing = [p for p in report.projects if not p.equal]
        return {"projects": len(report.projects), "differing": differing, "mismatches": len(report.mismatches)}
