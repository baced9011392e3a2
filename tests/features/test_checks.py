"""`checks:` compares what the target holds after a write with the source's figure."""

from __future__ import annotations

from pathlib import Path

from sandbox_pair import sandbox_pair

RULE = """
flow: vendors_checked
direction: procore > qbo
source: {system: procore, entity: vendors, where: "source.is_active"}
target: {system: qbo, entity: Vendor}
links: vendors
checks:
  DisplayName: "{check}"
fields:
  DisplayName: "trim(source.name)"
  CompanyName: "source.name"
"""


def _pack(tmp_path: Path, check: str) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "vendors_checked.yaml").write_text(RULE.replace("{check}", check))
    return folder


def test_a_check_that_holds_lets_every_record_through(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=[str(_pack(tmp_path, "trim(source.name)"))]) as pair:
        report = pair.session.run(None)
        assert report.ok and report.totals()["create"] == 7
        assert pair.session.state.failures() == []


def test_a_mismatch_is_a_failure_showing_both_figures_and_the_record_stays_linked(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", packs=[str(_pack(tmp_path, "upper(source.name)"))]) as pair:
        report = pair.session.run(None)
        assert not report.ok
        assert report.totals()["error"] == 7 and report.totals()["create"] == 0
        failure = pair.session.state.failures()[0]
        assert failure.code == "M409"
        assert "qbo holds DisplayName = " in failure.message and "procore says " in failure.message
        # Linked, so a re-sync never creates a second vendor.
        assert pair.session.state.link_counts() == {"vendors": 7}
        pair.clear_logs()
        again = pair.reopen().run(None, retry_only=True)
        assert again.totals()["error"] == 7
        assert [w for w in pair.writes("qbo")] == []
