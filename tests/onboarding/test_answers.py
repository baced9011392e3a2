"""The answers of `joist onboard --answers FILE` and of the params step are checked before anything runs."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from engine.onboarding.questions import Question, check_answers


def _onboard(tmp_path: Path, text: str) -> str:
    answers = tmp_path / "answers.yaml"
    answers.write_text(text)
    result = CliRunner().invoke(main, ["--project", str(tmp_path / "nowhere"), "onboard", "--answers", str(answers)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    return result.output


def test_a_wrong_answers_file_is_reported_with_its_lines_before_any_step(tmp_path: Path) -> None:
    out = _onboard(
        tmp_path,
        "treshold: 0.9\nthreshold: 2\nrest: maybe\nreview:\n  - {link_set: vendors, source_id: '1', decision: keep}\n",
    )
    path = tmp_path / "answers.yaml"
    assert f"{path}:1  R131 unknown answer 'treshold'" in out and "did you mean 'threshold'?" in out
    assert f"{path}:2  R131 threshold must be a number above 0 and at most 1, not 2" in out
    assert f"{path}:3  R131 rest must be accept, create or ignore, not 'maybe'" in out
    assert "R131 review item 1: 'keep' is not a decision" in out
    assert "S610" not in out  # the file is checked before the project is looked for


def test_an_answers_file_that_is_not_yaml_says_where(tmp_path: Path) -> None:
    out = _onboard(tmp_path, "params: [a\n")
    assert f"{tmp_path / 'answers.yaml'}:2  R130 the answers file is not valid YAML" in out


def test_param_answers_must_name_a_record_among_the_choices() -> None:
    asked = [
        Question("retention_payable_account", ["f"], "", None, True, "qbo Account", [("12", "Retainage Payable")]),
        Question("retainage_receivable_item", ["g"], "the item", None, True, "qbo Item", [("5", "Retainage")]),
        Question("memo_prefix", ["f"], "", "x", False),
    ]
    errors = check_answers(asked, {"retention_payable_account": "Retainage Payable", "memo_prefx": "y"})
    text = "\n".join(e.format() for e in errors)
    assert [e.code for e in errors] == ["M430", "M432", "M431"]
    assert "that is the name of id 12; answer the id" in text
    assert "did you mean 'memo_prefix'?" in text
    assert "param retainage_receivable_item is required" in text
    assert check_answers(asked, {"retention_payable_account": "12", "retainage_receivable_item": "5"}) == []


def test_the_transfer_scenario_needs_both_sandboxes() -> None:
    result = CliRunner().invoke(main, ["sandbox", "up", "qbo", "--scenario", "transfer"])
    assert result.exit_code == 2 and "--scenario transfer seeds both sandboxes" in result.output


def test_the_params_step_sets_what_the_qbo_region_implies(tmp_path: Path) -> None:
    from sandbox_pair import sandbox_pair

    from engine.onboarding.steps import Onboarding

    with sandbox_pair(tmp_path / "p", packs=["joist:master", "joist:payables"]) as pair:
        wizard = Onboarding(pair.session)
        assert wizard.connect()["region"] == "US"
        assert wizard.regional() == {}  # the sandbox project already says US
        wizard._save("connect", {**wizard.settled()["connect"], "region": "AU"})  # as an AU realm reads
        done = wizard.params({})
        assert done["answers"] == {"qbo_region": "AU", "purchase_tax_calculation": "TaxExcluded"}
        text = (pair.project_dir / "joist.yaml").read_text()
        assert 'qbo_region: "AU"' in text and 'purchase_tax_calculation: "TaxExcluded"' in text
        assert pair.reopen().project.params["qbo_region"] == "AU"
