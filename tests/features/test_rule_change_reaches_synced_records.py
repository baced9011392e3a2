"""A customer override added after the first sync reaches the records already synced (issue 16, item 1).

`joist plan` lists each as an update with its field diff and the reason "rule changed";
`joist sync` applies them once. The shipped master pack against both sandboxes on loopback,
driven through the command line as a user would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from sandbox_pair import sandbox_pair

import cli
from sandbox.qbo.app import US_REALM

OVERRIDE = """\
flow: companies_to_vendors
fields:
  CompanyName: "upper(coalesce(source.legal_name, source.name))"
"""


def joist(project: Path, *args: str) -> Any:
    return CliRunner().invoke(cli.main, ["--project", str(project), *args])


def test_an_override_added_later_updates_synced_vendors_with_the_reason_rule_changed(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        project = pair.project_dir
        first = joist(project, "sync")
        assert first.exit_code == 0, first.output
        vendors = {v["Id"]: v for v in pair.boxes["qbo"].store.realms[US_REALM].table("Vendor").values()}
        linked = {link.qbo_id for link in pair.session.state.links("vendors")}
        assert linked and linked <= set(vendors)

        (project / "acme").mkdir()
        (project / "acme" / "companies_to_vendors.yaml").write_text(OVERRIDE)
        path = project / "joist.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["packs"] = ["joist:master", "./acme"]
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        pair.clear_logs()

        plan = joist(project, "plan", "--select", "companies_to_vendors", "--json")
        assert plan.exit_code == 0, plan.output
        records = json.loads(plan.output)["flows"][0]["records"]
        updates = [r for r in records if r["action"] == "update"]
        lower = [i for i in linked if vendors[i]["CompanyName"] != vendors[i]["CompanyName"].upper()]
        assert lower and sorted(r["target_id"] for r in updates) == sorted(lower)
        assert all(r["reason"] == "rule changed" for r in updates)
        assert all([c["path"] for c in r["changes"]] == ["CompanyName"] for r in updates)
        text = joist(project, "plan", "--select", "companies_to_vendors")
        assert "rule changed" in text.output and "CompanyName" in text.output
        assert pair.writes("qbo") == []

        synced = joist(project, "sync", "--select", "companies_to_vendors")
        assert synced.exit_code == 0, synced.output
        table = pair.boxes["qbo"].store.realms[US_REALM].table("Vendor")
        assert all(table[i]["CompanyName"] == table[i]["CompanyName"].upper() for i in linked)
        pair.clear_logs()
        again = joist(project, "plan", "--select", "companies_to_vendors", "--json")
        assert [r for r in json.loads(again.output)["flows"][0]["records"] if r["action"] == "update"] == []
        assert joist(project, "sync", "--select", "companies_to_vendors").exit_code == 0
        assert pair.writes("qbo") == []
