"""schemas/rule.schema.json, the editors' schema, is generated from the catalogues and the strict schema.

- the committed file is what `python -m schemas.generate` writes now;
- every shipped rule, every example override layer and every rule test validates
  (jsonschema), so an editor flags none of them;
- entities complete per system and fields per target entity; a wrong entity is flagged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.language.rules import rule_files
from schemas.generate import TARGET, render

ROOT = Path(__file__).resolve().parents[2]
RULES = Draft202012Validator(json.loads((ROOT / "schemas" / "rule.schema.json").read_text()))
TESTS = Draft202012Validator(json.loads((ROOT / "schemas" / "ruletest.schema.json").read_text()))
RULE_FILES = rule_files([ROOT / "rules", ROOT / "examples"])
TEST_FILES = sorted([*(ROOT / "rules").rglob("*.test.yaml"), *(ROOT / "examples").rglob("*.test.yaml")])


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_committed_schema_is_the_generated_one() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "regenerate it: .venv/bin/python -m schemas.generate"


def test_there_are_override_layers_among_the_examples() -> None:
    overrides = [p for p in RULE_FILES if "examples" in p.parts and "direction" not in _load(p)]
    assert overrides, "examples/acme holds override layers (flow and a few keys)"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shipped_rule_and_example_override_validates(path: Path) -> None:
    problems = [e.message for e in RULES.iter_errors(_load(path))]
    assert not problems, problems[:3]


@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_rule_test_validates(path: Path) -> None:
    problems = [e.message for e in TESTS.iter_errors(_load(path))]
    assert not problems, problems[:3]


def test_entities_and_fields_complete_from_the_catalogue() -> None:
    schema = RULES.schema
    choices = {
        branch["if"]["properties"]["system"]["const"]: branch["then"]["properties"]["entity"]["enum"]
        for branch in schema["$defs"]["target"]["allOf"]
    }
    assert "Vendor" in choices["qbo"] and "vendors" in choices["procore"]
    vendor = next(
        branch["then"]["properties"]["fields"]["properties"]
        for branch in schema["$defs"]["rule"]["allOf"]
        if branch["if"]["properties"]["target"]["properties"]["entity"]["const"] == "Vendor"
    )
    assert vendor["DisplayName"]["description"] == "string"
    assert "PrimaryEmailAddr.Address" in vendor and "BillAddr.City" in vendor


def test_a_wrong_entity_is_flagged() -> None:
    rule = _load(ROOT / "rules" / "master" / "companies_to_vendors.yaml")
    assert RULES.is_valid(rule)
    rule["target"]["entity"] = "Vendors"
    assert not RULES.is_valid(rule)
