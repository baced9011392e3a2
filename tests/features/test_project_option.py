"""`--project` picks the project whose packs `validate`, `ls`, `graph`, `map` and `test` use, from any folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

PROJECT = """\
version: 1
name: {name}
connections:
  qbo: {{realm_id: "1"}}
packs: [./rules]
"""

RULE = """\
flow: {flow}
direction: procore > qbo
source: {{system: procore, entity: vendors}}
target: {{system: qbo, entity: Vendor}}
fields:
  DisplayName: "upper(source.name)"
"""

TEST = """\
rule: {flow}
cases:
  - name: the name in capitals
    input: {{id: 1, name: acme}}
    expect: {{action: create, equals: {{DisplayName: ACME}}}}
"""
EXTRA_CASE = """\
  - name: another name in capitals
    input: {{id: 2, name: bolt}}
    expect: {{action: create, equals: {{DisplayName: BOLT}}}}
"""


def _project(root: Path, flow: str, cases: int = 1) -> Path:
    (root / "rules").mkdir(parents=True)
    (root / "joist.yaml").write_text(PROJECT.format(name=flow.replace("_", "-")))
    (root / "rules" / f"{flow}.yaml").write_text(RULE.format(flow=flow))
    (root / "rules" / f"{flow}.test.yaml").write_text(TEST.format(flow=flow) + EXTRA_CASE.format() * (cases - 1))
    return root


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder: another project, whose flow must not be the one used."""
    here = _project(tmp_path / "here", "here_vendors")
    monkeypatch.chdir(here)
    return here


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    return _project(tmp_path / "acme", "acme_vendors", cases=2)


@pytest.mark.parametrize("given", ["folder", "file"])
def test_validate_ls_and_graph_use_the_given_project(elsewhere: Path, acme: Path, given: str) -> None:
    project = str(acme if given == "folder" else acme / "joist.yaml")
    runner = CliRunner()
    validated = runner.invoke(main, ["--project", project, "validate", "--json"])
    assert validated.exit_code == 0, validated.output
    assert json.loads(validated.output)["flows"] == ["acme_vendors"]
    listed = runner.invoke(main, ["--project", project, "ls", "--json", "--select", "path:rules"])
    assert listed.exit_code == 0, listed.output
    assert [row["flow"] for row in json.loads(listed.output)] == ["acme_vendors"]
    drawn = runner.invoke(main, ["--project", project, "graph"])
    assert drawn.exit_code == 0 and "acme_vendors" in drawn.output and "here_vendors" not in drawn.output


def test_map_uses_the_given_project(elsewhere: Path, acme: Path) -> None:
    result = CliRunner().invoke(main, ["--project", str(acme), "map", "acme_vendors"], input='{"id": 1, "name": "x"}\n')
    assert result.exit_code == 0, result.output
    assert '"DisplayName":"X"' in result.output


def test_a_missing_project_is_an_error_not_the_rules_here(elsewhere: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--project", str(tmp_path / "nowhere"), "validate"])
    assert result.exit_code == 1 and "S610" in result.output, result.output


def test_test_runs_the_given_projects_rule_tests(elsewhere: Path, acme: Path) -> None:
    joist = Path(sys.executable).parent / "joist"
    done = subprocess.run(
        [str(joist), "--project", str(acme), "test"], capture_output=True, text=True, cwd=elsewhere, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout  # acme's two cases, not the one case here
