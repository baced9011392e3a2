"""Schema versions: a v1 file is upgraded on open, a newer or foreign file is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import engine.state.migrations as migrations
from engine.state.migrations import LATEST_VERSION, Migration, current_version, migrate
from engine.state.sqlite import SQLiteDriver
from engine.state.store import SQLiteState, State, StateBusy, StateTooNew, StateUnreadable, StateUnwritable


def _v1_file(path: Path) -> None:
    conn = SQLiteDriver(path, busy_timeout=5)
    assert migrate(conn, path, target=1) == [1]
    conn.execute(
        "INSERT INTO links (link_set, procore_id, qbo_id, qbo_sync_token, origin, locked) "
        "VALUES ('vendors', '57', '123', '4', 'procore', 1)"
    )
    conn.execute("INSERT INTO intents (key, flow, source_id, state) VALUES ('k1', 'bills', '9', 'pending')")
    conn.execute(
        "INSERT INTO failures (flow, source_id, code, message, attempts, next_attempt) "
        "VALUES ('bills', '3', 'C506', 'no', 2, '2026-01-01T00:00:00.000+00:00')"
    )
    conn.execute("INSERT INTO cursors (system, entity, value) VALUES ('qbo', 'Bill', 'c')")
    conn.close()


def _version(path: Path) -> int:
    conn = SQLiteDriver(path, busy_timeout=5)
    try:
        return current_version(conn)
    finally:
        conn.close()


def test_new_file_is_at_the_latest_version(store: State) -> None:
    assert LATEST_VERSION == migrations.MIGRATIONS[-1].version
    versions = [row[0] for row in store.query("SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m.version for m in migrations.MIGRATIONS]


def test_opening_a_v1_file_upgrades_it_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _v1_file(path)
    assert _version(path) == 1
    with SQLiteState(path) as store:
        assert _version(path) == LATEST_VERSION
        link = store.find_link("vendors", procore_id="57")
        assert link is not None
        assert (link.qbo_id, link.qbo_version, link.origin, link.locked, link.flow) == (
            "123",
            "4",
            "procore",
            True,
            None,
        )
        [intent] = store.pending_intents()
        assert (intent.key, intent.action, intent.attempts, intent.target_id) == ("k1", "create", 1, None)
        [failure] = store.failures()
        assert (failure.attempts, failure.code, failure.run_id) == (2, "C506", None)
        assert store.cursor("qbo", "Bill") == "c"
        store.save_tokens("qbo", {"refresh_token": "r"})
        # The new columns work: the upgraded file behaves as a new one.
        assert store.record_failure("bills", "3", code="C506", message="no").attempts == 3
    with SQLiteState(path) as again:  # a second open applies nothing
        assert again.load_tokens("qbo") == {"refresh_token": "r"}


def test_a_file_from_a_newer_joist_is_refused(state_path: Path) -> None:
    SQLiteState(state_path).close()
    conn = sqlite3.connect(str(state_path), isolation_level=None)
    conn.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, 'future', 'x')", (LATEST_VERSION + 3,)
    )
    conn.close()
    with pytest.raises(StateTooNew) as caught:
        SQLiteState(state_path)
    error = caught.value
    assert error.code == "S602" and (error.found, error.known) == (LATEST_VERSION + 3, LATEST_VERSION)
    text = error.format()
    assert str(state_path) in text and f"schema version {LATEST_VERSION + 3}" in text
    assert "upgrade Joist" in text


def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    _v1_file(path)
    broken = Migration(2, "broken", migrations.MIGRATIONS[1].statements + ("CREATE TABLE links (x)",))
    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError):
        SQLiteState(path)
    assert _version(path) == 1
    conn = sqlite3.connect(str(path))
    columns = [row[1] for row in conn.execute("PRAGMA table_info(links)")]
    conn.close()
    assert "qbo_sync_token" in columns and "flow" not in columns
    monkeypatch.undo()
    with SQLiteState(path) as store:
        assert store.find_link("vendors", qbo_id="123") is not None


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateUnreadable) as caught:
        SQLiteState(path)
    assert caught.value.code == "S601" and str(path) in caught.value.format()


def test_a_database_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(str(path))
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(StateUnreadable, match="not a Joist state file"):
        SQLiteState(path)


def test_busy_file(state_path: Path) -> None:
    with SQLiteState(state_path, busy_timeout=0.05) as store:
        other = sqlite3.connect(str(state_path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StateBusy) as caught:
                store.set_cursor("qbo", "Bill", "x")
            assert caught.value.code == "S603"
            assert store.cursor("qbo", "Bill") is None  # reads go on in WAL mode
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.set_cursor("qbo", "Bill", "x")
        assert not store.in_transaction


def test_a_state_file_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateUnwritable) as caught:
        SQLiteState(blocker / "state.db")
    assert caught.value.code == "S606" and "writable" in caught.value.format()
