"""The time pack end to end between the seeded sandboxes, with the master and costs packs.

Procore timecards become QBO time activities (hours and minutes exact) and, inside Procore,
payroll direct costs (hours x rate per cost code), which the costs pack sends to QBO as
payroll expenses. A time activity entered in QBO comes back as a payroll direct cost. The
time Joist wrote is never imported back, job cost is equal on both sides, and a re-sync
writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from sandbox_pair import SandboxPair

from engine.reports.explain import explain

from .test_costs_sync import RULES, _all, _conns, _costs, _errors, _flow, _set_params, open_pair

RATE_01_100 = Decimal("62.50")  # rules/lookups/time_rate_for_cost_code.csv


def _approve_all_but_one(pair: SandboxPair) -> None:
    """The superintendent approves this week's timecards, one excepted (the seed has them pending)."""
    _set_params(pair, time_approval_statuses="approved")
    procore, _ = _conns(pair)
    entries = sorted(_all(procore, "timecard_entries"), key=lambda e: e["id"])
    for entry in entries[:-1]:
        procore.update(
            "timecard_entries",
            str(entry["id"]),
            {"approval_status": "approved"},
            scope={"project_id": entry["project_id"]},
        )


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """Every flow of master, costs and time synced once, with five of the six timecards approved."""
    packs = [str(RULES / "master"), str(RULES / "costs"), str(RULES / "time")]
    yield from open_pair(tmp_path_factory.mktemp("time") / "project", packs, before=_approve_all_but_one)


def _timecards(pair: SandboxPair, status: str = "approved") -> list[dict[str, Any]]:
    procore, _ = _conns(pair)
    return [e for e in _all(procore, "timecard_entries") if e["approval_status"] == status]


def test_timecards_become_time_activities_with_exact_hours_and_minutes(
    timed: tuple[SandboxPair, dict[str, Any]],
) -> None:
    pair, ids = timed
    _, qbo = _conns(pair)
    state = pair.session.state
    employees = state.resolver("employees", toward="qbo")
    entries = _timecards(pair)
    assert len(entries) == 5
    (pending,) = _timecards(pair, "pending")
    assert state.find_link("timecards", procore_id=str(pending["id"])) is None
    assert state.find_link("timecard_costs", procore_id=str(pending["id"])) is None
    for entry in entries:
        link = state.find_link("timecards", procore_id=str(entry["id"]))
        activity = qbo.get("TimeActivity", link.qbo_id)
        hours = Decimal(entry["hours"])
        assert (activity["Hours"], activity["Minutes"]) == (int(hours), int((hours - int(hours)) * 60))
        assert activity["EmployeeRef"]["value"] == employees(str(entry["party"]["id"]))
        assert activity["CustomerRef"]["value"] == ids["customer"]
        assert activity["TxnDate"] == entry["date"]
    assert sorted((a["Hours"], a["Minutes"]) for a in _all(qbo, "TimeActivity")) == [(7, 30)] * 2 + [(8, 0)] * 3


def test_timecards_become_payroll_costs_inside_procore(timed: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = timed
    procore, qbo = _conns(pair)
    state = pair.session.state
    for entry in _timecards(pair):
        link = state.find_link("timecard_costs", procore_id=str(entry["id"]))
        # a flow inside one system keeps its target in the other column of the link
        assert link is not None and link.qbo_id and link.qbo_id != link.procore_id
        cost = procore.get("direct_costs", link.qbo_id, scope={"project_id": ids["project_id"]})
        # made inside Procore: no origin_id (which would freeze it), the create's key in origin_data
        assert cost["direct_cost_type"] == "payroll" and cost["origin_id"] is None
        assert cost["origin_data"].startswith("joist-key:")
        (line,) = cost["line_items"]
        assert line["cost_code"]["full_code"] == "01-100"
        assert line["amount"] == (Decimal(entry["hours"]) * RATE_01_100).quantize(Decimal("0.01"))
        # `joist explain` finds the same twin
        assert (
            explain(pair.session, "timecards_to_payroll_costs", str(entry["id"]))["target"]
            == f"procore.direct_costs {cost['id']}"
        )
        # ... and the costs pack sends each one to QBO as a payroll expense
        pushed = state.find_link("payroll_costs", procore_id=str(cost["id"]))
        assert qbo.get("Purchase", pushed.qbo_id)["TotalAmt"] == line["amount"]


def test_time_joist_wrote_is_not_imported_back(timed: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, _ = timed
    report = pair.session.run("time_activities_to_payroll_costs")
    flow = _flow(report, "time_activities_to_payroll_costs")
    assert flow.counts.get("create", 0) == 0
    assert pair.session.state.links("time_activity_costs") == []


def test_a_qbo_time_activity_becomes_a_payroll_cost_counted_once(timed: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = timed
    procore, qbo = _conns(pair)
    employee = next(e for e in _all(qbo, "Employee") if e["DisplayName"] == "Maria Lopez")
    activity = qbo.create(
        "TimeActivity",
        {
            "NameOf": "Employee",
            "EmployeeRef": {"value": employee["Id"]},
            "CustomerRef": {"value": ids["customer"]},
            "ItemRef": {"value": ids["item_01_100_L"]},
            "TxnDate": "2024-04-08",
            "Hours": 6,
            "Minutes": 20,
            "CostRate": Decimal("45.00"),
            "Description": "Punch list walk-through",
        },
        idempotency_key="test-time-qbo",
    )
    costs_before = len(_all(procore, "direct_costs"))
    purchases_before = len(_all(qbo, "Purchase"))
    report = pair.session.run(None)
    assert _errors(report) == []
    assert _flow(report, "time_activities_to_payroll_costs").counts["create"] == 1
    link = pair.session.state.find_link("time_activity_costs", qbo_id=activity["Id"])
    cost = procore.get("direct_costs", link.procore_id, scope={"project_id": ids["project_id"]})
    assert [(ln["amount"], ln["wbs_code"]["flat_code"]) for ln in cost["line_items"]] == [
        (Decimal("285.00"), "01-100.L")
    ]
    # one new cost in Procore, and it is not sent back to QBO as a payroll expense
    assert len(_all(procore, "direct_costs")) == costs_before + 1
    assert len(_all(qbo, "Purchase")) == purchases_before
    report = _costs(pair)
    assert report.ok, [r for r in report.rows if not r.equal]
    row = report.row(str(ids["project_id"]), "01-100")
    hours = sum((Decimal(e["hours"]) for e in _timecards(pair)), Decimal("0"))
    assert row.procore == row.qbo == Decimal("3120.00") + hours * RATE_01_100 + Decimal("285.00")


def test_a_resync_writes_nothing(timed: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, _ = timed
    pair.clear_logs()
    report = pair.reopen().run(None)
    assert _errors(report) == []
    assert pair.writes("qbo") == [] and pair.writes("procore") == []
    assert _costs(pair).ok


def test_corrected_hours_update_the_time_activity_the_payroll_cost_and_its_expense(
    timed: tuple[SandboxPair, dict[str, Any]],
) -> None:
    pair, ids = timed
    procore, _ = _conns(pair)
    entry = next(e for e in _timecards(pair) if Decimal(e["hours"]) == Decimal("7.5"))
    procore.update("timecard_entries", str(entry["id"]), {"hours": "6.25"}, scope={"project_id": ids["project_id"]})
    report = pair.reopen().run(None)
    assert _errors(report) == []
    procore, qbo = _conns(pair)
    state = pair.session.state
    link = state.find_link("timecards", procore_id=str(entry["id"]))
    activity = qbo.get("TimeActivity", link.qbo_id)
    assert (activity["Hours"], activity["Minutes"]) == (6, 15)
    # the payroll cost follows the corrected hours (not a stale, locked cost) ...
    [updated] = [o for o in _flow(report, "timecards_to_payroll_costs").outcomes if o.source_id == str(entry["id"])]
    assert updated.action == "update"
    cost_link = state.find_link("timecard_costs", procore_id=str(entry["id"]))
    cost = procore.get("direct_costs", cost_link.qbo_id, scope={"project_id": ids["project_id"]})
    (line,) = cost["line_items"]
    amount = (Decimal("6.25") * RATE_01_100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # 390.625
    assert (Decimal(line["quantity"]), line["amount"]) == (Decimal("6.25"), amount)
    # ... and so does its QBO payroll expense, in the same sync
    pushed = state.find_link("payroll_costs", procore_id=str(cost["id"]))
    assert qbo.get("Purchase", pushed.qbo_id)["TotalAmt"] == amount
    assert _costs(pair).ok
    pair.clear_logs()
    pair.reopen().run(None)
    assert pair.writes("qbo") == [] and pair.writes("procore") == []
