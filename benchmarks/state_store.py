"""How fast the SQLite state store is for what the sync engine does most.

Run: .venv/bin/python benchmarks/state_store.py [--dir DIR]
Prints one row per operation: count, total seconds, operations per second, microseconds
each. Every commit is fsynced (WAL, synchronous=FULL), so the figures depend on the disk
under DIR (default: a temporary folder).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from engine.state.store import Link, SQLiteState, intent_key


def _timed(label: str, count: int, work: Callable[[], None]) -> tuple[str, int, float]:
    start = time.perf_counter()
    work()
    return label, count, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, help="where to put the state file")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="joist-bench-"))
    store = SQLiteState(folder / "bench.db")
    rows: list[tuple[str, int, float]] = []

    def links_one_commit_each() -> None:
        for i in range(500):
            store.put_link(Link("single", str(i), f"Q{i}", procore_hash="h" * 64))

    def links_in_one_transaction() -> None:
        with store.transaction():
            for i in range(20000):
                store.put_link(Link("batched", str(i), f"Q{i}", procore_hash="h" * 64))

    def resolve() -> None:
        to_qbo = store.resolver("batched", "qbo")
        for i in range(50000):
            to_qbo(str(i % 20000))

    def find() -> None:
        for i in range(20000):
            store.find_link("batched", qbo_id=f"Q{i}")

    def create_cycle() -> None:
        for i in range(300):
            key = intent_key("bills", str(i), "h")
            store.begin_intent(
                "bills", str(i), key, action="create", target_system="qbo", target_entity="Bill", payload_hash="h"
            )
            with store.transaction():
                store.put_link(Link("bills", str(i), f"Q{i}"))
                store.complete_intent(key, target_id=f"Q{i}")

    def keys() -> None:
        for i in range(50000):
            intent_key("bills", str(i), "0123456789abcdef")

    rows.append(_timed("put_link, one commit each", 500, links_one_commit_each))
    rows.append(_timed("put_link, 20k in one transaction", 20000, links_in_one_transaction))
    rows.append(_timed("resolver lookup (20k links)", 50000, resolve))
    rows.append(_timed("find_link by qbo id", 20000, find))
    rows.append(_timed("create cycle: intent + link + complete", 300, create_cycle))
    rows.append(_timed("intent_key", 50000, keys))
    store.close()
    print(f"state file: {folder / 'bench.db'}")
    print(f"{'operation':42} {'count':>7} {'seconds':>8} {'ops/s':>10} {'us/op':>9}")
    for label, count, seconds in rows:
        print(f"{label:42} {count:7d} {seconds:8.3f} {count / seconds:10.0f} {seconds / count * 1e6:9.1f}")
    single = rows[0][2] / rows[0][1]
    batched = rows[1][2] / rows[1][1]
    print(f"batching links in one transaction is {single / batched:.0f}x faster per link")


if __name__ == "__main__":
    main()
