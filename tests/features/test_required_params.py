"""Required params are enforced and joist.yaml's params are checked (issue 16, item 4).

A flow's `required: true` param left unset stops `validate`, `plan` and `sync` (S640) with
the param, the flow and where to set it; a misspelt param in joist.yaml is S641 with the
nearest name. The sandbox project sets every required param of the shipped packs, and the
QBO sandbox seeds what they point at (the retainage receivable item), so the demo's owner
invoices bill retainage on that item.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from sandbox_pair import sandbox_pair

import cli
from engine.project.writing import sandbox_params
from sandbox.qbo.app import US_REALM

SHIPPED = ["master", "payables", "receivables", "costs", "time"]


def edit_params(project_dir: Path, drop: str | None = None, **extra: Any) -> Path:
    path = project_dir / "joist.yaml"
    doc = yaml.safe_load(path.read_text())
    params = dict(doc.get("params") or {})
    if drop:
        params.pop(drop, None)
    params.update(extra)
    doc["params"] = params
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def joist(project_dir: Path, *args: str) -> Any:
    return CliRunner().invoke(cli.main, ["--project", str(project_dir), *args])


def test_every_required_param_of_the_shipped_packs_is_set_for_the_sandboxes(tmp_path: Path) -> None:
    from engine.language.loading import load_rules
    from engine.project.config import shipped_packs

    packs = shipped_packs()
    ruleset = load_rules([(name, [packs[name]]) for name in SHIPPED])
    required = {name for rule in ruleset.rules.values() for name, spec in rule.params.items() if spec.get("required")}
    assert required >= {"retainage_receivable_item", "retention_payable_account", "item_income_account"}
    values = sandbox_params(SHIPPED)
    assert all(values.get(name) not in (None, "") for name in required), sorted(required - set(values))


def test_an_unset_required_param_stops_validate_plan_and_sync(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True) as pair:
        project = pair.project_dir
        assert joist(project, "validate").exit_code == 0
        path = edit_params(project, drop="retainage_receivable_item")
        pair.clear_logs()
        for command in (["validate"], ["plan"], ["sync"]):
            result = joist(project, *command)
            assert result.exit_code == 1, (command, result.output)
            out = result.output
            assert "S640" in out and "'retainage_receivable_item'" in out, out
            assert "flow owner_invoices_to_invoices" in out and "joist.yaml" in out and "params:" in out
            assert "Traceback" not in out
        assert pair.writes("qbo") == [] and pair.writes("procore") == []
        assert path.exists()


def test_a_misspelt_param_in_joist_yaml_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True) as pair:
        project = pair.project_dir
        value = sandbox_params(SHIPPED)["retainage_receivable_item"]
        edit_params(project, drop="retainage_receivable_item", retainage_recievable_item=value)
        for command in (["validate"], ["plan"], ["sync"]):
            result = joist(project, *command)
            assert result.exit_code == 1, (command, result.output)
            assert "S641" in result.output and "params.retainage_recievable_item" in result.output
            assert "did you mean 'retainage_receivable_item'?" in result.output


def test_the_demo_bills_retainage_on_the_seeded_retainage_item(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master", "joist:receivables"]) as pair:
        item_id = str(pair.session.project.params["retainage_receivable_item"])
        realm = pair.boxes["qbo"].store.realms[US_REALM]
        item = realm.table("Item")[item_id]
        accounts = {a["Id"]: a["Name"] for a in realm.table("Account").values()}
        assert accounts[item["IncomeAccountRef"]["value"]] == "Retainage Receivable"
        report = pair.session.run()
        assert report.ok, [o.to_dict() for f in report.flows for o in f.outcomes if o.action == "error"]
        lines = [
            line["SalesItemLineDetail"]
            for invoice in realm.table("Invoice").values()
            for line in invoice["Line"]
            if "retainage" in str(line.get("Description", "")).lower() and "SalesItemLineDetail" in line
        ]
        assert lines and all(detail["ItemRef"]["value"] == item_id for detail in lines)
