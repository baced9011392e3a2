"""Create customers through batches against the QBO sandbox at its rate limit.

Prints the requests made, the elapsed time, the throughput, and its ratio to the rate-limit
bound (30 items a batch x 500 requests a minute = 15,000 items a minute), plus how many 429s
the sandbox answered and how many reached the caller (target: none).

    .venv/bin/python benchmarks/qbo_write.py                 # 3,000 customers, in-process
    .venv/bin/python benchmarks/qbo_write.py --loopback      # over 127.0.0.1 with uvicorn
    .venv/bin/python benchmarks/qbo_write.py --customers 9000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.base import Credentials  # noqa: E402
from connectors.qbo.client import BatchOp, QBOConnector  # noqa: E402
from connectors.qbo.errors import QBOThrottled  # noqa: E402
from connectors.tokens import MemoryTokenStore  # noqa: E402
from sandbox.qbo.app import US_REALM, create_sandbox  # noqa: E402
from sandbox.server import ServerThread  # noqa: E402
from sandbox.transport import InProcessTransport  # noqa: E402

BOUND_PER_MINUTE = 30 * 500


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--loopback", action="store_true", help="serve the sandbox on 127.0.0.1 instead of in-process")
    args = parser.parse_args()
    box = create_sandbox()
    server = ServerThread(box.app).start() if args.loopback else None
    base = server.base_url if server else "http://qbo.local"
    transport = None if server else InProcessTransport(box.app)
    credentials = Credentials(box.client_id, box.client_secret, refresh_token=box.refresh_token())
    qbo = QBOConnector(base, US_REALM, credentials, MemoryTokenStore(), transport=transport)
    qbo.get("Term", "1")  # token refresh and a first call outside the measurement
    box.control.log.clear()
    before = qbo.requests_sent
    ops = [BatchOp("create", "Customer", {"DisplayName": f"Benchmark Customer {n:05d}"}) for n in range(args.customers)]
    caller_429 = 0
    start = time.monotonic()
    try:
        results = qbo.batch(ops)
    except QBOThrottled:
        caller_429 += 1
        results = []
    elapsed = time.monotonic() - start
    failed = [r for r in results if not r.ok]
    caller_429 += sum(isinstance(r.error, QBOThrottled) for r in failed)
    requests = qbo.requests_sent - before
    server_429 = sum(1 for e in box.control.log.entries if e.status == 429)
    per_minute = len(results) / elapsed * 60 if elapsed else float("inf")
    print(f"customers created       {len(results) - len(failed)} of {args.customers}")
    print(f"requests made           {requests} (batches of up to 30)")
    print(f"elapsed                 {elapsed:.2f} s")
    print(f"throughput              {per_minute:,.0f} items/min ({requests / elapsed * 60:,.0f} requests/min)")
    print(
        f"ratio to bound          {per_minute / BOUND_PER_MINUTE:.1%} of 30 x 500/min = {BOUND_PER_MINUTE:,} items/min"
    )
    print(f"429s from the sandbox   {server_429}")
    print(f"429s reaching caller    {caller_429}")
    if server:
        server.stop()
    if transport:
        transport.close()


if __name__ == "__main__":
    main()
