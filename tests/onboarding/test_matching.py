"""Matching existing records before the first sync: marks, keys, names, one-to-one, links.

Against the seeded sandboxes with twins added on the other side the way a firm that used
another connector has them: names differing in case, punctuation or suffix, a Procore
`origin_id` naming the QBO record, a QBO note naming the Procore record, a PO with the
commitment's number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sandbox_pair import SandboxPair, sandbox_pair

from engine.onboarding.decisions import accept_above, decide, stored
from engine.onboarding.matching import FlowMatcher, Proposal, assign, matching_flows
from engine.onboarding.steps import match_all
from engine.project.session import session_params
from sandbox.procore.resources import RESOURCES


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    with sandbox_pair(tmp_path / "p", packs=["joist:master", "joist:payables"]) as made:
        yield made


def _procore_vendor(pair: SandboxPair, **data: Any) -> dict[str, Any]:
    box = pair.boxes["procore"]
    return box.store.insert(RESOURCES["vendors"], data, company_id=box.company_id)


def _proposals(pair: SandboxPair, link_set: str) -> dict[str, Proposal]:
    s = pair.session
    rule = next(r for r in matching_flows(s.ruleset) if r.links == link_set)
    found = FlowMatcher(rule, s.ruleset, s.state, s.connectors({"procore", "qbo"}), session_params(s)).proposals()
    return {p.label: p for p in assign(found)}


def test_candidates_come_with_confidence_and_reason(pair: SandboxPair) -> None:
    qbo = pair.boxes["qbo"].company()
    summit = qbo.create("Vendor", {"DisplayName": "SUMMIT CONCRETE, LLC"})["Id"]  # case, punctuation
    bright = qbo.create("Vendor", {"DisplayName": "Bright Electric"})["Id"]  # suffix dropped
    redwood = qbo.create("Vendor", {"DisplayName": "Redwood Lumber Suply Co"})["Id"]  # a typo: fuzzy only
    marked = qbo.create("Vendor", {"DisplayName": "Zeta Holdings"})["Id"]
    _procore_vendor(pair, name="Zeta Trading (old name)", origin_id=marked)  # the other connector's mark
    qbo.create("Vendor", {"DisplayName": "Apex Equipment Rental 2"})  # a number differs: never a candidate
    mailed = qbo.create(
        "Vendor", {"DisplayName": "CW Plumbing", "PrimaryEmailAddr": {"Address": "Office@Clearwater.example"}}
    )["Id"]

    found = _proposals(pair, "vendors")

    def best(label: str) -> tuple[str, float, str]:
        c = found[label].best
        assert c is not None, label
        return c.target_id, c.confidence, c.reason

    assert best("Summit Concrete LLC")[:2] == (summit, 0.95)
    assert "case, punctuation" in best("Summit Concrete LLC")[2]
    assert best("Bright Electric Co")[:2] == (bright, 0.95)
    target, confidence, reason = best("Redwood Lumber Supply")
    assert target == redwood and 0.7 < confidence < 0.9 and "alike" in reason
    assert best("Zeta Trading (old name)")[:2] == (marked, 1.0) and "origin_id" in best("Zeta Trading (old name)")[2]
    assert best("Clearwater Plumbing")[:2] == (mailed, 0.92) and "e-mail" in best("Clearwater Plumbing")[2]
    assert found["Apex Equipment Rental"].best is None
    assert found["Harbor Steel Works"].best is None  # only in Procore: created by the sync


def test_a_note_in_qbo_names_the_procore_record(pair: SandboxPair) -> None:
    qbo = pair.boxes["qbo"].company()
    procore = pair.session.connectors({"procore"})["procore"]
    commitment = next(r for p in procore.read("work_order_contracts") for r in p.records if r["number"] == "SC-001")
    vendor = next(iter(qbo.realm.table("Vendor")))
    item = next(i for i, r in qbo.realm.table("Item").items() if r["Name"] == "Services")
    line = {"DetailType": "ItemBasedExpenseLineDetail", "Amount": "10.00"}
    line["ItemBasedExpenseLineDetail"] = {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": "10.00"}
    noted = qbo.create(
        "PurchaseOrder",
        {
            "VendorRef": {"value": vendor},
            "DocNumber": "PO-7731",  # not the commitment's number: only the note tells
            "PrivateNote": f"Exported from Procore. Procore ID: {commitment['id']}",
            "Line": [line],
        },
    )["Id"]
    found = _proposals(pair, "commitments")
    best = found["SC-001"].best
    assert best is not None and (best.target_id, best.confidence) == (noted, 1.0) and "note" in best.reason


def test_one_target_is_proposed_for_one_record_only(pair: SandboxPair) -> None:
    qbo = pair.boxes["qbo"].company()
    _procore_vendor(pair, name="Summit Concrete Inc")  # a second Procore vendor that looks the same
    summit = qbo.create("Vendor", {"DisplayName": "Summit Concrete LLC"})["Id"]
    found = _proposals(pair, "vendors")
    exact, other = found["Summit Concrete LLC"], found["Summit Concrete Inc"]
    assert exact.best is not None and exact.best.target_id == summit and exact.best.confidence == 0.98
    assert other.best is None or other.best.target_id != summit


def test_accepted_matches_become_links_and_the_plan_creates_none_of_them(pair: SandboxPair) -> None:
    qbo = pair.boxes["qbo"].company()
    summit = qbo.create("Vendor", {"DisplayName": "SUMMIT CONCRETE, LLC"})["Id"]
    redwood = qbo.create("Vendor", {"DisplayName": "Redwood Lumber Suply Co"})["Id"]
    s = pair.session
    match_all(s, flows=None)
    assert accept_above(s.state, 0.9) >= 1
    link = s.state.find_link("vendors", qbo_id=summit)
    assert link is not None and link.origin == "matched"
    assert s.state.find_link("vendors", qbo_id=redwood) is None  # below the threshold: waits for review
    pending = {i.proposal.label: i for i in stored(s.state, link_set="vendors", undecided=True)}
    decide(s.state, "vendors", pending["Redwood Lumber Supply"].proposal.source_id, "accept")
    assert s.state.find_link("vendors", qbo_id=redwood) is not None
    report = s.run("companies_to_vendors", dry_run=True)
    creates = [o for f in report.flows for o in f.outcomes if o.action == "create"]
    linked = {link.procore_id for link in s.state.links("vendors")}
    assert creates and not any(o.source_id in linked for o in creates)


def test_a_code_is_not_a_near_miss_of_another_code(pair: SandboxPair) -> None:
    qbo = pair.boxes["qbo"].company()
    income = next(i for i, r in qbo.realm.table("Account").items() if r["Name"] == "Construction Income")
    wbs_item = qbo.create(
        "Item", {"Name": "2024-001-01-100.L", "Type": "Service", "IncomeAccountRef": {"value": income}}
    )
    cost_codes = _proposals(pair, "cost_code_items")
    assert cost_codes["2024-001-01-100"].best is None  # a WBS code's item, not the cost code's
    wbs = _proposals(pair, "wbs_items")
    best = wbs["2024-001-01-100.L"].best
    assert best is not None and (best.target_id, best.confidence) == (wbs_item["Id"], 0.98)
