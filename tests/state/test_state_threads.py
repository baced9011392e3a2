"""One store shared by several threads: no lost writes, transactions do not interleave."""

from __future__ import annotations

import threading
from collections.abc import Callable

from engine.state.backends import open_state
from engine.state.store import Link, LinkConflict, State, intent_key

THREADS = 8
PER_THREAD = 60


def _run_all(target: Callable[[int], None], count: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(n: int) -> None:
        try:
            target(n)
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    workers = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def test_threads_writing_links_intents_and_failures(store: State) -> None:
    def work(n: int) -> None:
        resolve = store.resolver("vendors", "qbo")
        for i in range(PER_THREAD):
            source = f"{n}-{i}"
            key = intent_key("vendors", source)
            store.begin_intent(
                "vendors", source, key, action="create", target_system="qbo", target_entity="Vendor", payload_hash=None
            )
            with store.transaction():
                store.put_link(Link("vendors", source, f"Q{source}"))
                store.complete_intent(key, target_id=f"Q{source}")
            assert resolve(source) == f"Q{source}"
            store.record_failure("other", str(n), code="C506", message="x")

    assert _run_all(work) == []
    assert store.link_counts() == {"vendors": THREADS * PER_THREAD}
    assert store.pending_intents() == []
    assert sorted(f.attempts for f in store.failures("other")) == [PER_THREAD] * THREADS


def test_a_transaction_is_not_seen_half_done_by_other_threads(store: State) -> None:
    store.set_cursor("qbo", "a", "0")
    store.set_cursor("qbo", "b", "0")
    stop = threading.Event()
    torn: list[tuple[str | None, str | None]] = []

    def writer(n: int) -> None:
        for i in range(1, 200):
            with store.transaction():
                store.set_cursor("qbo", "a", str(i))
                store.set_cursor("qbo", "b", str(i))
        stop.set()

    def reader(n: int) -> None:
        while not stop.is_set():
            with store.transaction():
                a, b = store.cursor("qbo", "a"), store.cursor("qbo", "b")
            if a != b:
                torn.append((a, b))

    assert _run_all(lambda n: writer(n) if n == 0 else reader(n), count=3) == []
    assert torn == []


def test_racing_to_link_the_same_record_gives_one_link(store: State) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(n: int) -> None:
        try:
            store.put_link(Link("vendors", "57", f"Q{n}"))
            result = f"won Q{n}"
        except LinkConflict:
            result = "conflict"
        with lock:
            outcomes.append(result)

    assert _run_all(claim) == []
    assert outcomes.count("conflict") == THREADS - 1
    [winner] = [o for o in outcomes if o.startswith("won")]
    assert store.find_link("vendors", procore_id="57").qbo_id == winner.split()[1]  # type: ignore[union-attr]


def test_two_stores_on_one_file(state_spec: str) -> None:
    first = open_state(state_spec)
    second = open_state(state_spec)
    try:

        def work(n: int) -> None:
            store = first if n % 2 else second
            for i in range(40):
                store.put_link(Link("vendors", f"{n}-{i}", f"Q{n}-{i}"))

        assert _run_all(work, count=4) == []
        assert first.link_counts() == second.link_counts() == {"vendors": 160}
    finally:
        first.close()
        second.close()
