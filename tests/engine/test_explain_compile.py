"""`joist validate --explain-compile`: which field expressions fall back to an evaluator, and why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from engine.language.rules import RuleSet
from engine.mapping.codegen import compile_report

REPO = Path(__file__).resolve().parents[2]
RULE = """\
flow: companies_to_vendors
direction: procore > qbo
source:
  system: procore
  entity: vendors
  where: "length(sort_by(source.attachments, &id)) > `0`"
target:
  system: qbo
  entity: Vendor
links: vendors
fields:
  DisplayName: "{% if source.name %}{{ source.name }}{% endif %} ({{ source.id }})"
  CompanyName: "source.name"
  PrintOnCheckName: "max_by(source.attachments, &id).name"
  Notes: "Vendor {{ source.name }} ({{ source.id }})"
  Title: "source.attachments[?url != null].filename | [0]"
"""


def _write(tmp_path: Path) -> Path:
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "companies_to_vendors.yaml").write_text(RULE, encoding="utf-8")
    return tmp_path / "pack"


def test_report_names_each_fallback_with_its_reason(tmp_path: Path) -> None:
    from engine.language.loading import load_rules
    from engine.project.workspace import layers_from

    ruleset: RuleSet = load_rules(layers_from([_write(tmp_path)]), check_graph=False)
    total, notes = compile_report(ruleset.rules.values())
    assert total == 6
    assert [(n.location.rsplit("/", 1)[-1], n.reason) for n in notes] == [
        ("companies_to_vendors.yaml:12:16", "a template with {% %} statements is rendered by Jinja"),
        ("companies_to_vendors.yaml:14:21", "max_by() takes an &expression: evaluated by the interpreter"),
        ("companies_to_vendors.yaml:6:10", "sort_by() takes an &expression: evaluated by the interpreter"),
    ]


def _joist(*args: str) -> subprocess.CompletedProcess[str]:
    # a subprocess: click caches each command's --help option with the first context that
    # asks for it, and tests/features/test_cli_doc.py renders the help of `validate`
    code = "from cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO)


def test_validate_explain_compile_lists_them(tmp_path: Path) -> None:
    pack = _write(tmp_path)
    result = _joist("validate", str(pack), "--explain-compile")
    assert result.returncode == 0, result.stderr
    assert (
        "compiled: 3 of 6 field and where expressions written out as Python; 3 run on their evaluator:" in result.stdout
    )
    assert "max_by() takes an &expression" in result.stdout
    data = json.loads(_joist("validate", str(pack), "--explain-compile", "--json").stdout)
    assert data["compile"]["expressions"] == 6 and len(data["compile"]["fallbacks"]) == 3
    assert data["compile"]["fallbacks"][0]["flow"] == "companies_to_vendors"
