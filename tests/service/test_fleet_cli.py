"""`joist worker` and `joist connections poll`: what they need, and what poll puts on the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis
from click.testing import CliRunner
from fleetkit import fresh_database

import cli
from engine.state.registry import Registry

if TYPE_CHECKING:
    from parts import PostgresServer, RedisServer


def joist(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_worker_and_poll_say_what_they_miss() -> None:
    code, out = joist("worker", env={"JOIST_BROKER_URL": "", "JOIST_DATABASE_URL": "postgresql://h/db"})
    assert code == 1 and "S678" in out and "JOIST_BROKER_URL" in out and "Traceback" not in out
    code, out = joist("connections", "poll", env={"JOIST_BROKER_URL": "redis://h", "JOIST_DATABASE_URL": ""})
    assert code == 1 and "S677" in out


def test_poll_queues_one_task_per_connection(postgres_server: PostgresServer, redis_server: RedisServer) -> None:
    database = fresh_database(postgres_server)
    with Registry(database) as registry:
        registry.add("acme", "101", "9001", [], {})
        registry.add("bolt", "102", "9002", [], {})
    broker = redis_server.url(9)
    env = {"JOIST_DATABASE_URL": database, "JOIST_BROKER_URL": broker}
    code, out = joist("connections", "poll", "nobody", env=env)
    assert code == 1 and "S674" in out
    queue = redis.Redis.from_url(broker)
    assert queue.llen("celery") == 0  # nothing queued for a wrong name
    code, out = joist("connections", "poll", env=env)
    assert code == 0 and "queued 2 polls" in out
    assert queue.llen("celery") == 2
    queue.flushdb()
