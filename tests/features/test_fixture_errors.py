"""A fixture that is not valid JSON: `joist test` names its file, line and column (no traceback),
and `joist validate` checks rule tests and the fixtures they read too.

The shape of the mistake comes from docs/custom-flow.md, whose fixture used to begin with a
`// path` comment line.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _pack(tmp_path: Path) -> Path:
    """A one-rule pack (the shipped vendor flow) whose test reads a fixture with a `//` line."""
    rules = tmp_path / "rules"
    (rules / "fixtures").mkdir(parents=True)
    shutil.copy(ROOT / "rules" / "master" / "companies_to_vendors.yaml", rules)
    shutil.copy(ROOT / "rules" / "master" / "companies_to_vendors.test.yaml", rules)
    fixture = (ROOT / "rules" / "master" / "fixtures" / "company_summit.json").read_text()
    (rules / "fixtures" / "company_summit.json").write_text("// rules/fixtures/company_summit.json\n" + fixture)
    return rules


def test_joist_test_names_the_fixture_line_and_column(tmp_path: Path, joist: Any) -> None:
    _pack(tmp_path)
    result = joist("test", "rules", "-k", "contact", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "rules/fixtures/company_summit.json:1:1  R116 fixture is not valid JSON" in output
    assert "JSON has no comments: remove this line" in output
    assert "Traceback" not in output and "JSONDecodeError" not in output
    assert len(output.splitlines()) < 40


def test_validate_checks_test_files_and_their_fixtures(tmp_path: Path, joist: Any) -> None:
    rules = _pack(tmp_path)
    result = joist("validate", "rules", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "company_summit.json:1:1  R116 fixture is not valid JSON" in result.stderr
    (rules / "fixtures" / "company_summit.json").write_text(
        (ROOT / "rules" / "master" / "fixtures" / "company_summit.json").read_text()
    )
    test = rules / "companies_to_vendors.test.yaml"
    test.write_text(test.read_text().replace("rule: companies_to_vendors", "rule: companies_to_vendor"))
    result = joist("validate", "rules", cwd=tmp_path)
    assert result.returncode == 1 and "companies_to_vendors.test.yaml:2" in result.stderr, result.stderr
    test.write_text(test.read_text().replace("rule: companies_to_vendor\n", "rule: companies_to_vendors\n"))
    result = joist("validate", "rules", cwd=tmp_path)
    assert result.returncode == 0 and "1 rule test file(s)" in result.stdout, result.stdout + result.stderr


def test_validate_passes_on_the_shipped_packs(joist: Any) -> None:
    result = joist("validate", "rules", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert f"{len(list((ROOT / 'rules').rglob('*.test.yaml')))} rule test file(s)" in result.stdout
