"""A deployment's intake: a company's change notices reach its connection's inbox, and a worker syncs them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import redis
from fleetkit import Deployment, stop
from servekit import wait_for

from engine.state.inbox import Event, Inbox
from engine.state.registry import Registry
from sandbox.procore.resources import RESOURCES
from serve.fleet import Dispatcher, enqueue, make_celery

if TYPE_CHECKING:
    from parts import PostgresServer, RedisServer


def test_events_of_one_company_are_synced_by_a_worker_into_its_realm_only(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    fleet = Deployment.build(tmp_path, postgres_server, redis_server, 2, 3, redis_db=5)
    worker = fleet.worker(tmp_path / "worker.log")
    try:
        app = make_celery(fleet.broker, fleet.database, fleet.project)
        enqueue(app, fleet.names)
        wait_for(lambda: all(len(fleet.realm_names(n)) == 3 for n in fleet.names), timeout=120, what="first sync")
        first, second = fleet.names
        made = [
            fleet.procore.store.insert(
                RESOURCES["vendors"], {"name": f"{first} Sub new {n}"}, company_id=fleet.companies[first]
            )
            for n in range(2)
        ]
        events = [Event(f"procore:evt-{row['id']}", "procore", "vendors", str(row["id"]), "create") for row in made]
        with Registry(fleet.database) as registry:
            dispatcher = Dispatcher(app, registry)
            assert dispatcher.dispatch("procore", str(fleet.companies[first]), events) == (first, 2, 0)
            assert dispatcher.dispatch("procore", str(fleet.companies[first]), events) == (first, 0, 2)
            assert dispatcher.dispatch("procore", "424242", events) == (None, 0, 2)
            wait_for(lambda: len(fleet.realm_names(first)) == 5, timeout=120, what="the new vendors in QBO")

            def drained() -> bool:
                with registry.open_state(first) as state:
                    return Inbox(state).depth() == 0

            wait_for(drained, timeout=60, what="an empty inbox")
            with registry.open_state(first) as state:
                assert "serve" in [run.command for run in state.runs()]  # a targeted run, not a poll
        assert sorted(fleet.realm_names(first)) == sorted([*fleet.vendors[first].values(), *(r["name"] for r in made)])
        assert len(fleet.realm_names(second)) == 3
        shared = redis.Redis.from_url(fleet.broker)  # the worker paced its calls with the accounts' shared buckets
        assert shared.exists(f"joist:rate:qbo:{fleet.realms[first]}", f"joist:rate:qbo:{fleet.realms[second]}") == 2
        assert shared.exists(f"joist:rate:procore:{fleet.companies[first]}") == 1
    finally:
        stop(worker)
        fleet.close()
