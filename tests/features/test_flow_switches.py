"""joist.yaml's `flows: {NAME: {enabled: false}}` switches any flow off in one project: plan,
sync, retry and the service's record runs skip it, a flow depending on it says why its
records wait, an unknown name is refused with a "did you mean", and `joist flow
enable|disable` writes the switch (in-process sandboxes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from sandbox_pair import SandboxPair, sandbox_pair

from cli import main
from terminal.runs import print_plan
from web.accounts import Accounts

OFF = "companies_to_customers"
DEPENDENT = "projects_to_customers"  # depends_on: [companies_to_customers, ...]


@pytest.fixture
def pair(tmp_path: Path) -> Any:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"]) as made:
        yield made


def _joist(pair: SandboxPair, *args: str) -> Any:
    return CliRunner().invoke(main, ["--project", str(pair.project_dir), *args])


def test_a_switched_off_flow_is_skipped_by_plan_sync_retry_and_record_runs(pair: SandboxPair) -> None:
    done = _joist(pair, "flow", "disable", OFF)
    assert done.exit_code == 0, done.output
    assert f"{OFF} is off in joist.yaml" in done.output
    assert DEPENDENT in done.output and "wait" in done.output  # the flows that depend on it are named
    text = (pair.project_dir / "joist.yaml").read_text()
    assert f"flows:\n  {OFF}:\n    enabled: false" in text
    assert any(e.action == "flow.disable" and e.target == OFF for e in Accounts(pair.session.state).audit_log())
    session = pair.reopen()
    for report in (session.run(None, dry_run=True), session.run(None), session.run(None, retry_only=True)):
        by_flow = {f.flow: f for f in report.flows}
        assert by_flow[OFF].disabled is not None and "switched off" in by_flow[OFF].disabled
        assert sum(by_flow[OFF].counts.values()) == 0
        assert by_flow[DEPENDENT].upstream_off == [OFF]
        assert report.to_dict()["flows"][list(by_flow).index(DEPENDENT)]["depends_on_off"] == [OFF]
    assert [link for link in session.state.links("customers") if link.flow == OFF] == []
    records = session.run_records({OFF: ["1"]})  # what the service runs for a webhook
    assert [f.disabled is not None for f in records.flows if f.flow == OFF] == [True]
    console = Console(record=True, width=200)
    print_plan(session.run(None, dry_run=True), console, verbose=True)  # as `joist plan --verbose` prints it
    assert f"{DEPENDENT} depends on {OFF}, which is off" in console.export_text()

    back = _joist(pair, "flow", "enable", OFF)
    assert back.exit_code == 0, back.output
    assert "flows:" not in (pair.project_dir / "joist.yaml").read_text()
    session = pair.reopen()
    by_flow = {f.flow: f for f in session.run(None).flows}
    assert by_flow[OFF].disabled is None and by_flow[DEPENDENT].upstream_off == []
    assert by_flow[OFF].counts["create"] + by_flow[OFF].counts["adopt"] > 0
    assert [link for link in session.state.links("customers") if link.flow == OFF] != []


def test_an_unknown_flow_in_joist_yaml_is_refused_with_a_suggestion(pair: SandboxPair) -> None:
    path = pair.project_dir / "joist.yaml"
    path.write_text(path.read_text() + "flows:\n  companies_to_customer:\n    enabled: false\n")
    for args in (["validate"], ["plan"]):
        result = _joist(pair, *args)
        assert result.exit_code == 1, result.output
        assert "S661" in result.output and "did you mean 'companies_to_customers'?" in result.output
        assert "joist.yaml" in result.output and "Traceback" not in result.output
    refused = _joist(pair, "flow", "disable", "no_such_flow")
    assert refused.exit_code == 1 and "S661" in refused.output


def test_the_switch_is_validated_by_the_project_schema(pair: SandboxPair) -> None:
    path = pair.project_dir / "joist.yaml"
    original = path.read_text()
    path.write_text(original + f"flows:\n  {OFF}:\n    enabled: false\n")
    accepted = _joist(pair, "validate")
    assert accepted.exit_code == 0, accepted.output
    path.write_text(original + f"flows:\n  {OFF}:\n    enabled: nope\n    colour: red\n")
    result = _joist(pair, "validate")
    assert result.exit_code == 1 and f"flows.{OFF}" in result.output and "Traceback" not in result.output
