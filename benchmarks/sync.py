"""Initial sync of 10,000 vendors and 5,000 bills into the QBO sandbox at its real rate limit.

    .venv/bin/python benchmarks/sync.py [--vendors 10000] [--bills 5000] [--in-process]

The QBO sandbox admits 500 requests a minute per realm (and the connector's token bucket
490), and a `/batch` carries at most 30 creates, so no client can create more than
30 × 500 = 15,000 records a minute: that is the bound the figure is compared with. The
Procore side is seeded straight into its store, so seeding costs no request. The sandboxes
are served by uvicorn on 127.0.0.1 (or mounted in-process with `--in-process`); time is
real: the connectors really wait for their token buckets.

Prints the elapsed time, the requests each side answered, the items a minute and their
ratio to the bound, then the same for a no-op re-sync (target: 0 writes).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sync"))

from synckit import (
    VENDORS_TO_QBO,
    costs_to_bills,
    expense_account,
    seed_direct_costs,  # noqa: E402
    seed_procore_vendors,
    seed_project,
    write_rules,
)

from engine.language.loading import load_rules  # noqa: E402
from engine.project.config import load_project  # noqa: E402
from engine.project.connections import open_connectors  # noqa: E402
from engine.project.writing import write_sandbox_project
from engine.sync.run import Sync  # noqa: E402
from sandbox.server import ServerThread, create  # noqa: E402
from sandbox.transport import InProcessTransport  # noqa: E402

BATCH = 30
QBO_PER_MINUTE = 500


def _counts(box: Any) -> tuple[int, int]:
    entries = [e for e in box.control.log.entries if "/oauth" not in e.path]
    return len(entries), len(box.control.log.writes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=10_000)
    parser.add_argument("--bills", type=int, default=5_000)
    parser.add_argument("--in-process", action="store_true", help="mount the sandboxes in-process (no sockets)")
    parser.add_argument("--profile", action="store_true", help="print the engine's top functions by own time")
    args = parser.parse_args(argv)

    boxes = {"procore": create("procore", seed=False, deliver_webhooks=False), "qbo": create("qbo")}
    t0 = time.perf_counter()
    vendors = seed_procore_vendors(boxes["procore"], args.vendors)
    seed_direct_costs(boxes["procore"], seed_project(boxes["procore"]), vendors, args.bills)
    print(
        f"seeded {args.vendors} vendors and {args.bills} direct costs in Procore's store "
        f"in {time.perf_counter() - t0:.1f}s"
    )

    servers: list[ServerThread] = []
    if args.in_process:
        bases = {"procore": "http://procore.local", "qbo": "http://qbo.local"}
        transports: dict[str, Any] | None = {n: InProcessTransport(b.app) for n, b in boxes.items()}
    else:
        servers = [ServerThread(boxes["procore"].app).start(), ServerThread(boxes["qbo"].app).start()]
        bases = {"procore": servers[0].base_url, "qbo": servers[1].base_url}
        transports = None
    root = Path(tempfile.mkdtemp(prefix="joist-bench-sync-"))
    write_sandbox_project(root / "project", {n: b.connection_info(bases[n]) for n, b in boxes.items()})
    project = load_project(root / "project")
    rules = load_rules(
        [("bench", [write_rules(root / "rules", VENDORS_TO_QBO, costs_to_bills(expense_account(boxes["qbo"])))])]
    )
    connectors = open_connectors(project, {"procore", "qbo"}, transports=transports)
    state = project.open_state()
    items = args.vendors + args.bills
    bound = BATCH * QBO_PER_MINUTE
    try:
        for label, full in (("initial sync", False), ("no-op re-sync", False), ("full re-sync", True)):
            for box in boxes.values():
                box.control.log.clear()
            profiler = cProfile.Profile() if args.profile and label == "initial sync" else None
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            report = Sync(rules, connectors, state, params=project.params, batch_size=BATCH).run(full=full)
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - start
            totals = report.totals()
            q_requests, q_writes = _counts(boxes["qbo"])
            p_requests, p_writes = _counts(boxes["procore"])
            reads = sum(f.reads for f in report.flows)
            print(
                f"\n{label}: {elapsed:.1f}s, ok={report.ok}, "
                + ", ".join(f"{a} {n}" for a, n in sorted(totals.items()) if n)
            )
            print(
                f"  QBO requests {q_requests} (writes {q_writes}), Procore requests {p_requests} "
                f"(writes {p_writes}), source records read {reads}"
            )
            if label == "initial sync":
                rate = totals["create"] / (elapsed / 60)
                print(
                    f"  {rate:,.0f} items/min against the bound of {bound:,} (30 x {QBO_PER_MINUTE}/min): "
                    f"{rate / bound:.1%} (target >= 90%)"
                )
                floor = q_writes / QBO_PER_MINUTE * 60
                print(f"  the QBO rate limit alone needs {floor:.1f}s for {q_writes} write requests ({items} items)")
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("tottime").print_stats(15)
    finally:
        state.close()
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
