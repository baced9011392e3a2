"""What `plan`, `sync`, `retry` and `explain` print fits an 80-column terminal and says what it means.

- flow names are never cut (the longest shipped one has 42 characters);
- the summary lists only flows that did something (`--verbose` lists all) and says what
  blank and `-` mean; `plan` ends with a Terraform-style total, `sync` with its elapsed
  time and a one-line verdict; a `retry` with nothing to do is one line;
- `explain` is one block per field; a field inside a list names the element it came from,
  and its twin value is the twin's matching line (QBO's own subtotal line left out).
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from sandbox_pair import sandbox_pair

from connectors.qbo.entities import is_subtotal_line
from engine.mapping.mapper import Mapper
from engine.reports.explain import twin_value
from engine.sync.report import FlowReport, RunReport
from terminal.explain import print_explanation
from terminal.runs import plan_total_line, print_plan, print_summary, run_verdict

LONGEST = "qbo_vendor_credits_to_invoice_direct_costs"


def _render(draw: Any) -> list[str]:
    console = Console(width=80, file=io.StringIO(), record=True, color_system=None, force_terminal=False)
    draw(console)
    return console.export_text().splitlines()


def _report(command: str = "sync") -> RunReport:
    busy = FlowReport(
        LONGEST, counts=Counter(create=120, update=3, adopt=2, delete=1, skip=40, lock=2, defer=4, error=1)
    )
    idle = FlowReport("companies_to_vendors", counts=Counter(skip=14))
    off = FlowReport("projects_to_locations", disabled="enabled is false: params.locations")
    return RunReport(command, flows=[busy, idle, off], run_id=7)


def test_the_summary_fits_80_columns_with_whole_flow_names() -> None:
    lines = _render(lambda c: print_summary(_report(), c))
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = " ".join(" ".join(lines).split())
    assert LONGEST in text and "companies_to_vendors" not in text and "projects_to_locations" not in text
    assert "…" not in text and f"{LONGEST} 120 3 2 1 40 2 4 1" in text  # every count whole
    assert "2 more flows had nothing to do (--verbose lists them)" in text
    assert "blank: none." in text
    verbose = "\n".join(_render(lambda c: print_summary(_report(), c, verbose=True)))
    assert "companies_to_vendors" in verbose and "projects_to_locations" in verbose
    assert "-: the flow is off" in verbose


def test_nothing_to_do_is_one_line() -> None:
    quiet = RunReport("sync", flows=[FlowReport("companies_to_vendors", counts=Counter(skip=3))])
    assert _render(lambda c: print_summary(quiet, c)) == ["sync: nothing to do in 1 flow (--verbose lists them)"]


def test_plan_ends_with_a_total_line_and_sync_with_a_verdict() -> None:
    report = _report("plan")
    assert plan_total_line(report) == (
        "Plan: 120 to create, 3 to update, 1 to delete, 2 locked, 2 to adopt, 4 waiting for a link, 1 with errors."
    )
    lines = _render(lambda c: print_plan(report, c))
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert " ".join(" ".join(lines).split()).endswith(plan_total_line(report))
    verdict = run_verdict(_report(), 12.34)
    assert verdict.startswith("sync finished in 12.3 s: 126 records written, 4 waiting for a link; 1 failed")
    ok = RunReport("sync", flows=[FlowReport("companies_to_vendors", counts=Counter(create=2))])
    assert run_verdict(ok, 0.5) == "sync finished in 0.5 s: 2 records written; nothing failed."


LINES_RULE = """\
flow: bills
direction: procore > qbo
source: {system: procore, entity: requisitions}
target: {system: qbo, entity: Bill}
fields:
  DocNumber: "source.invoice_number"
  Line:
    - each: "source.items"
      when: "item.description_of_work != 'skip me'"
      fields:
        DetailType: {const: ItemBasedExpenseLineDetail}
        Description: "item.description_of_work"
"""


def test_explain_names_the_list_element_and_the_matching_twin_line(tmp_path: Path) -> None:
    from engine.language.loading import load_rules

    (tmp_path / "bills.yaml").write_text(LINES_RULE)
    rule = load_rules([("mine", [tmp_path])])["bills"]
    record = {
        "id": 1,
        "invoice_number": "INV-1",
        "items": [{"description_of_work": "skip me"}, {"description_of_work": "Concrete"}],
    }
    twin = {
        "DocNumber": "INV-1",
        "Line": [
            {"DetailType": "SubTotalLineDetail", "Description": "subtotal"},  # QBO's own line
            {"DetailType": "ItemBasedExpenseLineDetail", "Description": "Concrete (old)"},
        ],
    }
    traces = {t.path: t for t in Mapper(rule, {}, {}).explain(record, target=twin)}
    line = traces["Line[0].Description"]
    assert line.item == "source.items[1]" and line.value == "Concrete"
    assert twin_value(twin, "Line[0].Description", is_subtotal_line) == "Concrete (old)"
    doc = {
        "flow": "bills",
        "source": "procore.requisitions 1",
        "target": "qbo.Bill 183",
        "outcome": "mapped",
        "reason": None,
        "locked": False,
        "lock_reason": None,
        "linked": True,
        "fields": [
            {
                "field": t.path,
                "layer": t.layer,
                "defined_at": t.location,
                "expression": t.expression,
                "kind": t.kind,
                "reads": t.reads,
                "value": t.value,
                "twin": twin_value(twin, t.path, is_subtotal_line),
                "item": t.item,
            }
            for t in traces.values()
        ],
    }
    lines = _render(lambda c: print_explanation(doc, c))
    assert all(len(x) <= 80 for x in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "Line[0].Description = Concrete  (twin now: Concrete (old))" in text
    assert "for source.items[1]" in text and "DocNumber = INV-1  (twin: same)" in text


def test_retry_with_nothing_to_do_says_so_in_one_line(tmp_path: Path, joist: Any) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        result = joist("--project", str(pair.project_dir), "retry")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["nothing to retry: no record failed or waits for a link"]
