"""Shared by the receivables, payables and reconcile tests: both seeded sandboxes synced
through the shipped master, receivables and payables packs, with the params
`joist sandbox up --project` writes (each pack's `_sandbox_params.yaml`) plus what the seed
lacks, made through the APIs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sandbox_pair import SandboxPair, sandbox_pair

from engine.project.writing import sandbox_params

RULES = Path(__file__).resolve().parents[2] / "rules"
PACK_NAMES = ["master", "receivables", "payables"]
PACKS = [str(RULES / name) for name in PACK_NAMES]
#: The flows of these packs and every flow they depend on (the master flows they read).
MINE = "+tag:receivables +tag:payables"


def records(connector: Any, entity: str) -> list[dict[str, Any]]:
    """Every record of `entity` the connector reads."""
    return [r for page in connector.read(entity) for r in page.records]


def reopen(pair: SandboxPair) -> Any:
    """A fresh session (as the next `joist` command) whose connectors pace themselves on the
    sandboxes' movable clocks: client-side rate limiting advances the clock, never sleeps."""
    from engine.project.connections import open_connector
    from sandbox.transport import InProcessTransport

    session = pair.reopen()
    if pair.servers:  # served on 127.0.0.1: the connectors keep real time
        return session
    for system, box in pair.boxes.items():
        clock = box.control.clock
        session._connectors[system] = open_connector(
            session.project,
            system,
            transport=session.transports.get(system) or InProcessTransport(box.app),
            sleep=clock.advance,
            now=clock.monotonic,
            wall=clock.now,
        )
    return session


def set_params(pair: SandboxPair, **params: Any) -> Any:
    """Write params into the project's joist.yaml and reopen the session on it."""
    path = pair.project_dir / "joist.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["params"] = {**(doc.get("params") or {}), **params}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return reopen(pair)


def prepare(pair: SandboxPair) -> dict[str, Any]:
    """What the seeds lack for these packs, made through the APIs; returns the ids used."""
    conns = reopen(pair).connectors({"procore", "qbo"})
    qbo, procore = conns["qbo"], conns["procore"]
    accounts = {a["Name"]: a["Id"] for a in records(qbo, "Account")}
    # The QBO seed has a Retainage Receivable account but no item posting to it.
    item = qbo.create(
        "Item",
        {"Name": "Retainage", "Type": "Service", "IncomeAccountRef": {"value": accounts["Retainage Receivable"]}},
        idempotency_key="test-retainage-item",
    )
    projects = {p["name"]: p for p in records(procore, "projects")}
    ids = {
        **sandbox_params(PACK_NAMES),
        "retainage_receivable_item": item["Id"],
        "retention_payable_account": accounts["Retainage Payable"],
    }
    set_params(pair, **ids)
    ids["project_id"] = projects["Riverside Medical Office"]["id"]
    return ids


def key_owner_payment_into_procore(pair: SandboxPair) -> dict[str, Any]:
    """The owner's payment of the first owner invoice keyed into Procore by hand (207,000.00 on
    2024-04-20, check 100452), before anyone records it in QBO: the seed has no payment.
    Made in the sandbox's store, as Procore's own screens would, so it has no `origin_id`."""
    from decimal import Decimal

    from sandbox.procore.resources import RESOURCES

    store = pair.boxes["procore"].store
    [prime] = [c for c in store.rows("prime_contracts") if c["number"] == "PC-001"]
    return store.insert(
        RESOURCES["contract_payments"],
        {
            "contract_id": prime["id"],
            "date": "2024-04-20",
            "amount": Decimal("207000.00"),
            "invoice_number": "NSDC-2024-01",
            "check_number": "100452",
            "payment_method": "check",
            "notes": "Owner payment for application 1",
        },
        company_id=prime["company_id"],
        project_id=prime["project_id"],
    )


def _synced(folder: Path) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    with sandbox_pair(folder, packs=PACKS) as pair:
        ids = prepare(pair)
        report = pair.session.run(MINE)
        errors = [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]
        assert errors == []
        yield pair, ids


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """Seeded sandboxes after a first `joist sync --select "+tag:receivables +tag:payables"`, for a test
    that changes them."""
    yield from _synced(tmp_path / "project")


@pytest.fixture(scope="module")
def synced_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """The same, shared by the tests of one module that only read (or re-sync without changes)."""
    yield from _synced(tmp_path_factory.mktemp("synced") / "project")
