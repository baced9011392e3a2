"""The dashboard's application: the service's routes (`serve.app.create_app`) plus the pages.

`joist serve` runs this, so the web pages share the service's process, session and state.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from serve.app import Service, create_app
from web.board import HERE, Dashboard
from web.onboarding import onboarding_routes
from web.pages import page_routes


def create_web_app(service: Service) -> Starlette:
    """The service's application with the dashboard's pages and static files added."""
    app = create_app(service)
    board = Dashboard(service)
    routes: list[Any] = [
        Route("/", board.home),
        Route("/setup", board.setup, methods=["GET", "POST"]),
        Route("/login", board.login, methods=["GET", "POST"]),
        Route("/logout", board.logout, methods=["POST"]),
        Route("/language", board.language, methods=["POST"]),
        *page_routes(board),
        *onboarding_routes(board),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app.router.routes.extend(routes)
    served = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[None]:
        async with served(started):
            try:
                yield
            finally:
                board.session.fresh_connectors()  # the pages' connectors; the service closes its own

    app.router.lifespan_context = lifespan
    return app
