"""The customer override example (examples/acme): Acme's layer over the master pack.

Acme renames the WBS item naming rule and adds fields the shipped flow does not write
(Sku, PurchaseDesc from Acme's own lookup table). Its rule tests run here against both
layers, an end-to-end sync makes the items Acme's way, and `joist explain` names the layer
that produced each field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sandbox_pair import SandboxPair, sandbox_pair

from engine.testing.plugin import check_expectations, layers_for, ruleset_for, run_case
from sandbox.procore.resources import RESOURCES

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "examples" / "acme"
TESTS = ACME / "rules" / "wbs_to_items.test.yaml"
TEST_FILES = sorted((ACME / "rules").glob("*.test.yaml"))


def acme_cases() -> list[tuple[Path, dict[str, Any]]]:
    return [(f, case) for f in TEST_FILES for case in yaml.safe_load(f.read_text())["cases"]]


@pytest.mark.parametrize(
    ("test_file", "case"), acme_cases(), ids=lambda v: v["name"] if isinstance(v, dict) else v.name
)
def test_acme_rule_tests_pass_against_both_layers(test_file: Path, case: dict[str, Any]) -> None:
    doc = yaml.safe_load(test_file.read_text())
    ruleset = ruleset_for(test_file)
    decision = run_case(ruleset, doc, case, test_file.parent)
    expect = {k: v for k, v in case["expect"].items() if k != "snapshot"}
    assert check_expectations(decision, expect) == []


def test_the_acme_project_layers_master_then_acme() -> None:
    assert [name for name, _ in layers_for(TESTS)] == ["joist:master", "./rules"]
    ruleset = ruleset_for(TESTS)
    match = ruleset.rules["wbs_to_items"].match
    assert match is not None and "source.flat_code ~ ' '" in match["Name"].text  # Acme's naming, matched exactly
    assert "acme_purchase_note" in ruleset.lookups and "master_account_for_cost_code" in ruleset.lookups


@pytest.fixture
def acme(tmp_path: Path) -> Iterator[SandboxPair]:
    params = yaml.safe_load((ROOT / "rules" / "master" / "_sandbox_params.yaml").read_text())
    with sandbox_pair(tmp_path / "acme", packs=["joist:master", str(ACME / "rules")], params=params) as pair:
        yield pair


def test_acme_s_custom_field_reaches_the_qbo_job(acme: SandboxPair) -> None:
    procore = acme.session.connectors({"procore"})["procore"]
    riverside = next(p for page in procore.read("projects") for p in page.records if p["project_number"] == "2024-001")
    box = acme.boxes["procore"]
    box.store.update(
        RESOURCES["projects"],
        box.store.get("projects", riverside["id"]),
        {"custom_fields": {"contract_type": {"value": "Lump sum"}}},
    )
    assert acme.session.run("path:rules/master").totals()["error"] == 0
    qbo = acme.session.connectors({"qbo"})["qbo"]
    jobs = {c["DisplayName"]: c for page in qbo.read("Customer") for c in page.records}
    assert jobs["2024-001 Riverside Medical Office"]["Notes"] == "Contract type: Lump sum"
    assert jobs["2024-002 Maple Street Townhomes"]["Notes"] == "Contract type: not set"


def test_acme_items_are_named_acme_s_way_end_to_end(acme: SandboxPair) -> None:
    report = acme.session.run("path:rules/master")
    assert report.totals()["error"] == 0
    qbo = acme.session.connectors({"qbo"})["qbo"]
    items = {i["Name"]: i for page in qbo.read("Item") for i in page.records}
    assert "01-100.L 2024-001" in items and "2024-001-01-100.L" not in items
    assert items["01-100.L 2024-001"]["Sku"].startswith("PC-WBS-")
    assert items["01-100.L 2024-001"]["PurchaseDesc"] == "Field labor - code to payroll"
    assert acme.session.state.link_counts()["wbs_items"] == 60


def test_explain_names_the_layer_of_each_field(acme: SandboxPair) -> None:
    from engine.reports.explain import explain

    acme.session.run("path:rules/master")
    procore = acme.session.connectors({"procore"})["procore"]
    wbs = next(
        w
        for page in procore.read("wbs_codes")
        for w in page.records
        if w["flat_code"] == "01-100.L" and w["project_number"] == "2024-001"
    )
    doc = explain(acme.session, "wbs_to_items", str(wbs["id"]))
    layers = {f["field"]: f["layer"] for f in doc["fields"]}
    acme_layer = str(ACME / "rules")
    assert layers["Name"] == acme_layer and layers["Sku"] == acme_layer and layers["PurchaseDesc"] == acme_layer
    assert layers["Description"] == "joist:master" and layers["Type"] == "joist:master"
    assert layers["ExpenseAccountRef.value"] == "joist:master"
    project = next(p for page in procore.read("projects") for p in page.records if p["project_number"] == "2024-001")
    fields = {f["field"]: f for f in explain(acme.session, "projects_to_customers", str(project["id"]))["fields"]}
    assert fields["Notes"]["layer"] == acme_layer and fields["Notes"]["value"] == "Contract type: not set"
    assert fields["DisplayName"]["layer"] == "joist:master" and fields["ParentRef.value"]["layer"] == "joist:master"


def test_joist_explain_cli_shows_the_layers(tmp_path: Path) -> None:
    from cli import main

    params = yaml.safe_load((ROOT / "rules" / "master" / "_sandbox_params.yaml").read_text())
    with sandbox_pair(
        tmp_path / "acme", packs=["joist:master", str(ACME / "rules")], params=params, loopback=True
    ) as acme:
        _explain_through_the_cli(acme, main)


def _explain_through_the_cli(acme: SandboxPair, main: Any) -> None:
    acme.session.run("path:rules/master")
    procore = acme.session.connectors({"procore"})["procore"]
    wbs = next(
        w
        for page in procore.read("wbs_codes")
        for w in page.records
        if w["flat_code"] == "01-100.L" and w["project_number"] == "2024-001"
    )
    result = CliRunner().invoke(
        main,
        ["--project", str(acme.project_dir), "explain", "wbs_to_items", str(wbs["id"]), "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert '"layer"' in result.output and "joist:master" in result.output and "examples/acme/rules" in result.output
