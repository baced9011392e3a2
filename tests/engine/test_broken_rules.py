"""tests/broken_rules: each broken rule gives its documented errors, in order, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.errors import ErrorGroup, JoistError
from engine.language.loading import load_rules

FOLDER = Path(__file__).resolve().parents[1] / "broken_rules"
EXPECTED: dict[str, Any] = yaml.safe_load((FOLDER / "_expected.yaml").read_text(encoding="utf-8"))


def cases_on_disk() -> set[str]:
    return {p.name for p in FOLDER.iterdir() if not p.name.startswith("_") and p.name != "lookups"}


def test_every_broken_rule_is_listed_and_every_listed_one_exists() -> None:
    assert cases_on_disk() == set(EXPECTED)


def test_each_single_file_case_states_its_problem() -> None:
    for name in cases_on_disk():
        path = FOLDER / name
        files = [path] if path.is_file() else sorted(path.glob("*.yaml"))
        for f in files:
            assert f.read_text(encoding="utf-8").startswith("# "), f"{f} should say what is wrong in a comment"


def check(error: JoistError, want: dict[str, Any], case: Path) -> None:
    text = error.format()
    file = case / want["file"] if "file" in want else case
    assert error.code == want["code"], text
    assert error.location.file == str(file), text
    assert (error.location.line, error.location.col) == (want["line"], want["col"]), text
    assert text.startswith(f"{file}:{want['line']}:{want['col']}  {want['code']} "), text
    if "message" in want:
        assert want["message"] in error.message, text
    if "hint" in want:
        assert error.hint and want["hint"] in error.hint, text
    assert "Traceback" not in text


def load(case: Path) -> tuple[list[JoistError], list[JoistError]]:
    try:
        ruleset = load_rules([("broken", [case])])
    except ErrorGroup as group:
        return group.errors, []
    except JoistError as exc:  # a lone JoistError is still a clean report
        return [exc], []
    except Exception as exc:  # anything else would reach the user as a traceback
        pytest.fail(f"{case.name}: {type(exc).__name__} escaped: {exc}")
    return [], ruleset.warnings


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_rule(name: str) -> None:
    case = FOLDER / name
    want = EXPECTED[name]
    errors, warnings = load(case)
    if isinstance(want, dict):
        assert errors == [], "\n".join(e.format() for e in errors)
        want_errors, want_warnings = [], want.get("warnings", [])
    else:
        want_errors, want_warnings = want, []
    report = "\n".join(e.format() for e in errors + warnings)
    assert [e.code for e in errors] == [w["code"] for w in want_errors], report
    assert [e.code for e in warnings] == [w["code"] for w in want_warnings], report
    for error, expected in zip(errors + warnings, want_errors + want_warnings):
        check(error, expected, case)
    assert errors == sorted(errors, key=lambda e: e.sort_key())
