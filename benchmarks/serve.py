"""`joist serve`: how soon a change reaches the other side, and whether a steady stream holds.

    .venv/bin/python benchmarks/serve.py [--changes 1000] [--rate 10]
                                         [--sustained-rate 50] [--sustained-seconds 120]

Both sandboxes are served by uvicorn on 127.0.0.1 with webhooks on; `joist serve` runs in a
subprocess on the project (the master pack), after one ordinary first sync. A person's app
creates Procore vendors at a fixed rate; a watcher reads QBO's vendors every 0.2 s.

1. Latency: `--changes` vendors at `--rate` a second; for each, the time from its create
   in Procore to the moment the watcher first sees it in QBO (resolution 0.2 s): p50, p95,
   max, against the target p95 <= 5 s (stretch 2 s).
2. Sustained: `--sustained-rate` vendors a second for `--sustained-seconds`; then lost (in
   Procore, never in QBO), duplicated (a name twice in QBO), the inbox depth and the
   service's RSS sampled every 10 s (flat RSS: no growth with the events handled).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from sandbox_pair import sandbox_pair  # noqa: E402
from servekit import Served, inbox_rows, person  # noqa: E402


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Watcher(threading.Thread):
    """Reads the QBO sandbox's vendors every 0.2 s and notes when each name was first seen.

    It reads the sandbox's store in this process, not the API: watching must not spend the
    realm's 500 requests a minute that the service itself is paced by."""

    def __init__(self, box: Any, realm_id: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.box, self.realm_id, self.prefix = box, realm_id, prefix
        self.seen: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            now = time.monotonic()
            counts: dict[str, int] = {}
            with self.box.store.lock:
                vendors = list(self.box.store.realms[self.realm_id].data.get("Vendor", {}).values())
            for v in vendors:
                name = v["DisplayName"]
                if name.startswith(self.prefix):
                    counts[name] = counts.get(name, 0) + 1
                    self.seen.setdefault(name, now)
            self.counts = counts
            self.stop.wait(0.2)


def _stream(desk: Any, prefix: str, count: int, rate: float, made: dict[str, float]) -> None:
    """Vendors made through the Procore API by a person's app, at `rate` a second."""
    start = time.monotonic()
    for n in range(count):
        due = start + n / rate
        time.sleep(max(0.0, due - time.monotonic()))
        name = f"{prefix} {n:05d}"
        desk.create("vendors", {"name": name}, idempotency_key=f"{prefix}-{n}")
        made[name] = time.monotonic()


def _stream_in_store(box: Any, prefix: str, count: int, rate: float, made: dict[str, float]) -> None:
    """Vendors made in the Procore sandbox's store, as its own UI would: each change fires the
    same webhook event as an API write, without spending an app's request budget (a person's
    app cannot make 50 writes a second for two minutes under Procore's limits)."""
    from sandbox.procore.resources import RESOURCES

    start = time.monotonic()
    for n in range(count):
        due = start + n / rate
        time.sleep(max(0.0, due - time.monotonic()))
        name = f"{prefix} {n:05d}"
        box.store.insert(RESOURCES["vendors"], {"name": name}, company_id=box.company_id)
        made[name] = time.monotonic()


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--sustained-rate", type=float, default=50.0)
    parser.add_argument("--sustained-seconds", type=float, default=120.0)
    parser.add_argument("--procore-hourly", type=int, default=3_600_000, help="the Procore sandbox's hourly budget")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_pair(Path(tmp) / "p", loopback=True, packs=["joist:master"]) as pair,
    ):
        assert pair.session.run(None).ok
        service = Served(pair.project_dir, poll_every=300, window=1.0).start()  # the default window
        desk = person(pair.boxes["procore"], pair.servers["procore"].base_url)
        realm = pair.session.project.connections["qbo"].account_id
        try:
            watcher = Watcher(pair.boxes["qbo"], realm, "Bench")
            watcher.start()
            made: dict[str, float] = {}
            _stream(desk, "Bench Latency", args.changes, args.rate, made)
            deadline = time.monotonic() + 60
            while len([n for n in made if n in watcher.seen]) < len(made) and time.monotonic() < deadline:
                time.sleep(0.2)
            latencies = [watcher.seen[n] - t for n, t in made.items() if n in watcher.seen]
            print(
                f"latency: {args.changes} changes at {args.rate:g}/s, webhooks on (Procore budget {args.procore_hourly}/h)"
            )
            print(f"  arrived {len(latencies)}/{len(made)}")
            if latencies:
                print(
                    f"  p50 {statistics.median(latencies):.2f} s   p95 {_pct(latencies, 95):.2f} s   "
                    f"max {max(latencies):.2f} s   (target p95 <= 5 s, stretch <= 2 s)"
                )
            sustained: dict[str, float] = {}
            count = int(args.sustained_rate * args.sustained_seconds)
            writer = threading.Thread(
                target=_stream_in_store,
                args=(pair.boxes["procore"], "Bench Sustained", count, args.sustained_rate, sustained),
                daemon=True,
            )
            assert service.proc is not None
            samples: list[tuple[float, int, float]] = []
            start = time.monotonic()
            writer.start()
            while writer.is_alive() or inbox_rows(pair.project_dir, "state = 'pending'") > 0:
                if time.monotonic() - start > args.sustained_seconds + 300:
                    break
                samples.append(
                    (
                        time.monotonic() - start,
                        inbox_rows(pair.project_dir, "state = 'pending'"),
                        _rss_mb(service.proc.pid),
                    )
                )
                time.sleep(10)
            time.sleep(2)
            names = set(sustained)
            arrived = {n for n in watcher.counts if n in names}
            twice = [n for n, c in watcher.counts.items() if c > 1]
            print(f"sustained: {len(sustained)} changes at {args.sustained_rate:g}/s for {args.sustained_seconds:g} s")
            print(
                f"  lost {len(names - arrived)}   duplicated {len(twice)}   drained after {time.monotonic() - start:.0f} s"
            )
            print("  t(s)   inbox   serve RSS (MB)")
            for t, depth, rss in samples:
                print(f"  {t:5.0f}  {depth:6d}   {rss:8.1f}")
            watcher.stop.set()
        finally:
            print(f"serve exit code {service.stop()}")


if __name__ == "__main__":
    main()
