"""The PostgreSQL backend on a real server: its schema, writer lock, migrations and errors."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import psycopg
import pytest

import engine.state.migrations as migrations
from engine.state.backends import open_state
from engine.state.migrations import LATEST_VERSION, Migration
from engine.state.postgres import PostgresState, StateServerUnreachable, StateUrlInvalid, split_url
from engine.state.store import Link, StateBusy, StateTooNew, StateUnreadable

if TYPE_CHECKING:
    from parts import PostgresServer


def _schema(url: str) -> str:
    return split_url(url)[1]


def test_a_store_lives_in_its_schema_and_migrates_like_sqlite(postgres_server: PostgresServer) -> None:
    url = postgres_server.fresh_url()
    with open_state(url) as store:
        assert store.backend == "postgresql"
        store.put_link(Link("vendors", "57", "123"))
    with psycopg.connect(postgres_server.url()) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (_schema(url),)
            )
        }
        versions = [row[0] for row in conn.execute(f"SELECT version FROM {_schema(url)}.schema_version ORDER BY 1")]
    assert {"links", "intents", "inbox", "run_lock", "schema_version"} <= tables
    assert versions == [m.version for m in migrations.MIGRATIONS]


def test_stores_in_two_schemas_see_nothing_of_each_other(postgres_server: PostgresServer) -> None:
    with open_state(postgres_server.fresh_url()) as first, open_state(postgres_server.fresh_url()) as second:
        first.put_link(Link("vendors", "57", "123"))
        first.set_cursor("qbo", "Vendor", "c1")
        assert second.links() == [] and second.cursor("qbo", "Vendor") is None
        second.put_link(Link("vendors", "57", "999"))  # the same Procore id in another store: no conflict
        assert first.find_link("vendors", procore_id="57").qbo_id == "123"  # type: ignore[union-attr]


def test_a_writer_waits_for_the_schema_lock_then_reports_busy(postgres_server: PostgresServer) -> None:
    url = postgres_server.fresh_url()
    with PostgresState(url, busy_timeout=0.2) as store, open_state(postgres_server.fresh_url()) as other:
        holder = psycopg.connect(postgres_server.url(), autocommit=True)
        try:
            holder.execute("BEGIN")
            holder.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (0x4A6F, _schema(url)))
            with pytest.raises(StateBusy) as caught:
                store.set_cursor("qbo", "Bill", "x")
            assert caught.value.code == "S603"
            assert store.cursor("qbo", "Bill") is None  # reads do not wait
            other.set_cursor("qbo", "Bill", "y")  # another schema writes on
            assert not store.in_transaction
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        store.set_cursor("qbo", "Bill", "x")
        assert store.cursor("qbo", "Bill") == "x"


def test_a_schema_from_a_newer_joist_is_refused(postgres_server: PostgresServer) -> None:
    url = postgres_server.fresh_url()
    open_state(url).close()
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {_schema(url)}.schema_version (version, description, applied_at) VALUES (%s, 'future', 'x')",
            (LATEST_VERSION + 3,),
        )
    with pytest.raises(StateTooNew) as caught:
        open_state(url)
    assert caught.value.code == "S602" and _schema(url) in caught.value.format()


def test_a_schema_of_something_else_is_refused(postgres_server: PostgresServer) -> None:
    url = postgres_server.fresh_url()
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {_schema(url)}")
        conn.execute(f"CREATE TABLE {_schema(url)}.invoices (id INTEGER)")
    with pytest.raises(StateUnreadable, match="PostgreSQL database, but not a Joist state file"):
        open_state(url)


def test_a_failed_migration_leaves_the_previous_version(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.fresh_url()
    broken = Migration(2, "broken", migrations.MIGRATIONS[1].statements + ("CREATE TABLE links (x TEXT)",))
    monkeypatch.setattr(migrations, "MIGRATIONS", (migrations.MIGRATIONS[0], broken))
    with pytest.raises(psycopg.errors.DuplicateTable):
        open_state(url)
    with psycopg.connect(postgres_server.url()) as conn:
        assert conn.execute(f"SELECT MAX(version) FROM {_schema(url)}.schema_version").fetchone()[0] == 1
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = 'links'",
                (_schema(url),),
            )
        }
    assert "qbo_sync_token" in columns and "flow" not in columns  # DDL is transactional: step 2 left no trace
    monkeypatch.undo()
    with open_state(url) as store:
        assert store.query("SELECT MAX(version) FROM schema_version")[0][0] == LATEST_VERSION


def test_processes_opening_a_new_schema_at_once_migrate_it_once(postgres_server: PostgresServer) -> None:
    url = postgres_server.fresh_url()
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_state(url).close()
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_state(url) as store:
        assert [r[0] for r in store.query("SELECT version FROM schema_version ORDER BY version")] == list(
            range(1, LATEST_VERSION + 1)
        )


def test_an_unreachable_server_is_one_clear_error(postgres_server: PostgresServer) -> None:
    from parts import free_port

    url = f"postgresql://joist:secret@127.0.0.1:{free_port()}/postgres?schema=acme"
    with pytest.raises(StateServerUnreachable) as caught:
        open_state(url)
    text = caught.value.format()
    assert caught.value.code == "S670" and "127.0.0.1" in text and "secret" not in text


@pytest.mark.parametrize("url", ["postgresql://h/db?schema=Bad-Name", "postgresql://h/db?schema=1x"])
def test_a_schema_name_that_is_not_plain_is_refused(url: str) -> None:
    with pytest.raises(StateUrlInvalid) as caught:
        open_state(url)
    assert caught.value.code == "S671"
