"""Link and unlink a record from its page (admin): the same engine code as `joist link` and
`joist unlink` (`engine.project.linking`), under the project's run lock, audited.

The twin is given by its id, or searched by name or number in the target system; the page
then offers what it found, each with its own Link button.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.errors import JoistError
from engine.project.linking import find_twins, link_flow_record, unlink_flow_record
from web.board import Context, Dashboard, guard
from web.errors import WebError

LOCK_WAIT = 5.0  # seconds a link from the page waits for a sync in hand


class LinkPanel:
    """The Link card of a record's page and its two actions."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def panel(self, flow: str, source_id: str, query: str) -> dict[str, Any]:
        """What the card shows: the current link, and the target records matching `query`."""
        session = self.board.session
        rule = session.ruleset.rules[flow]
        side = {"procore_id": source_id} if rule.source.system == "procore" else {"qbo_id": source_id}
        link = session.state.find_link(rule.links, **side)
        twin = getattr(link, f"{rule.target.system}_id") if link else None
        found: list[tuple[str, str]] = []
        error = None
        if query.strip():
            try:
                found = find_twins(session, flow, query)
            except JoistError as exc:
                error = f"{exc.code} {exc.message}"
        return {
            "twin": twin,
            "system": rule.target.system,
            "entity": rule.target.entity,
            "link_set": rule.links,
            "query": query,
            "found": found,
            "error": error,
        }

    def _path(self, ctx: Context) -> tuple[str, str]:
        flow, source_id = str(ctx.request.path_params["flow"]), str(ctx.request.path_params["source_id"])
        if flow not in self.board.session.ruleset.rules:
            raise WebError(f"there is no flow {flow!r}", allowed=sorted(self.board.session.ruleset.rules))
        return flow, source_id

    @guard(admin=True)
    async def link(self, ctx: Context) -> Response:
        """Link the record to the twin id the form names (checked in both systems first)."""
        assert ctx.user is not None
        flow, source_id = self._path(ctx)
        twin = str(ctx.form.get("twin") or "").strip()
        user = ctx.user.name

        def run() -> str:
            with self.board.session.lock("link", wait=LOCK_WAIT):
                made = link_flow_record(self.board.session, flow, source_id, twin)
            self.board.accounts.audit(
                user, "record.link", f"{flow} {source_id}", f"{made.procore_id} <-> {made.qbo_id}"
            )
            return twin

        try:
            await run_in_threadpool(run)
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        return RedirectResponse(f"/records/{flow}/{source_id}?linked=1", status_code=303)

    @guard(admin=True)
    async def unlink(self, ctx: Context) -> Response:
        """Forget the record's link (both records stay); the next sync treats it as new, or matches it."""
        assert ctx.user is not None
        flow, source_id = self._path(ctx)
        user = ctx.user.name

        def run() -> bool:
            with self.board.session.lock("unlink", wait=LOCK_WAIT):
                removed = unlink_flow_record(self.board.session, flow, source_id)
            if removed:
                self.board.accounts.audit(user, "record.unlink", f"{flow} {source_id}")
            return removed

        try:
            removed = await run_in_threadpool(run)
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        if not removed:
            raise WebError(f"{flow} {source_id} has no link to remove")
        return RedirectResponse(f"/records/{flow}/{source_id}?unlinked=1", status_code=303)


def link_routes(panel: LinkPanel) -> list[Route]:
    """The link and unlink actions of a record's page."""
    return [
        Route("/records/{flow}/{source_id}/link", panel.link, methods=["POST"]),
        Route("/records/{flow}/{source_id}/unlink", panel.unlink, methods=["POST"]),
    ]
