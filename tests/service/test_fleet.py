"""A deployment on real parts: 20 connections synced by 2 Celery workers, one SIGKILLed mid-run.

One Procore sandbox holds 20 companies (30 vendors and 5 invoices each, the bills
depending on the vendors) and one QBO sandbox 20 realms, both served on 127.0.0.1;
PostgreSQL and Redis are the session's throw-away servers (tests/fleetkit.py builds the
rest). Worker 0 is killed while a batch of one connection's creates is in flight
(announced by its intents, not yet linked); a replacement starts. Then every vendor and
bill of every company is in its own realm exactly once, each bill's vendor is one of its
realm's linked vendors, and every link of a connection pairs a record of its company with
one of its realm.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fleetkit import Deployment, stop
from servekit import wait_for

from engine.state.registry import Registry
from serve.fleet import enqueue, make_celery

if TYPE_CHECKING:
    from parts import PostgresServer, RedisServer

pytestmark = pytest.mark.slow(minutes=2)
CONNECTIONS = 20
VENDORS = 30
BILLS = 5


def test_twenty_connections_two_workers_one_killed_each_record_once(
    tmp_path: Path, postgres_server: PostgresServer, redis_server: RedisServer
) -> None:
    fleet = Deployment.build(tmp_path, postgres_server, redis_server, CONNECTIONS, VENDORS, bills=BILLS)
    workers = []
    try:
        workers = [fleet.worker(tmp_path / f"worker{n}.log") for n in range(2)]
        assert enqueue(make_celery(fleet.broker, fleet.database, fleet.project), fleet.names) == CONNECTIONS
        victim = workers[0]
        fleet.qbo.control.set_faults(latency=0.5, path_pattern="/batch$")  # each batch of creates in flight 0.5 s
        wait_for(lambda: fleet.in_flight(victim.pid), timeout=180, what="worker 0 with a batch of creates in flight")
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL
        workers.append(fleet.worker(tmp_path / "worker2.log"))

        wait_for(
            lambda: all(
                len(fleet.realm_names(n)) >= VENDORS and len(fleet.realm_bills(n)) >= BILLS for n in fleet.names
            ),
            timeout=600,
            what="every company's vendors in its realm",
        )
        time.sleep(8)  # the killed worker's task comes back after the visibility timeout: let it run (a no-op)
        wait_for(lambda: not fleet.running_pids(), timeout=120, what="no run in progress")

        interrupted = 0
        with Registry(fleet.database) as registry:
            for name in fleet.names:
                assert sorted(fleet.realm_names(name)) == sorted(fleet.vendors[name].values()), name  # each once
                qbo_rows = fleet.qbo.store.realms[fleet.realms[name]].table("Vendor")
                with registry.open_state(name) as state:
                    links = state.links("vendors")
                    interrupted += sum(r.status == "interrupted" and r.pid == victim.pid for r in state.runs())
                    bill_links = state.links("bills")
                assert len(links) == VENDORS
                for link in links:  # a record of this company, twinned with a record of this realm
                    assert link.procore_id in fleet.vendors[name]
                    assert qbo_rows[str(link.qbo_id)]["DisplayName"] == fleet.vendors[name][str(link.procore_id)]
                bills = fleet.realm_bills(name)
                assert sorted(b["DocNumber"] for b in bills) == sorted(fleet.bills[name].values())  # each once
                assert {b["VendorRef"]["value"] for b in bills} <= {str(link.qbo_id) for link in links}
                assert sorted(str(link.procore_id) for link in bill_links) == sorted(fleet.bills[name])
        assert interrupted == 1  # the kill landed mid-run
    finally:
        for worker in workers:
            stop(worker)
        fleet.close()
