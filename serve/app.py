"""The service as one ASGI application: webhooks in, health and metrics out, the worker inside.

`Service` holds what one running `joist serve` owns: the project's session (rules, state,
connectors), the webhook intakes, the worker and the metrics. `create_app` wraps it in a
Starlette application whose lifespan registers the webhooks, starts the worker, and on
shutdown (SIGTERM) lets the worker finish the sync in hand before the process exits.

Routes: `POST /webhooks/qbo`, `POST /webhooks/procore` (401 for a bad signature or
secret, nothing stored; 200 only once the events are committed to the inbox),
`GET /healthz` (the process answers), `GET /readyz` (state store reachable, connections'
credentials present, worker alive, last poll recent), `GET /metrics` (Prometheus).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.procore.client import ProcoreConnector
from engine.errors import JoistError
from engine.onboarding.steps import under_way
from engine.project.session import Session
from engine.state.inbox import Event
from serve.events import BadSignature, ProcoreIntake, qbo_events
from serve.metrics import Metrics
from serve.registration import register_procore, register_qbo, webhook_secrets
from serve.worker import Worker


class Logger:
    """One line per event: JSON objects with `json=True`, else `time event key=value ...`."""

    def __init__(self, *, as_json: bool = False, stream: Any = None) -> None:
        self.as_json, self.stream = as_json, stream or sys.stdout
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        if self.as_json:
            line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event, **fields}, default=str)
        else:
            shown = " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, "", [], {}))
            line = f"{time.strftime('%H:%M:%S')} {event}" + (f"  {shown}" if shown else "")
        with self._lock:
            print(line, file=self.stream, flush=True)


class Service:
    """One project kept in sync by one process (see the module docstring)."""

    def __init__(
        self,
        project_dir: str | Path | None,
        *,
        public_url: str,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        window: float = 1.0,
        poll_every: float = 300.0,
        register: bool = True,
        log: Logger | None = None,
        onboarding: bool = False,
    ) -> None:
        self.public_url = public_url.rstrip("/")
        self.transports = dict(transports or {})
        self.register_hooks = register
        self.log = log or Logger()
        self.session = Session.open(project_dir, transports=self.transports)
        self.project = self.session.project
        self.metrics = Metrics()
        self.secrets = webhook_secrets(self.project)
        self.procore: ProcoreIntake | None = None
        if self.secrets.procore_secret and "procore" in self.project.connections:
            own = self.project.credentials("procore").client_id
            self.procore = ProcoreIntake(self.secrets.procore_secret, own)
        state = self.session.state
        held = functools.partial(under_way, state, started=onboarding)  # the wizard's first sync comes first
        self.worker = Worker(self.session, self.metrics, self.log, window=window, poll_every=poll_every, held=held)
        self.worker.presence = {"pid": os.getpid(), "host": socket.gethostname(), "url": self.public_url}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self.register_hooks:
            self.register()
        self.worker.start()
        self.log("serving", project=str(self.project.root), url=self.public_url, inbox=self.worker.inbox.depth())

    def stop(self) -> None:
        drained = self.worker.stop(10.0)
        self.log("stopped", drained=drained, inbox=self.worker.inbox.depth())
        self.session.close()

    def register(self) -> None:
        """Ask both systems to deliver here; a refusal is logged and polling carries on alone."""
        try:
            if self.procore is not None and self.secrets.procore_secret:
                connector = self.session.connectors({"procore"})["procore"]
                assert isinstance(connector, ProcoreConnector)
                entities = {
                    r.source.entity for r in self.session.ruleset.rules.values() if r.source.system == "procore"
                }
                done = register_procore(
                    connector, f"{self.public_url}/webhooks/procore", self.secrets.procore_secret, entities
                )
                self.log("procore webhooks", **done)
            if self.secrets.qbo_verifier and "qbo" in self.project.connections:
                note = register_qbo(
                    self.project.connections["qbo"].base_url,
                    f"{self.public_url}/webhooks/qbo",
                    self.secrets.qbo_verifier,
                    transport=self.transports.get("qbo"),
                )
                self.log("qbo webhooks", note=note)
        except JoistError as exc:
            self.log("webhooks not registered", code=exc.code, error=exc.message, hint=exc.hint)

    # -- requests --------------------------------------------------------------------------

    async def _accept(self, system: str, events: list[Event]) -> Response:
        added, dropped = await run_in_threadpool(self.worker.inbox.add, events)
        self.metrics.received.labels(system).inc(added)
        self.metrics.duplicates.labels(system).inc(dropped)
        if added:
            self.worker.wake()
        return JSONResponse({"accepted": added, "duplicates": dropped})

    def _refused(self, system: str, exc: JoistError) -> Response:
        self.metrics.rejected.labels(system).inc()
        self.log("webhook refused", system=system, code=exc.code, error=exc.message)
        return JSONResponse({"error": exc.message}, status_code=401 if isinstance(exc, BadSignature) else 400)

    async def qbo_webhook(self, request: Request) -> Response:
        body = await request.body()
        if not self.secrets.qbo_verifier:
            return JSONResponse({"error": "QBO webhooks are not set up"}, status_code=404)
        try:
            events = qbo_events(
                body,
                request.headers.get("intuit-signature"),
                self.secrets.qbo_verifier,
                self.project.connections["qbo"].account_id,
            )
        except JoistError as exc:
            return self._refused("qbo", exc)
        return await self._accept("qbo", events)

    async def procore_webhook(self, request: Request) -> Response:
        body = await request.body()
        if self.procore is None:
            return JSONResponse({"error": "Procore webhooks are not set up"}, status_code=404)
        try:
            events = self.procore.events(request.headers, body)
        except JoistError as exc:
            return self._refused("procore", exc)
        return await self._accept("procore", events)

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    def readiness(self) -> dict[str, Any]:
        """What /readyz reports: each check and whether all hold."""
        checks: dict[str, Any] = {}
        try:
            checks["inbox"] = self.worker.inbox.depth()
            checks["state"] = "ok"
        except JoistError as exc:
            checks["state"] = exc.message
        for system in sorted(self.project.connections):
            try:
                self.project.credentials(system)
                checks[system] = "ok"
            except JoistError as exc:
                checks[system] = exc.message
        checks["worker"] = "ok" if self.worker.alive else "stopped"
        age = None if self.worker.last_poll_at is None else round(time.time() - self.worker.last_poll_at, 1)
        checks["last_poll_age"] = age
        fresh = age is not None and (self.worker.poll_every <= 0 or age <= 3 * self.worker.poll_every)
        if self.worker.held is not None and self.worker.held():  # no sync before the wizard goes live
            checks["onboarding"] = "under way: syncs wait for its go-live step"
            fresh = True
        ok = all(checks.get(k) == "ok" for k in ("state", "worker", *self.project.connections)) and fresh
        return {"ready": ok, "checks": checks, "last_error": self.worker.error}

    async def readyz(self, request: Request) -> Response:
        doc = await run_in_threadpool(self.readiness)
        return JSONResponse(doc, status_code=200 if doc["ready"] else 503)

    async def metrics_text(self, request: Request) -> Response:
        self.metrics.inbox_depth.set(await run_in_threadpool(self.worker.inbox.depth))
        return Response(self.metrics.text(), media_type="text/plain; version=0.0.4")


def create_app(service: Service) -> Starlette:
    """The ASGI application of a service; its lifespan starts and drains the worker."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    routes = [
        Route("/webhooks/qbo", service.qbo_webhook, methods=["POST"]),
        Route("/webhooks/procore", service.procore_webhook, methods=["POST"]),
        Route("/healthz", service.healthz),
        Route("/readyz", service.readyz),
        Route("/metrics", service.metrics_text),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
