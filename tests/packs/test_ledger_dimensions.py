"""Dimensions reach transactions end to end: with the master pack making projects QBO
locations, owner invoices, bills, purchase orders and expenses carry their project's location;
with `transaction_classes`, purchase order and direct-cost bill lines carry their cost type's
class. Off by default: nothing is tagged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox_pair import sandbox_pair

from engine.project.session import session_params
from engine.reports.reconcile import reconcile

from .test_receivables_support import PACKS, RULES, prepare, records, reopen, set_params

EVERY = "+tag:receivables +tag:payables +tag:costs"


def _errors(report: Any) -> list[Any]:
    return [(f.flow, o.source_id, o.reason) for f in report.flows for o in f.outcomes if o.action == "error"]


def _doc(qbo: Any, entity: str, number: str) -> dict[str, Any]:
    return next(d for d in records(qbo, entity) if d.get("DocNumber") == number)


def test_transactions_carry_their_project_location_and_cost_type_classes(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=[*PACKS, str(RULES / "costs")]) as pair:
        prepare(pair)
        session = set_params(pair, projects_as_locations=True, transaction_classes=True)
        assert _errors(session.run(EVERY)) == []
        qbo = session.connectors({"qbo"})["qbo"]
        procore = session.connectors({"procore"})["procore"]
        riverside = next(p for p in records(procore, "projects") if p["name"] == "Riverside Medical Office")
        location = session.state.resolver("locations", toward="qbo")(str(riverside["id"]))
        assert location is not None
        for entity, number in (
            ("Invoice", "NSDC-2024-01"),
            ("Bill", "SUMC-1001"),
            ("PurchaseOrder", "SC-001"),
            ("PurchaseOrder", "PO-001"),
        ):
            assert _doc(qbo, entity, number).get("DepartmentRef", {}).get("value") == location, (entity, number)
        expenses = [
            p for p in records(qbo, "Purchase") if "[Joist: Procore direct cost" in (p.get("PrivateNote") or "")
        ]
        assert expenses and all(p.get("DepartmentRef", {}).get("value") for p in expenses)
        classes = {c["Name"]: c["Id"] for c in records(qbo, "Class")}
        order = _doc(qbo, "PurchaseOrder", "SC-001")
        # SC-001's line is on 03-300.S: the Subcontract class
        assert order["Line"][0]["ItemBasedExpenseLineDetail"]["ClassRef"]["value"] == classes["Subcontract"]
        conns = session.connectors({"procore", "qbo"})
        result = reconcile(conns["procore"], conns["qbo"], session.state, session_params(session))
        assert result.ok, result.to_dict()


def test_no_dimension_is_set_unless_a_param_says_so(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        prepare(pair)
        assert _errors(reopen(pair).run("+tag:receivables +tag:payables")) == []
        qbo = pair.session.connectors({"qbo"})["qbo"]
        order = _doc(qbo, "PurchaseOrder", "SC-001")
        assert "DepartmentRef" not in order and "ClassRef" not in order["Line"][0]["ItemBasedExpenseLineDetail"]
