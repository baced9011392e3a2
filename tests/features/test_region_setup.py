"""`joist init --region` and `joist sandbox up --region --project` set the packs' qbo_region."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

import cli
from engine.project.writing import update_sandbox_project
from sandbox.procore.app import create_sandbox as create_procore
from sandbox.qbo.app import UK_REALM, create_sandbox


def test_init_region_sets_qbo_region(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["init", str(tmp_path / "acme"), "--region", "ca"])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load((tmp_path / "acme" / "joist.yaml").read_text())
    assert doc["params"]["qbo_region"] == "CA"


def test_sandbox_project_of_a_region_connects_its_realm_and_sets_qbo_region(tmp_path: Path) -> None:
    info = {
        "procore": create_procore(region="UK").connection_info("http://127.0.0.1:8710"),
        "qbo": create_sandbox(region="UK").connection_info("http://127.0.0.1:8720"),
    }
    path, _ = update_sandbox_project(tmp_path / "demo", info, "UK")
    doc = yaml.safe_load(path.read_text())
    assert doc["params"]["qbo_region"] == "UK"
    # the UK company's untaxed code ("No VAT") for lines Procore does not tax, and the US ids elsewhere
    assert (doc["params"]["sales_line_tax_code"], doc["params"]["purchase_line_tax_code"]) == ("55", "55")
    assert doc["params"]["retention_payable_account"] == "12"
    assert str(doc["connections"]["qbo"]["realm_id"]) == UK_REALM
    # a later run for another region says what to change rather than rewriting the owner's params
    _, changes = update_sandbox_project(tmp_path / "demo", info, "CA")
    assert "params.qbo_region is UK: set it to CA for this sandbox" in changes
