"""The Connections page: each system's company, token health and last webhook, and for an
admin the OAuth sign-in that (re)connects it and the button that disconnects it.

The sign-in is the one `joist connect` runs (`engine.project.connect`), with the dashboard
itself as the redirect address: Connect sends the browser to the system's consent page with
a one-time `state`; the system sends it back to `/connections/{system}/callback`, where the
code is traded for the token pair, saved to the project's token file. A `state` belongs to
the admin who started it and lives ten minutes. Every connect and disconnect is audited.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from engine.errors import JoistError
from engine.project.connect import disconnect, finish_sign_in, sign_in_url
from web.board import Context, Dashboard, guard
from web.errors import NotAllowed, SignInRefused, WebError
from web.widgets import Widgets

SIGN_IN_LIFETIME = 600.0  # seconds a started sign-in may take to come back
RETURN_PAGES = ("/connections", "/onboard/connect")  # where a sign-in may send the browser back


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in an admin started: whose, for which system, where it comes back, since when."""

    system: str
    user: str
    redirect_uri: str
    started: float
    back: str = "/connections"  # the page the browser returns to: this one, or the onboarding's connect step


class ConnectionsPage:
    """The page and its three actions (connect, the callback, disconnect)."""

    def __init__(self, board: Dashboard, widgets: Widgets) -> None:
        self.board, self.widgets = board, widgets
        self.pending: dict[str, PendingSignIn] = {}
        self._lock = threading.Lock()

    def _system(self, ctx: Context) -> str:
        system = str(ctx.request.path_params["system"])
        if system not in self.board.service.project.connections:
            raise WebError(
                f"joist.yaml has no {system!r} connection", allowed=sorted(self.board.service.project.connections)
            )
        return system

    def _transport(self, system: str) -> Any:
        return self.board.session.transports.get(system)

    @guard()
    async def page(self, ctx: Context) -> Response:
        data = await run_in_threadpool(self.widgets.data, "connections")
        return self.board.render(
            ctx,
            "connections.html",
            d=data,
            done=ctx.request.query_params.get("done"),
            system=ctx.request.query_params.get("system"),
        )

    @guard(admin=True)
    async def connect(self, ctx: Context) -> Response:
        """Start the sign-in: off to the system's consent page, back to the callback."""
        assert ctx.user is not None
        system = self._system(ctx)
        state = secrets.token_urlsafe(24)
        redirect_uri = f"{self.board.service.public_url}/connections/{system}/callback"
        try:
            url = await run_in_threadpool(
                sign_in_url, self.board.service.project, system, redirect_uri, state, transport=self._transport(system)
            )
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        now = time.time()
        with self._lock:
            self.pending = {k: v for k, v in self.pending.items() if now - v.started < SIGN_IN_LIFETIME}
            back = str(ctx.form.get("next") or "")
            back = back if back in RETURN_PAGES else RETURN_PAGES[0]
            self.pending[state] = PendingSignIn(system, ctx.user.name, redirect_uri, now, back)
        return RedirectResponse(url, status_code=303)

    @guard()
    async def callback(self, ctx: Context) -> Response:
        """Where the system sends the browser back: trade the code, save the tokens, audit."""
        assert ctx.user is not None
        if not ctx.user.admin:
            raise NotAllowed("only an admin may connect a system; you are signed in as a viewer")
        system = self._system(ctx)
        query = dict(ctx.request.query_params)
        with self._lock:
            started = self.pending.pop(str(query.get("state") or ""), None)
        if started is None or started.system != system or started.user != ctx.user.name:
            raise SignInRefused(
                "this sign-in was not started here, or was used already",
                hint="press Connect on the Connections page again",
            )
        if time.time() - started.started >= SIGN_IN_LIFETIME or "code" not in query:
            raise SignInRefused(
                f"the {system} sign-in came back "
                + ("too late" if "code" in query else "without approval")
                + (f" ({query['error']})" if query.get("error") else ""),
                hint="press Connect again and approve access",
            )
        project = self.board.service.project

        def finish() -> dict[str, Any]:
            result = finish_sign_in(project, system, query, started.redirect_uri, transport=self._transport(system))
            self.board.session.fresh_connectors()
            self.board.accounts.audit(ctx.user.name, "connection.connect", system, result.get("token_key"))  # type: ignore[union-attr]
            return result

        try:
            await run_in_threadpool(finish)
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        return RedirectResponse(f"{started.back}?done=connected&system={system}", status_code=303)

    @guard(admin=True)
    async def disconnect(self, ctx: Context) -> Response:
        """Revoke the system's tokens and forget them; syncs stop reaching it until it is connected again."""
        assert ctx.user is not None
        system = self._system(ctx)
        user = ctx.user.name

        def forget() -> None:
            disconnect(self.board.service.project, system, transport=self._transport(system))
            self.board.session.fresh_connectors()
            self.board.accounts.audit(user, "connection.disconnect", system)

        try:
            await run_in_threadpool(forget)
        except JoistError as exc:
            raise WebError(f"{exc.code} {exc.message}", hint=exc.hint) from None
        return RedirectResponse(f"/connections?done=disconnected&system={system}", status_code=303)


def connection_routes(page: ConnectionsPage) -> list[Route]:
    """The Connections page's routes."""
    return [
        Route("/connections", page.page, methods=["GET"]),
        Route("/connections/{system}/connect", page.connect, methods=["POST"]),
        Route("/connections/{system}/callback", page.callback, methods=["GET"]),
        Route("/connections/{system}/disconnect", page.disconnect, methods=["POST"]),
    ]
