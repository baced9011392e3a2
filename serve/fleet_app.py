"""`joist serve --deployment`: the webhook intake and the poll schedule of a deployment, work on Celery.

The deployment's service syncs nothing itself. A webhook delivery is checked (QBO's
signature, Procore's secret: the deployment's, one app each), its events are grouped by
QBO realm or Procore company, and each group goes to its connection through the
`Dispatcher`: committed to the connection's inbox, then one `events` task queued. The
answer is 200 only after that commit. Notices for a realm or company no connection holds
are counted and dropped. Every `poll_every` seconds a poll task is queued per connection
(the polling fallback). Several of these processes may run behind one proxy: the inbox
drops repeats by event id, and a poll queued twice runs twice, the second a no-op.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.errors import JoistError
from engine.project.config import load_project
from engine.state.inbox import Event
from engine.state.registry import Registry
from serve.app import Logger
from serve.events import BadSignature, ProcoreIntake, qbo_events_by_realm
from serve.fleet import Dispatcher, enqueue, make_celery
from serve.registration import webhook_secrets


class FleetService:
    """The intake and scheduler of one deployment (see the module docstring)."""

    def __init__(
        self,
        project_dir: str | Path | None,
        *,
        database: str,
        broker: str,
        poll_every: float = 300.0,
        log: Logger | None = None,
    ) -> None:
        self.project = load_project(project_dir)
        self.log = log or Logger()
        self.poll_every = poll_every
        self.secrets = webhook_secrets(self.project)
        self.celery = make_celery(broker, database, self.project.root)
        self.registry = Registry(database)
        self.dispatcher = Dispatcher(self.celery, self.registry)
        self._registry_lock = threading.Lock()  # one registry connection, many request threads
        self.procore: ProcoreIntake | None = None
        if self.secrets.procore_secret and "procore" in self.project.connections:
            own = self.project.credentials("procore").client_id
            self.procore = ProcoreIntake(self.secrets.procore_secret, own)
        self.counts = {"accepted": 0, "duplicates": 0, "unknown": 0, "polls": 0}
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    def start(self) -> None:
        """Start the poll schedule (the first round at once)."""
        if self.poll_every > 0:
            self._scheduler = threading.Thread(target=self._schedule, name="joist-fleet-polls", daemon=True)
            self._scheduler.start()
        self.log("serving deployment", project=str(self.project.root))

    def stop(self) -> None:
        """Stop the schedule and close the registry."""
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=10)
        self.registry.close()

    def poll_all(self) -> int:
        """Queue one poll per connection; returns how many."""
        with self._registry_lock:
            names = [e.name for e in self.registry.entries()]
        count = enqueue(self.celery, names, "poll")
        self.counts["polls"] += count
        return count

    def _schedule(self) -> None:
        while not self._stop.is_set():
            try:
                self.log("polls queued", connections=self.poll_all())
            except JoistError as exc:
                self.log("polls not queued", code=exc.code, error=exc.message)
            self._stop.wait(self.poll_every)

    def dispatch(self, system: str, groups: dict[str, list[Event]]) -> dict[str, int]:
        """Hand each account's events to its connection; the counts of this delivery."""
        counts = {"accepted": 0, "duplicates": 0, "unknown": 0}
        for account, events in groups.items():
            with self._registry_lock:
                name, added, dropped = self.dispatcher.dispatch(system, account, events)
            if name is None:
                counts["unknown"] += len(events)
                self.log("webhook for no connection", system=system, account=account, events=len(events))
            else:
                counts["accepted"] += added
                counts["duplicates"] += dropped
        for key, value in counts.items():
            self.counts[key] += value
        return counts

    def _refused(self, system: str, exc: JoistError) -> Response:
        self.log("webhook refused", system=system, code=exc.code, error=exc.message)
        return JSONResponse({"error": exc.message}, status_code=401 if isinstance(exc, BadSignature) else 400)

    async def qbo_webhook(self, request: Request) -> Response:
        body = await request.body()
        if not self.secrets.qbo_verifier:
            return JSONResponse({"error": "QBO webhooks are not set up"}, status_code=404)
        try:
            groups = qbo_events_by_realm(body, request.headers.get("intuit-signature"), self.secrets.qbo_verifier)
        except JoistError as exc:
            return self._refused("qbo", exc)
        return JSONResponse(await run_in_threadpool(self.dispatch, "qbo", groups))

    async def procore_webhook(self, request: Request) -> Response:
        body = await request.body()
        if self.procore is None:
            return JSONResponse({"error": "Procore webhooks are not set up"}, status_code=404)
        try:
            company, events = self.procore.company_events(request.headers, body)
        except JoistError as exc:
            return self._refused("procore", exc)
        groups = {company: events} if company and events else {}
        return JSONResponse(await run_in_threadpool(self.dispatch, "procore", groups))

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True, **self.counts})


def create_fleet_app(service: FleetService) -> Starlette:
    """The deployment's ASGI app: /webhooks/qbo, /webhooks/procore, /healthz."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    routes: list[Any] = [
        Route("/webhooks/qbo", service.qbo_webhook, methods=["POST"]),
        Route("/webhooks/procore", service.procore_webhook, methods=["POST"]),
        Route("/healthz", service.healthz, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
