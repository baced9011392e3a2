"""Child process for the SIGKILL test: writes intents, links, cursors and tokens in a loop.

Run as `python crash_writer.py STATE` (a SQLite file or a postgresql:// URL). It first heals what an earlier, killed writer
left pending (as the sync engine does after a crash), then prints `ready` and loops,
printing a line after each step is committed: `begun N`, `done N`, `token N`.
"""

from __future__ import annotations

import sys

from engine.state.backends import open_state
from engine.state.store import Link, intent_key


def main(path: str) -> None:
    store = open_state(path, busy_timeout=30)
    for pending in store.pending_intents():
        with store.transaction():
            store.put_link(Link("bills", pending.source_id, f"Q{pending.source_id}", origin="procore"))
            store.set_cursor("procore", "bills", pending.source_id)
            store.complete_intent(pending.key, target_id=f"Q{pending.source_id}")
    known = [int(link.procore_id) for link in store.links("bills") if link.procore_id]
    number = max(known, default=0)
    print("ready", flush=True)
    while True:
        number += 1
        source = str(number)
        key = intent_key("bills", source, "v1")
        store.begin_intent(
            "bills", source, key, action="create", target_system="qbo", target_entity="Bill", payload_hash=f"h{number}"
        )
        print(f"begun {number}", flush=True)
        with store.transaction():
            store.put_link(
                Link("bills", source, f"Q{source}", procore_hash=f"h{number}", origin="procore", flow="bills")
            )
            for extra in range(3):
                store.record_failure("bills", f"{source}-{extra}", code="C506", message="x" * 200)
            for extra in range(3):
                store.clear_failure("bills", f"{source}-{extra}")
            store.set_cursor("procore", "bills", source)
            store.complete_intent(key, target_id=f"Q{source}")
        print(f"done {number}", flush=True)
        if number % 5 == 0:
            store.save_tokens("qbo", {"refresh_token": f"r{number}"})
            print(f"token {number}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
