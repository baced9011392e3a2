"""A deployment's throughput: N connections synced by 1, 2 and 4 Celery workers, and SQLite for comparison.

    .venv/bin/python benchmarks/scale.py [--connections 200] [--vendors 50] [--bills 20]
                                         [--workers 1,2,4] [--skip-sqlite]

Real parts throughout (tests/fleetkit.py, tests/parts.py): a throw-away PostgreSQL and
Redis on loopback, one Procore sandbox with N companies and one QBO sandbox with N realms
on 127.0.0.1, `joist worker` processes (one task at a time each). Each company has
`--vendors` vendors and `--bills` invoices (QBO bills, depending on the vendors). Per
worker count, a fresh deployment; then:

1. initial sync: one poll task per connection, until every connection's run finished;
2. no-op re-sync: the same again, nothing to write.

Reported per phase: records/s (connections x (vendors + bills) / wall time), fairness (the slowest
connection's finish time over the median's, from the enqueue), PostgreSQL transactions
per record (`pg_stat_database.xact_commit`, every statement outside a transaction counts
one), Redis commands per record (`INFO stats` total_commands_processed: idle workers'
polls included), each worker's RSS at the end, and the database's size per record. Then the same workload in one process
on the SQLite default (one state file per connection, run one after another).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return 0.0


def _pg_commits(database: str) -> int:
    import psycopg

    with psycopg.connect(database) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(row.fetchone()[0])  # type: ignore[index]


def _database_bytes(database: str) -> int:
    import psycopg

    with psycopg.connect(database) as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]


def _redis_commands(url: str) -> int:
    import redis

    return int(redis.Redis.from_url(url).info("stats")["total_commands_processed"])


def _finished(fleet: Any, runs_each: int) -> dict[str, str]:
    """Connection -> when its `runs_each`-th finished run ended, for those that got there."""
    import psycopg

    done: dict[str, str] = {}
    with psycopg.connect(fleet.database) as conn:
        for name in fleet.names:
            rows = conn.execute(
                f"SELECT finished_at FROM c_{name}.runs WHERE finished_at IS NOT NULL ORDER BY id"
            ).fetchall()
            if len(rows) >= runs_each:
                done[name] = rows[runs_each - 1][0]
    return done


def _phase(fleet: Any, app: Any, runs_each: int, records: int) -> dict[str, float]:
    from serve.fleet import enqueue

    commits, commands = _pg_commits(fleet.database), _redis_commands(fleet.broker)
    started_wall, started = datetime.now().astimezone(), time.monotonic()
    enqueue(app, fleet.names)
    while True:
        done = _finished(fleet, runs_each)
        if len(done) == len(fleet.names):
            break
        time.sleep(0.2)
    wall = time.monotonic() - started
    ends = sorted((datetime.fromisoformat(t) - started_wall).total_seconds() for t in done.values())
    median = statistics.median(ends)
    return {
        "seconds": wall,
        "records_per_s": records / wall,
        "fairness": ends[-1] / median if median > 0 else 1.0,
        "pg_per_record": (_pg_commits(fleet.database) - commits) / records,
        "redis_per_record": (_redis_commands(fleet.broker) - commands) / records,
    }


def run_workers(
    pg: Any, redis_server: Any, folder: Path, workers: int, connections: int, vendors: int, bills: int
) -> None:
    from fleetkit import Deployment, stop

    from serve.fleet import make_celery

    fleet = Deployment.build(folder, pg, redis_server, connections, vendors, bills=bills, redis_db=workers)
    procs = [fleet.worker(folder / f"worker{n}.log", visibility_timeout=3600) for n in range(workers)]
    try:
        app = make_celery(fleet.broker, fleet.database, fleet.project)
        records = connections * (vendors + bills)
        for label, runs_each in (("initial", 1), ("no-op", 2)):
            m = _phase(fleet, app, runs_each, records)
            print(
                f"{workers} worker(s) {label:7}  {m['seconds']:7.1f} s  {m['records_per_s']:7.1f} records/s  "
                f"fairness {m['fairness']:.2f}  pg {m['pg_per_record']:.1f}/record  "
                f"redis {m['redis_per_record']:.1f}/record",
                flush=True,
            )
        rss = ", ".join(f"{_rss_mb(p.pid):.0f}" for p in procs)
        print(f"{workers} worker(s) RSS MB: {rss}", flush=True)
        size = _database_bytes(fleet.database)
        print(f"{workers} worker(s) database {size / 2**20:.1f} MB: {size / records:.0f} bytes/record", flush=True)
    finally:
        for proc in procs:
            stop(proc)
        fleet.close()


def run_sqlite(pg: Any, redis_server: Any, folder: Path, connections: int, vendors: int, bills: int) -> None:
    """The same workload in this process, each connection on its own SQLite file, one after another."""
    from dataclasses import replace

    from fleetkit import Deployment

    from engine.language.loading import load_rules
    from engine.project.config import load_project
    from engine.project.deployment import connection_project
    from engine.project.session import Session
    from engine.state.registry import Registry
    from engine.state.secrets import EncryptedTokenStore, TokenCipher
    from engine.state.store import SQLiteState

    fleet = Deployment.build(folder, pg, redis_server, connections, vendors, bills=bills, redis_db=15)
    cipher = TokenCipher.from_env(fleet.env)
    base = load_project(fleet.project)
    import os

    saved = {k: os.environ.get(k) for k in fleet.env if k.startswith("JOIST_")}
    os.environ.update({k: v for k, v in fleet.env.items() if k.startswith("JOIST_")})
    try:
        records = connections * (vendors + bills)
        for label in ("initial", "no-op"):
            started = time.monotonic()
            with Registry(fleet.database) as registry:
                for name in fleet.names:
                    entry = registry.get(name)
                    state = SQLiteState(folder / "sqlite" / f"{name}.db")
                    tokens = EncryptedTokenStore(state, cipher)
                    if tokens.load(f"qbo:{entry.qbo_realm}") is None:  # first run: copy the tokens over
                        with registry.open_state(name) as pg_state:
                            source = EncryptedTokenStore(pg_state, cipher)
                            for key in (f"procore:{entry.procore_company}", f"qbo:{entry.qbo_realm}"):
                                tokens.save(key, source.load(key) or {})
                    project = replace(connection_project(base, entry, "", tokens), state_url=None)
                    with Session(project, load_rules(project.layers()), state) as session:
                        session.run(None)
            wall = time.monotonic() - started
            print(f"sqlite 1 process {label:7}  {wall:7.1f} s  {records / wall:7.1f} records/s", flush=True)
        print(f"sqlite 1 process RSS MB: {_rss_mb(os.getpid()):.0f}", flush=True)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        fleet.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--vendors", type=int, default=50, help="Procore vendors per connection")
    parser.add_argument("--bills", type=int, default=20, help="Procore invoices (QBO bills) per connection")
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, comma-separated")
    parser.add_argument("--skip-sqlite", action="store_true", help="leave out the SQLite single-process run")
    args = parser.parse_args()

    from parts import PostgresServer, RedisServer, missing

    absent = missing()
    if absent:
        print(f"needs PostgreSQL 15 and redis-server; missing: {', '.join(absent)}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="joist-scale-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # the postgres user reaches its cluster folder inside
        pg = PostgresServer.start(folder / "pg")
        redis_server = RedisServer.start(folder / "redis")
        try:
            sizes = (args.connections, args.vendors, args.bills)
            print(f"{args.connections} connections x ({args.vendors} vendors + {args.bills} bills)", flush=True)
            for workers in (int(w) for w in args.workers.split(",")):
                run_workers(pg, redis_server, folder / f"w{workers}", workers, *sizes)
            if not args.skip_sqlite:
                run_sqlite(pg, redis_server, folder / "sqlite", *sizes)
        finally:
            redis_server.stop()
            pg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
