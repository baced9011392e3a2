"""`joist worker` and `joist connections poll`: a deployment's Celery workers and what feeds them (serve.fleet)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from engine.state.registry import Registry, database_url
from serve.fleet import BROKER_ENV, broker_url, enqueue, make_celery

_broker = click.option(
    "--broker", metavar="URL", help=f"The Redis broker (redis://host:6379/0). Default: ${BROKER_ENV}."
)
_database = click.option(
    "--database",
    metavar="URL",
    help="The deployment's PostgreSQL database. Default: $JOIST_DATABASE_URL.",
)


def _broker_url(given: str | None) -> str:
    return broker_url(given, os.environ)


@click.command("worker")
@_broker
@_database
@click.option(
    "--concurrency", default=1, show_default=True, type=click.IntRange(1, 64), help="Tasks this worker runs at once."
)
@click.option(
    "--visibility-timeout",
    default=3600.0,
    show_default=True,
    type=click.FloatRange(1),
    help="Seconds before a task a dead worker held is handed to another: longer than one connection's longest sync.",
)
@click.pass_context
def worker_command(
    ctx: click.Context, broker: str | None, database: str | None, concurrency: int, visibility_timeout: float
) -> None:
    """Run a Celery worker that syncs the deployment's connections, one task at a time per connection.

    The project's joist.yaml is the deployment's (base URLs, the OAuth app's environment
    variables, default packs); the connections are in the database (`joist connections`).
    Tasks are acknowledged only once done: a worker killed mid-task is replaced by another
    after --visibility-timeout, and the writes stay exactly once. See docs/deploy.md.

    \b
    Examples:
      joist worker --broker redis://cache:6379/0 --database postgresql://joist@db/joist
      joist worker --concurrency 4
    """
    project = ctx.find_root().meta.get("joist.project")
    app = make_celery(
        _broker_url(broker),
        database_url(database, os.environ),
        Path(project) if project else None,
        visibility_timeout=visibility_timeout,
    )
    pool = "solo" if concurrency == 1 else "prefork"
    app.Worker(pool=pool, concurrency=concurrency, loglevel="INFO", quiet=True).start()


@click.command("poll")
@click.argument("names", nargs=-1)
@_broker
@_database
def poll_command(names: tuple[str, ...], broker: str | None, database: str | None) -> None:
    """Queue an incremental sync of connections NAMES (default: all) for the workers: the scheduled poll.

    Run it from cron (or a scheduler) every few minutes; a connection already syncing
    takes the new task once its run ends.

    \b
    Examples:
      joist connections poll
      joist connections poll acme bolt
    """
    with Registry(database_url(database, os.environ)) as registry:
        chosen = list(names) or [e.name for e in registry.entries()]
        for name in chosen:
            registry.get(name)  # an unknown name is an error before anything is queued
    app = make_celery(_broker_url(broker), database_url(database, os.environ), None)
    count = enqueue(app, chosen)
    click.echo(f"queued {count} poll{'s' if count != 1 else ''}")
