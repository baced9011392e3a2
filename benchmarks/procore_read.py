"""Full read of 20,000 vendors and 5,000 direct costs from the Procore sandbox, spike limit on.

Serves the sandbox on 127.0.0.1 (real HTTP, real time), fills it, and reads both entities
whole with `ProcoreConnector`. Prints elapsed time, requests, and the ratio of the
rate-limit bound to the elapsed time. The bound is the least time any client needs for
the same requests under fixed spike windows of `--spike-limit` requests per
`--spike-window` seconds: the read starts at the top of a window, and its last request
cannot come before the start of window ceil(requests / limit) - 1. A ratio of 1.0 means
the connector lost no time to the limit beyond what the limit forces.

    .venv/bin/python benchmarks/procore_read.py [--vendors 20000] [--direct-costs 5000]
        [--per-page 500] [--spike-limit 25] [--spike-window 10]
"""

from __future__ import annotations

import argparse
import math
import time
from decimal import Decimal

from connectors.base import Credentials
from connectors.procore import ProcoreConnector
from connectors.tokens import MemoryTokenStore
from sandbox.procore.app import ProcoreSandbox, create_sandbox
from sandbox.procore.resources import RESOURCES
from sandbox.server import ServerThread


def fill(box: ProcoreSandbox, vendors: int, direct_costs: int) -> None:
    """Add vendors to the company and direct costs (one line each) to its first project."""
    store = box.store
    project = min(p["id"] for p in store.rows("projects", active=True))
    for n in range(vendors):
        store.insert(
            RESOURCES["vendors"],
            {
                "name": f"Bench Vendor {n:05d}",
                "email_address": f"v{n}@bench.example",
                "city": "Oakland",
                "state_code": "CA",
            },
            company_id=box.company_id,
        )
    for n in range(direct_costs):
        cost = store.insert(
            RESOURCES["direct_costs"],
            {"direct_cost_type": "expense", "direct_cost_date": "2024-06-01", "description": f"Bench cost {n}"},
            company_id=box.company_id,
            project_id=project,
        )
        store.insert(
            RESOURCES["line_items"],
            {
                "holder_type": "DirectCost",
                "holder_id": cost["id"],
                "position": 1,
                "description": "Materials",
                "amount": Decimal("125.50"),
                "quantity": Decimal("1"),
                "unit_cost": Decimal("125.50"),
            },
            company_id=box.company_id,
            project_id=project,
        )


def bound(requests: int, limit: int, window: float) -> float:
    """Least seconds, from the top of a window, before the last of `requests` may be sent."""
    return max(0, math.ceil(requests / limit) - 1) * window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=20000)
    parser.add_argument("--direct-costs", type=int, default=5000)
    parser.add_argument("--per-page", type=int, default=500)
    parser.add_argument("--spike-limit", type=int, default=25)
    parser.add_argument("--spike-window", type=float, default=10.0)
    args = parser.parse_args()

    box = create_sandbox(
        deliver_webhooks=False, spike_limit=args.spike_limit, spike_window=args.spike_window, hourly_limit=100000
    )
    started = time.perf_counter()
    fill(box, args.vendors, args.direct_costs)
    print(
        f"filled sandbox: {args.vendors} vendors, {args.direct_costs} direct costs "
        f"in {time.perf_counter() - started:.1f}s"
    )
    with ServerThread(box.app) as server:
        info = box.connection_info(server.base_url)
        connector = ProcoreConnector(
            server.base_url,
            info["company_id"],
            Credentials(info["client_id"], info["client_secret"], refresh_token=info["refresh_token"]),
            MemoryTokenStore(),
            per_page=args.per_page,
        )
        connector.auth.token()
        top = math.ceil(time.time() / args.spike_window) * args.spike_window
        time.sleep(max(0.0, top - time.time()) + 0.01)  # start at the top of a spike window
        t0 = time.perf_counter()
        counts = {}
        for entity in ("vendors", "direct_costs"):
            counts[entity] = sum(len(page.records) for page in connector.read(entity))
        elapsed = time.perf_counter() - t0
    requests = connector.requests
    refused = sum(1 for e in box.control.log.entries if e.status == 429)
    least = bound(requests, args.spike_limit, args.spike_window)
    allowed_rate = args.spike_limit / args.spike_window
    print(f"{'entity':14} {'records':>8}")
    for entity, count in counts.items():
        print(f"{entity:14} {count:>8}")
    print(f"requests        {requests} (per_page {args.per_page}); 429s received: {refused}")
    print(f"spike limit     {args.spike_limit} per {args.spike_window:g}s = {allowed_rate:.2f} req/s")
    print(
        f"elapsed         {elapsed:.2f}s  ({requests / elapsed:.2f} req/s, "
        f"{sum(counts.values()) / elapsed:.0f} records/s)"
    )
    print(
        f"rate-limit bound {least:.2f}s  -> ratio bound/elapsed = {least / elapsed:.3f}"
        f"  ({'meets' if least / elapsed >= 0.9 else 'below'} the 90% target)"
    )


if __name__ == "__main__":
    main()
