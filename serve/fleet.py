"""Celery workers for a deployment: each task syncs one connection, on whichever worker takes it.

A task names a connection and what to run: `poll` (an incremental sync by cursor of
every flow, in dependency order: the scheduled catch-up) or `events` (the records of that
connection's pending inbox events, taken in one batch and marked done only once synced).
Nothing else travels in the message; everything a task needs is in PostgreSQL, so any
worker can take any task and a redelivered task finds the state as the last one left it.

Guarantees:
- acks_late: a task is acknowledged only when it returned. A worker killed mid-task
  (SIGKILL, a lost machine) leaves its message unacknowledged; Redis hands it to another
  worker after `visibility_timeout` seconds, and that run replays the intents the killed
  one left pending (engine.state), so each write lands exactly once.
- One run per connection at a time: the task takes the connection's run lock
  (engine.state.lock, a row in its schema) without waiting; when another worker holds it,
  the task is retried `retry_after` seconds later instead of blocking a worker. A holder
  that died is taken over at once on its host, or when its heartbeat ages elsewhere.
- Rate limits per account: with a Redis broker, a connection's connectors pace their calls
  with its realm's and its company's bucket in Redis (serve.ratelimit), shared by all workers.
- Connections never mix: the session a task opens is bound to its connection's schema,
  accounts and tokens (engine.project.deployment).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import Celery, Task

from engine.errors import JoistError
from engine.project.config import Project, load_project
from engine.project.deployment import open_connection
from engine.state.inbox import Event, Inbox
from engine.state.lock import ProjectLocked
from engine.state.registry import Registry
from engine.state.secrets import TokenCipher
from serve.ratelimit import shared_buckets

TASK = "joist.sync_connection"
BROKER_ENV = "JOIST_BROKER_URL"
KINDS = ("poll", "events")


class BrokerMissing(JoistError):
    """A worker command was given no Redis broker."""

    code = "S678"

    def __init__(self) -> None:
        super().__init__(
            "no broker: the workers take their tasks from Redis",
            hint=f"give --broker redis://host:6379/0, or set {BROKER_ENV}",
        )


def broker_url(given: str | None, environ: Mapping[str, str]) -> str:
    """The broker: `given`, else `JOIST_BROKER_URL`; `BrokerMissing` when neither."""
    url = given or environ.get(BROKER_ENV)
    if not url:
        raise BrokerMissing()
    return url


class Fleet:
    """What one worker process holds for its tasks: the deployment's project, registry and token cipher.

    Opened lazily in the process that runs tasks (after Celery forked it), never shared.
    """

    def __init__(
        self, database: str, project_dir: Path | None, environ: Mapping[str, str], broker: str | None = None
    ) -> None:
        self.database = database
        self.broker = broker  # rate limits are shared through it (serve.ratelimit) when it is Redis
        self.project_dir = project_dir
        self.environ = dict(environ)
        self._base: Project | None = None
        self._registry: Registry | None = None
        self._cipher: TokenCipher | None = None
        self._redis: Any = None
        self.pid = 0

    def _open(self) -> tuple[Project, Registry, TokenCipher]:
        if self._registry is None or self.pid != os.getpid():
            self._base = load_project(self.project_dir)
            self._registry = Registry(self.database)
            self._cipher = TokenCipher.from_env(self.environ)
            if self.broker and self.broker.startswith(("redis://", "rediss://")):
                import redis

                self._redis = redis.Redis.from_url(self.broker)
            self.pid = os.getpid()
        assert self._base is not None and self._cipher is not None
        return self._base, self._registry, self._cipher

    def run(self, name: str, kind: str) -> dict[str, Any]:
        """Run one task's work for connection `name`; `ProjectLocked` when another worker runs it now."""
        if kind not in KINDS:
            raise ValueError(f"unknown task kind {kind!r} (one of {', '.join(KINDS)})")
        base, registry, cipher = self._open()
        with open_connection(registry, base, name, cipher) as session:
            if self._redis is not None:
                session.options = shared_buckets(self._redis, session.project)
            if kind == "poll":
                report = session.run(None, lock_wait=0, command="worker")
                return {"connection": name, "kind": kind, "ok": report.ok, "totals": dict(report.totals())}
            inbox = Inbox(session.state)
            events = inbox.pending()
            targets: dict[str, set[str]] = {}
            for rule in session.ruleset.rules.values():
                for e in events:
                    if (rule.source.system, rule.source.entity) == (e.system, e.entity):
                        targets.setdefault(rule.flow, set()).add(e.record_id)
            totals: dict[str, int] = {}
            if targets:
                report = session.run_records(targets, lock_wait=0)
                totals = dict(report.totals())
            inbox.done([e.id for e in events if e.id is not None])
            return {"connection": name, "kind": kind, "events": len(events), "totals": totals}


def make_celery(
    broker: str,
    database: str,
    project_dir: Path | None,
    *,
    visibility_timeout: float = 3600.0,
    retry_after: float = 2.0,
    environ: Mapping[str, str] | None = None,
) -> Celery:
    """The Celery app of a deployment: the broker, and the one task (see the module docstring).

    `visibility_timeout` is how long Redis waits for a task's acknowledgement before it hands
    the task to another worker: longer than the longest sync of one connection.
    """
    fleet = Fleet(database, project_dir, os.environ if environ is None else environ, broker)
    app = Celery("joist", broker=broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": visibility_timeout},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )

    @app.task(name=TASK, bind=True, max_retries=None)
    def sync_connection(task: Task, name: str, kind: str = "poll") -> dict[str, Any]:
        try:
            return fleet.run(name, kind)
        except ProjectLocked:
            raise task.retry(countdown=retry_after) from None

    return app


class Dispatcher:
    """The deployment's intake: change notices of a company or realm into its connection's inbox, then a task.

    `dispatch` commits the events to the connection's inbox (deduplicated by event id, as
    in `joist serve`) before it queues one `events` task for the batch, so an event
    accepted here is never lost: a task lost with the broker is made up by the next one,
    or by the next poll, which both read the inbox. Notices for an account no connection
    holds are counted and dropped.
    """

    def __init__(self, app: Celery, registry: Registry) -> None:
        self.app = app
        self.registry = registry

    def dispatch(self, system: str, account: str, events: list[Event]) -> tuple[str | None, int, int]:
        """(connection, added, duplicates) for one batch of `system` events of company/realm `account`."""
        entry = self.registry.find(system, account)
        if entry is None:
            return None, 0, len(events)
        with self.registry.open_state(entry.name) as state:
            added, dropped = Inbox(state).add(events)
        if added:
            enqueue(self.app, [entry.name], "events")
        return entry.name, added, dropped


def enqueue(app: Celery, names: list[str], kind: str = "poll") -> int:
    """Send one task per connection; returns how many."""
    for name in names:
        app.send_task(TASK, args=[name, kind])
    return len(names)
