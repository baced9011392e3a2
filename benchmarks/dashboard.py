"""How fast the dashboard's overview renders with a big state store.

Run: .venv/bin/python benchmarks/dashboard.py [--links 100000] [--runs 10000] [--requests 200]
Builds a sandbox project (both sandboxes in-process), fills its state store with LINKS
links (spread over 40 flows and the last 30 days, some locked), RUNS runs and 500 failures,
signs in to the dashboard in-process and times GET /overview (the default layout) and each
widget's body. Prints p50 and p95 in milliseconds; the target is p95 <= 200 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # before this folder, whose serve.py would shadow the serve package

from engine.project.writing import write_sandbox_project  # noqa: E402
from sandbox.server import create  # noqa: E402
from sandbox.transport import InProcessTransport  # noqa: E402
from serve.app import Service  # noqa: E402
from web.accounts import Accounts  # noqa: E402
from web.app import create_web_app  # noqa: E402
from web.widgets import TITLES  # noqa: E402

PASSWORD = "benchmark passphrase"


def fill(state: object, links: int, runs: int) -> None:
    """LINKS links, RUNS runs and 500 failures, written straight through the store's transaction."""
    from engine.state.store import SQLiteState

    assert isinstance(state, SQLiteState)
    now = datetime.now(UTC)
    with state.transaction():
        for i in range(links):
            at = (now - timedelta(minutes=(i * 7) % (30 * 24 * 60))).isoformat(timespec="milliseconds")
            state.execute(
                "INSERT INTO links (link_set, procore_id, qbo_id, origin, flow, locked, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (f"bench_{i % 40}", f"P{i}", f"Q{i}", "procore", f"bench_flow_{i % 40}", int(i % 997 == 0), at),
            )
        for i in range(runs):
            at = (now - timedelta(minutes=runs - i)).isoformat(timespec="milliseconds")
            state.execute(
                "INSERT INTO runs (command, selection, status, started_at, finished_at, counts) VALUES (?, ?, ?, ?, ?, ?)",
                ("serve", "", "ok", at, at, json.dumps({"create": 3, "skip": 40})),
            )
    for i in range(500):
        state.record_failure(f"bench_flow_{i % 40}", f"F{i}", code="C533", message="refused", hint="fix it")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200, help="GET /overview this many times")
    parser.add_argument("--dir", type=Path, help="where to put the project (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="joist-dashboard-")) / "project"
    boxes = {n: create(n) for n in ("procore", "qbo")}
    write_sandbox_project(folder, {n: b.connection_info(f"http://{n}.sandbox.localhost") for n, b in boxes.items()})
    transports = {n: InProcessTransport(b.app) for n, b in boxes.items()}
    service = Service(folder, public_url="http://testserver", transports=transports, register=False)
    started = time.perf_counter()
    fill(service.session.state, args.links, args.runs)
    print(f"filled {args.links} links, {args.runs} runs, 500 failures in {time.perf_counter() - started:.1f} s")
    Accounts(service.session.state).add_user("bench", PASSWORD, "admin")
    client = TestClient(create_web_app(service), base_url="http://testserver")
    page = client.get("/login").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"csrf": token, "name": "bench", "password": PASSWORD})
    assert client.get("/overview").status_code == 200

    def timed(path: str, times: int) -> list[float]:
        spent = []
        for _ in range(times):
            start = time.perf_counter()
            answer = client.get(path)
            spent.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, answer.text[:500]
        return spent

    rows = [("GET /overview", timed("/overview", args.requests))]
    rows += [
        (f"GET /widgets/{w}", timed(f"/widgets/{w}", max(20, args.requests // 5))) for w in TITLES if w != "reconcile"
    ]
    print(f"{'request':32} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
    for label, spent in rows:
        print(f"{label:32} {len(spent):5d} {statistics.median(spent):8.1f} {percentile(spent, 0.95):8.1f}")
    p95 = percentile(rows[0][1], 0.95)
    print(f"overview p95 {p95:.1f} ms: {'within' if p95 <= 200 else 'OVER'} the 200 ms target")
    service.session.close()


if __name__ == "__main__":
    main()
