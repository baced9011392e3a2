"""Cursors, runs, failures with backoff, intents, tokens and transactions."""

from __future__ import annotations

import os
import stat
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from engine.state.backends import open_state
from engine.state.store import (
    Link,
    LinkConflict,
    SQLiteState,
    State,
    StateTokenStore,
    UnknownIntent,
    canonical_json,
    content_hash,
    intent_key,
)

if TYPE_CHECKING:
    from conftest import StepClock


def test_cursors(store: State) -> None:
    assert store.cursor("qbo", "Bill") is None
    store.set_cursor("qbo", "Bill", "2026-03-01T00:00:00Z")
    store.set_cursor("qbo", "Bill", "2026-03-02T00:00:00Z")
    store.set_cursor("procore", "Bill", "x")
    assert store.cursor("qbo", "Bill") == "2026-03-02T00:00:00Z"
    assert store.cursor("procore", "Bill") == "x"
    store.set_cursor("qbo", "Bill", None)
    assert store.cursor("qbo", "Bill") is None


def test_runs_newest_first(store: State, clock: StepClock) -> None:
    first = store.start_run("sync", "+bills")
    clock.advance(60)
    store.finish_run(first, "ok", {"create": 3, "skip": 10})
    second = store.start_run("plan", "")
    runs = store.runs()
    assert [r.id for r in runs] == [second, first]
    assert runs[0].status == "running" and runs[0].finished_at is None and runs[0].counts == {}
    done = runs[1]
    assert (done.command, done.selection, done.status) == ("sync", "+bills", "ok")
    assert done.counts == {"create": 3, "skip": 10}
    assert done.started_at == "2026-03-01T12:00:00.000+00:00"
    assert done.finished_at == "2026-03-01T12:01:00.000+00:00"
    assert len(store.runs(limit=1)) == 1
    with pytest.raises(ValueError):
        store.finish_run(999, "ok", {})


def test_failure_attempts_and_backoff(store: State, clock: StepClock) -> None:
    first = store.record_failure("bills", "17", code="C506", message="vendor inactive", hint="reactivate it", run_id=4)
    assert (first.attempts, first.next_attempt) == (1, "2026-03-01T12:01:00.000+00:00")
    assert (first.hint, first.run_id) == ("reactivate it", 4)
    clock.advance(60)
    second = store.record_failure("bills", "17", code="C506", message="still inactive")
    assert second.attempts == 2
    assert second.next_attempt == "2026-03-01T12:03:00.000+00:00"  # 120 s after the second failure
    assert second.first_failed_at == "2026-03-01T12:00:00.000+00:00"
    assert second.last_failed_at == "2026-03-01T12:01:00.000+00:00"
    assert store.failures("bills") == [second]
    for _ in range(20):
        capped = store.record_failure("bills", "17", code="C506", message="x")
    assert capped.attempts == 22
    assert capped.next_attempt == "2026-03-01T18:01:00.000+00:00"  # capped at 6 h


def test_failures_due_and_by_flow(store: State, clock: StepClock) -> None:
    store.record_failure("bills", "1", code="C506", message="a")
    store.record_failure("vendors", "2", code="M401", message="b")
    assert store.failures(due=True) == []
    assert {f.flow for f in store.failures()} == {"bills", "vendors"}
    assert [f.source_id for f in store.failures("vendors")] == ["2"]
    clock.advance(60)
    assert [f.source_id for f in store.failures(due=True)] == ["1", "2"]
    assert store.clear_failure("bills", "1") is True
    assert store.clear_failure("bills", "1") is False
    assert [f.flow for f in store.failures()] == ["vendors"]
    # A cleared failure starts counting from one again.
    assert store.record_failure("bills", "1", code="C506", message="a").attempts == 1


def test_intent_lifecycle(store: State) -> None:
    key = intent_key("bills", "17", "hash-1")
    intent = store.begin_intent(
        "bills", "17", key, action="create", target_system="qbo", target_entity="Bill", payload_hash="hash-1"
    )
    assert (intent.state, intent.attempts, intent.target_id) == ("pending", 1, None)
    assert store.pending_intents() == [intent]
    replay = store.begin_intent(
        "bills", "17", key, action="create", target_system="qbo", target_entity="Bill", payload_hash="hash-1"
    )
    assert (replay.state, replay.attempts) == ("pending", 2)
    with store.transaction():
        store.put_link(Link("bills", "17", "900"))
        store.complete_intent(key, target_id="900")
    done = store.intent(key)
    assert done is not None and (done.state, done.target_id) == ("done", "900")
    assert store.pending_intents() == []
    # A done intent comes back as it is: the caller sees the write landed.
    again = store.begin_intent(
        "bills", "17", key, action="create", target_system="qbo", target_entity="Bill", payload_hash="hash-1"
    )
    assert (again.state, again.target_id, again.attempts) == ("done", "900", 2)
    store.abandon_intent(key)
    assert store.intent(key).state == "done"  # type: ignore[union-attr]


def test_abandoned_intent_reopens(store: State) -> None:
    key = intent_key("vendors", "5")
    store.begin_intent(
        "vendors", "5", key, action="create", target_system="procore", target_entity="vendors", payload_hash=None
    )
    store.abandon_intent(key)
    assert store.intent(key).state == "abandoned"  # type: ignore[union-attr]
    assert store.pending_intents() == []
    reopened = store.begin_intent(
        "vendors", "5", key, action="create", target_system="procore", target_entity="vendors", payload_hash="h"
    )
    assert (reopened.state, reopened.attempts, reopened.payload_hash) == ("pending", 2, "h")


def test_pending_intents_by_flow_oldest_first(store: State, clock: StepClock) -> None:
    for flow, source in (("bills", "2"), ("vendors", "1"), ("bills", "1")):
        store.begin_intent(
            flow,
            source,
            intent_key(flow, source),
            action="create",
            target_system="qbo",
            target_entity="X",
            payload_hash=None,
        )
        clock.advance(1)
    assert [(i.flow, i.source_id) for i in store.pending_intents()] == [
        ("bills", "2"),
        ("vendors", "1"),
        ("bills", "1"),
    ]
    assert [i.source_id for i in store.pending_intents("bills")] == ["2", "1"]


def test_unknown_intent(store: State) -> None:
    with pytest.raises(UnknownIntent) as caught:
        store.complete_intent("nope", target_id="1")
    assert caught.value.code == "S605" and "nope" in caught.value.format()
    with pytest.raises(UnknownIntent):
        store.abandon_intent("nope")


def test_intent_key_reused_for_another_record(store: State) -> None:
    store.begin_intent("bills", "1", "k", action="create", target_system="qbo", target_entity="Bill", payload_hash=None)
    with pytest.raises(ValueError):
        store.begin_intent(
            "bills", "2", "k", action="create", target_system="qbo", target_entity="Bill", payload_hash=None
        )


def test_begin_intent_refuses_to_join_a_transaction(store: State) -> None:
    with store.transaction():
        with pytest.raises(RuntimeError, match="on disk"):
            store.begin_intent(
                "bills", "1", "k", action="create", target_system="qbo", target_entity="Bill", payload_hash=None
            )
        with pytest.raises(RuntimeError):
            store.save_tokens("qbo", {"refresh_token": "r"})
    assert store.intent("k") is None


def test_intent_key_is_deterministic_and_short() -> None:
    key = intent_key("bills", "17", "abc")
    assert key == intent_key("bills", 17, "abc")  # type: ignore[arg-type]
    assert key != intent_key("bills", "17", "abd")
    assert key != intent_key("bills", "18", "abc")
    assert key != intent_key("bill", "s17", "abc")
    assert len(key) == 36 and key.count("-") == 4
    # Pinned: changing the derivation would re-create every in-flight write after an upgrade.
    assert key == intent_key("bills", "17", "abc")
    assert intent_key("f", "1") == "dfe53dcf-5ec1-5dfe-b2ba-0f719260fec0"


def test_canonical_json_and_content_hash() -> None:
    assert canonical_json({"b": [Decimal("10.50"), 2, None, True], "a": "é"}) == '{"a":"é","b":[10.5,2,null,true]}'
    assert canonical_json(Decimal("1E+2")) == "100"
    assert canonical_json(Decimal("-0.00")) == "0"
    assert content_hash({"Amount": Decimal("10.00")}) == content_hash({"Amount": Decimal("10")})
    assert content_hash({"Amount": Decimal("10.01")}) != content_hash({"Amount": Decimal("10")})
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash(["1"]) != content_hash([1])
    assert len(content_hash({})) == 64
    with pytest.raises(TypeError):
        canonical_json({"x": object()})
    with pytest.raises(ValueError):
        canonical_json(Decimal("NaN"))


def test_transaction_commits_or_rolls_back(store: State) -> None:
    with store.transaction():
        store.put_link(Link("v", "1", "a"))
        store.set_cursor("qbo", "Vendor", "c1")
    with pytest.raises(KeyError):
        with store.transaction():
            store.put_link(Link("v", "2", "b"))
            store.set_cursor("qbo", "Vendor", "c2")
            raise KeyError("boom")
    assert [link.procore_id for link in store.links()] == ["1"]
    assert store.cursor("qbo", "Vendor") == "c1"
    assert not store.in_transaction


def test_nested_transaction_rolls_back_only_itself(store: State) -> None:
    with store.transaction():
        store.put_link(Link("v", "1", "a"))
        assert store.in_transaction
        with pytest.raises(LinkConflict):
            with store.transaction():
                store.set_cursor("qbo", "Vendor", "inner")
                store.put_link(Link("v", "1", "other"))
        store.put_link(Link("v", "2", "b"))
    assert [link.qbo_id for link in store.links()] == ["a", "b"]
    assert store.cursor("qbo", "Vendor") is None


def test_outer_rollback_undoes_inner_commit(store: State) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction():
            with store.transaction():
                store.put_link(Link("v", "1", "a"))
            raise RuntimeError("later")
    assert store.links() == []


def test_token_store_in_state(store: State, state_spec: str) -> None:
    tokens = StateTokenStore(store)
    assert tokens.load("qbo:1") is None
    tokens.save("qbo:1", {"refresh_token": "r1", "expires_at": 1234.5})
    tokens.save("qbo:1", {"refresh_token": "r2", "expires_at": 1300.0})
    assert tokens.load("qbo:1") == {"refresh_token": "r2", "expires_at": 1300.0}
    assert tokens.load("procore:1") is None
    store.close()
    with open_state(state_spec) as reopened:
        assert StateTokenStore(reopened).load("qbo:1") == {"refresh_token": "r2", "expires_at": 1300.0}


def test_state_file_settings(state_path: Path) -> None:
    store = SQLiteState(state_path)
    assert state_path.exists()
    assert store.query("PRAGMA journal_mode")[0][0] == "wal"
    assert store.query("PRAGMA synchronous")[0][0] == 2  # FULL
    assert stat.S_ISREG(state_path.stat().st_mode)
    store.close()


def test_forget_old_intents_keeps_pending(store: State, clock: StepClock) -> None:
    for source in ("1", "2", "3"):
        store.begin_intent(
            "bills", source, f"k{source}", action="create", target_system="qbo", target_entity="Bill", payload_hash=None
        )
    store.complete_intent("k1", target_id="Q1")
    store.abandon_intent("k2")
    clock.advance(3600)
    store.begin_intent(
        "bills", "4", "k4", action="create", target_system="qbo", target_entity="Bill", payload_hash=None
    )
    store.complete_intent("k4", target_id="Q4")
    assert store.forget_intents("2026-03-01T12:30:00.000+00:00") == 2
    assert store.intent("k1") is None and store.intent("k2") is None
    assert store.intent("k3").state == "pending"  # type: ignore[union-attr]
    assert store.intent("k4").state == "done"  # type: ignore[union-attr]


def test_a_run_of_this_process_is_running(store: State) -> None:
    run_id = store.start_run("sync", "")
    [run] = store.runs()
    assert (run.id, run.status, run.pid) == (run_id, "running", os.getpid())
