"""`joist serve`: the command that runs the service (`serve.app`) under uvicorn."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterator

import click
import uvicorn

from serve.app import Logger, Service
from web.app import create_web_app


class _Server(uvicorn.Server):
    """uvicorn re-raises SIGTERM after a graceful shutdown (exit -15); a drained stop is a clean exit, 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8730, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--public-url",
    help="The address Procore and QBO deliver webhooks to (behind a TLS proxy: its https URL). "
    "Default: http://HOST:PORT.",
)
@click.option(
    "--poll-every",
    default=300.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds between polling syncs that catch what webhooks missed (0: no polling).",
)
@click.option(
    "--window",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds events on one record wait so a burst syncs once.",
)
@click.option("--no-register", is_flag=True, help="Do not register webhooks with Procore and QBO on start.")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.option(
    "--onboarding",
    is_flag=True,
    help="Sync nothing until the onboarding wizard (/onboard) has gone live: records already on both "
    "sides are matched first. An onboarding begun with `joist onboard` holds the syncs without it.",
)
@click.option(
    "--deployment",
    is_flag=True,
    help="Serve a deployment: route webhooks to its connections and queue polls for `joist worker` (docs/deploy.md).",
)
@click.option(
    "--database", metavar="URL", help="With --deployment: its PostgreSQL database. Default: $JOIST_DATABASE_URL."
)
@click.option("--broker", metavar="URL", help="With --deployment: the Redis broker. Default: $JOIST_BROKER_URL.")
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str,
    port: int,
    public_url: str | None,
    poll_every: float,
    window: float,
    no_register: bool,
    log_json: bool,
    onboarding: bool,
    deployment: bool,
    database: str | None,
    broker: str | None,
) -> None:
    """Keep the project in sync by itself: webhooks in, targeted syncs, a polling fallback.

    Events are committed to the project's state before they are answered, and marked done
    only once their records synced: a crash or a restart loses nothing. SIGTERM (Ctrl-C)
    finishes the sync in hand, then stops. Health: /healthz, /readyz; metrics: /metrics.
    The dashboard is at the same address (docs/dashboard.md): the first visit creates the admin.

    \b
    Examples:
      joist serve
      joist serve --poll-every 60 --log-json
      joist serve --onboarding                  # a new project: the web wizard first, then syncs
      joist serve --host 0.0.0.0 --public-url https://joist.example.com
      joist serve --deployment --poll-every 300   # webhooks and polls of many connections, for workers
    """
    if not _loopback(host):
        click.echo(f"listening on {host}: put a TLS proxy in front (see docs/serve.md)", err=True)
    if deployment:
        _serve_deployment(ctx, host, port, poll_every, log_json, database, broker)
        return
    service = Service(
        ctx.find_root().meta.get("joist.project"),
        public_url=public_url or f"http://{host}:{port}",
        window=window,
        poll_every=poll_every,
        register=not no_register,
        log=Logger(as_json=log_json),
        onboarding=onboarding,
    )
    config = uvicorn.Config(create_web_app(service), host=host, port=port, log_level="warning", lifespan="on")
    _Server(config).run()


def _serve_deployment(
    ctx: click.Context,
    host: str,
    port: int,
    poll_every: float,
    log_json: bool,
    database: str | None,
    broker: str | None,
) -> None:
    """The deployment's intake and poll schedule under uvicorn (serve.fleet_app); the syncs run on workers."""
    import os

    from engine.state.registry import database_url
    from serve.fleet import broker_url
    from serve.fleet_app import FleetService, create_fleet_app

    service = FleetService(
        ctx.find_root().meta.get("joist.project"),
        database=database_url(database, os.environ),
        broker=broker_url(broker, os.environ),
        poll_every=poll_every,
        log=Logger(as_json=log_json),
    )
    config = uvicorn.Config(create_fleet_app(service), host=host, port=port, log_level="warning", lifespan="on")
    _Server(config).run()
