"""Shared by the receivables, payables and reconcile tests: end-to-end fixtures for the receivables and payables packs: both seeded sandboxes synced
through master-data flows, then the shipped receivables and payables packs.

The master pack (rules/master) is being rewritten while these packs are built and does not
sync the seed cleanly yet, so the master-data flows run from `master_standin/`: the master
pack as it was committed (a435c18) with the link sets of the contract (vendors, customers,
projects, wbs_items), adapted to the seed: the owner is named (the seed has no "Owners"
vendor group) and item names carry the project number (every seeded project has the same
WBS codes). Point MASTER at rules/master once that pack syncs the seed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from sandbox.pair import SandboxPair, sandbox_pair

RULES = Path(__file__).resolve().parents[2] / "rules"
MASTER = Path(__file__).resolve().parent / "test_receivables_master_standin"
PACKS = [str(MASTER), str(RULES / "receivables"), str(RULES / "payables")]
OWNER = "Northside Development Corp"


def records(connector: Any, entity: str) -> list[dict[str, Any]]:
    """Every record of `entity` the connector reads."""
    return [r for page in connector.read(entity) for r in page.records]


def set_params(pair: SandboxPair, **params: Any) -> Any:
    """Write params into the project's joist.yaml and reopen the session on it."""
    path = pair.project_dir / "joist.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["params"] = {**(doc.get("params") or {}), **params}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return pair.reopen()


def prepare(pair: SandboxPair) -> dict[str, Any]:
    """What the seeds lack for these packs, made through the APIs; returns the ids used."""
    conns = pair.session.connectors({"procore", "qbo"})
    qbo, procore = conns["qbo"], conns["procore"]
    accounts = {a["Name"]: a["Id"] for a in records(qbo, "Account")}
    # The QBO seed has a Retainage Receivable account but no item posting to it.
    item = qbo.create("Item", {"Name": "Retainage", "Type": "Service",
                               "IncomeAccountRef": {"value": accounts["Retainage Receivable"]}},
                      idempotency_key="test-retainage-item")
    projects = {p["name"]: p for p in records(procore, "projects")}
    owner = next(v for v in records(procore, "vendors") if v["name"] == OWNER)
    ids = {"retainage_receivable_item": item["Id"], "retention_payable_account": accounts["Retainage Payable"],
           "expense_account": accounts["Subcontractors"], "income_account": accounts["Construction Income"],
           "default_owner_company_id": owner["id"]}
    set_params(pair, **ids)
    ids["project_id"] = projects["Riverside Medical Office"]["id"]
    return ids


def _synced(folder: Path) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    with sandbox_pair(folder, packs=PACKS) as pair:
        ids = prepare(pair)
        report = pair.session.run(None)
        errors = [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]
        assert errors == []
        yield pair, ids


@pytest.fixture
def synced(tmp_path: Path) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """Seeded sandboxes after a first `joist sync` of every flow, for a test that changes them."""
    yield from _synced(tmp_path / "project")


@pytest.fixture(scope="module")
def synced_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """The same, shared by the tests of one module that only read (or re-sync without changes)."""
    yield from _synced(tmp_path_factory.mktemp("synced") / "project")
