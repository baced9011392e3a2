"""`joist onboard --answers` onboards a firm that used another connector: nothing twice, every pair linked.

The transfer firm (sandbox/transfer_firm.py) at full size, served on 127.0.0.1 with the
rate limits lifted (the benchmark, benchmarks/onboard.py, keeps them and times it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from firm_checks import LIFTED_LIMITS, duplicates, lift_batch_pacing, one_sided_missing, unlinked_pairs
from sandbox_pair import sandbox_pair

from cli import main
from engine.project.session import session_params
from engine.reports.reconcile import reconcile
from sandbox.transfer_firm import build_firm
from terminal.transfer_scenario import seed_pair

# The firm at full size (500 vendors, 200 projects, 2,000 subcontracts);
# JOIST_FIRM_SCALE=0.05 runs a twentieth of it while working on the wizard.
SCALE = float(os.environ.get("JOIST_FIRM_SCALE", "1"))


@pytest.mark.slow(minutes=4)
def test_onboarding_a_transfer_firm_links_every_pair_and_creates_only_the_one_sided(tmp_path: Path) -> None:
    firm = build_firm(SCALE)
    with sandbox_pair(tmp_path / "p", loopback=True, options=LIFTED_LIMITS) as pair:
        ids = seed_pair(pair.boxes, firm)
        lift_batch_pacing(pair.project_dir)
        qbo = pair.boxes["qbo"].company()
        item = next(i for i, r in qbo.realm.table("Item").items() if r["Name"] == "Services")
        answers = tmp_path / "answers.yaml"
        answers.write_text(
            f"threshold: 0.9\nparams:\n  retainage_receivable_item: '{item}'\nrest: create\ngo_live: true\n"
        )
        result = CliRunner().invoke(main, ["--project", str(pair.project_dir), "onboard", "--answers", str(answers)])
        assert result.exit_code == 0, result.output
        assert "onboarding complete" in result.output
        session = pair.reopen()
        connectors = session.connectors({"procore", "qbo"})
        assert duplicates(connectors) == {}
        assert unlinked_pairs(session.state, firm, ids) == []
        assert one_sided_missing(session.state, firm, ids) == []
        found = reconcile(connectors["procore"], connectors["qbo"], session.state, session_params(session))
        firm_projects = {ids["procore"][p.key] for p in firm.projects}
        differing = [p.name for p in found.projects if p.project_id in firm_projects and not p.equal]
        assert differing == []
        assert len([p for p in found.projects if p.project_id in firm_projects]) == len(firm.projects)
        again = CliRunner().invoke(main, ["--project", str(pair.project_dir), "onboard", "--answers", str(answers)])
        assert again.exit_code == 0 and again.output.count("settled earlier") == 8  # resumable: nothing redone
