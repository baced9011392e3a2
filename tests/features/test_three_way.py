"""Edits on both sides of a two-way pair between two syncs: both survive (three-way merge)."""

from __future__ import annotations

from pathlib import Path

from sandbox_pair import sandbox_pair

TO_QBO = """
flow: vendors_out
direction: procore > qbo
source: {system: procore, entity: vendors, where: "source.is_active"}
target: {system: qbo, entity: Vendor}
links: vendors
fields:
  DisplayName: "source.name"
  PrimaryEmailAddr.Address: "source.email_address"
  PrimaryPhone.FreeFormNumber: "source.business_phone"
"""
TO_PROCORE = """
flow: vendors_back
direction: qbo > procore
source: {system: qbo, entity: Vendor}
target: {system: procore, entity: vendors}
links: vendors
fields:
  name: "source.DisplayName"
  email_address: "source.PrimaryEmailAddr.Address"
  business_phone: "source.PrimaryPhone.FreeFormNumber"
"""


def test_an_edit_on_each_side_reaches_the_other_and_neither_is_lost(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "vendors_out.yaml").write_text(TO_QBO)
    (rules / "vendors_back.yaml").write_text(TO_PROCORE)
    with sandbox_pair(tmp_path / "p", packs=[str(rules)]) as pair:
        assert pair.session.run(None).ok
        conns = pair.session.connectors({"procore", "qbo"})
        procore, qbo = conns["procore"], conns["qbo"]
        link = next(l for l in pair.session.state.links("vendors") if l.origin == "procore")
        procore.update("vendors", link.procore_id, {"email_address": "new@procore.example"})
        qbo.update("Vendor", link.qbo_id, {"PrimaryPhone": {"FreeFormNumber": "555-0199"}})

        session = pair.reopen()
        report = session.run(None)
        assert report.ok
        conns = session.connectors({"procore", "qbo"})
        procore, qbo = conns["procore"], conns["qbo"]
        vendor = qbo.get("Vendor", link.qbo_id)
        company = procore.get("vendors", link.procore_id)
        assert vendor["PrimaryEmailAddr"]["Address"] == "new@procore.example"  # Procore's edit arrived
        assert vendor["PrimaryPhone"]["FreeFormNumber"] == "555-0199"  # QBO's own edit kept
        assert company["business_phone"] == "555-0199"  # and carried back
        assert company["email_address"] == "new@procore.example"

        pair.clear_logs()
        assert pair.reopen().run(None).ok
        assert pair.writes("qbo") == [] and pair.writes("procore") == []
