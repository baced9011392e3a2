"""A deployment's connections in PostgreSQL: `joist connections`, isolation, tokens encrypted at rest."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING

import psycopg
import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

import cli
from engine.state.registry import Registry
from engine.state.secrets import EncryptedTokenStore, TokenCipher, TokenUndecryptable
from engine.state.store import Link

if TYPE_CHECKING:
    from parts import PostgresServer


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    """A fresh database of its own, so the registry starts empty."""
    name = f"d_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return postgres_server.url(name)


def joist(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_add_list_remove(database: str) -> None:
    key = Fernet.generate_key().decode()
    env = {"JOIST_DATABASE_URL": database, "JOIST_TOKEN_KEYS": key, "JOIST_QBO_REFRESH_TOKEN": "qbo-refresh-acme"}
    code, out = joist(
        "connections", "add", "acme", "--procore-company", "101", "--qbo-realm", "9001",
        "--pack", "joist:master", "--param", "retention_account=77", env=env,
    )  # fmt: skip
    assert code == 0, out
    assert "acme: Procore company 101 <-> QBO realm 9001; tokens saved for qbo" in out
    code, out = joist("connections", "add", "bolt", "--procore-company", "102", "--qbo-realm", "9002", env=env)
    assert code == 0, out
    code, out = joist("connections", "list", "--json", env=env)
    listed = json.loads(out)
    assert [(e["name"], e["procore_company"], e["qbo_realm"]) for e in listed] == [
        ("acme", "101", "9001"),
        ("bolt", "102", "9002"),
    ]
    assert listed[0]["packs"] == ["joist:master"] and listed[0]["params"] == {"retention_account": 77}
    code, out = joist("connections", "add", "copy", "--procore-company", "101", "--qbo-realm", "9003", env=env)
    assert code == 1 and "S673" in out and "'acme'" in out and "Traceback" not in out
    code, out = joist("connections", "remove", "bolt", env=env)
    assert code == 0 and "removed bolt" in out
    with psycopg.connect(database) as conn:
        schemas = {r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata")}
    assert "c_acme" in schemas and "c_bolt" not in schemas
    code, out = joist("connections", "remove", "bolt", env=env)
    assert code == 1 and "S674" in out and "acme" in out
    code, out = joist("connections", "list")
    assert code == 1 and "S677" in out


def test_one_connection_cannot_see_or_touch_anothers_links_tokens_or_failures(database: str) -> None:
    cipher = TokenCipher([Fernet.generate_key().decode()])
    with Registry(database) as registry:
        registry.add("acme", "101", "9001", [], {})
        registry.add("bolt", "102", "9002", [], {})
        with registry.open_state("acme") as acme, registry.open_state("bolt") as bolt:
            acme.put_link(Link("vendors", "57", "123", flow="companies_to_vendors"))
            acme.record_failure("companies_to_vendors", "58", code="C506", message="no")
            EncryptedTokenStore(acme, cipher).save("qbo:9001", {"refresh_token": "acme-secret"})
            # bolt sees nothing of acme's, by any of the store's calls ...
            assert bolt.links() == [] and bolt.failures() == [] and bolt.load_tokens("qbo:9001") is None
            assert EncryptedTokenStore(bolt, cipher).load("qbo:9001") is None
            assert bolt.find_link("vendors", procore_id="57") is None
            # ... nor by raw SQL through its store: its tables are its own
            assert bolt.query("SELECT COUNT(*) FROM links")[0][0] == 0
            # and what bolt writes under the same ids stays in bolt
            bolt.put_link(Link("vendors", "57", "999"))
            bolt.clear_failure("companies_to_vendors", "58")
            bolt.remove_link("vendors", procore_id="57")
            EncryptedTokenStore(bolt, cipher).save("qbo:9001", {"refresh_token": "bolt-overwrite"})
            assert acme.find_link("vendors", procore_id="57").qbo_id == "123"  # type: ignore[union-attr]
            assert [f.source_id for f in acme.failures()] == ["58"]
            assert EncryptedTokenStore(acme, cipher).load("qbo:9001") == {"refresh_token": "acme-secret"}


def test_tokens_are_encrypted_at_rest_and_survive_a_key_rotation(database: str) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with Registry(database) as registry:
        registry.add("acme", "101", "9001", [], {})
        with registry.open_state("acme") as state:
            EncryptedTokenStore(state, TokenCipher([old])).save("procore:101", {"refresh_token": "r-plain-1"})
    with psycopg.connect(database) as conn:
        [stored] = [r[0] for r in conn.execute("SELECT document FROM c_acme.tokens")]
    assert stored.startswith("fernet:") and "r-plain-1" not in stored
    env = {"JOIST_DATABASE_URL": database, "JOIST_TOKEN_KEYS": f"{new},{old}"}
    code, out = joist("connections", "rekey", env=env)
    assert code == 0 and "re-encrypted 1 token documents" in out
    with Registry(database) as registry, registry.open_state("acme") as state:
        assert EncryptedTokenStore(state, TokenCipher([new])).load("procore:101") == {"refresh_token": "r-plain-1"}
        with pytest.raises(TokenUndecryptable) as caught:
            EncryptedTokenStore(state, TokenCipher([old])).load("procore:101")
        assert caught.value.code == "S676"


def test_adding_tokens_without_a_key_adds_nothing(database: str) -> None:
    env = {"JOIST_DATABASE_URL": database, "JOIST_PROCORE_REFRESH_TOKEN": "r1", "JOIST_TOKEN_KEYS": ""}
    code, out = joist("connections", "add", "acme", "--procore-company", "101", "--qbo-realm", "9001", env=env)
    assert code == 1 and "S675" in out and "JOIST_TOKEN_KEYS" in out
    with Registry(database) as registry:
        assert registry.entries() == []
