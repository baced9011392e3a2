"""Issue 16 item 13 end to end between the seeded sandboxes: records another connector
already wrote are adopted (`match:`), not created again and not imported back. An expense
direct cost whose QBO expense exists, a QBO expense or journal entry whose Procore direct
cost exists, a timecard whose QBO time activity exists (and that activity's payroll cost is
not counted twice); and the DocNumber adoption of estimates, invoices and purchase orders."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sandbox_pair import SandboxPair, sandbox_pair

from .test_costs_sync import RULES, _all, _conns, _costs, _errors, _flow, open_pair
from .test_receivables_support import MINE, PACKS, prepare, records, reopen

DATE = "2024-05-06"


@pytest.fixture
def costs(tmp_path: Path) -> Iterator[tuple[SandboxPair, dict[str, Any]]]:
    """Master, costs and time packs synced once, with every timecard approved but one."""
    from .test_time_sync import _approve_all_but_one

    packs = [str(RULES / "master"), str(RULES / "costs"), str(RULES / "time")]
    yield from open_pair(tmp_path / "project", packs, before=_approve_all_but_one)


def _wbs(pair: SandboxPair, ids: dict[str, Any], flat_code: str) -> int:
    procore, _ = _conns(pair)
    return next(
        w["id"]
        for w in _all(procore, "wbs_codes")
        if w["project_id"] == ids["project_id"] and w["flat_code"] == flat_code
    )


def _counts(pair: SandboxPair) -> tuple[int, int, int]:
    procore, qbo = _conns(pair)
    return len(_all(qbo, "Purchase")), len(_all(procore, "direct_costs")), len(_all(qbo, "TimeActivity"))


def _sync_writes_nothing_more(pair: SandboxPair) -> None:
    pair.clear_logs()
    report = pair.reopen().run(None)
    assert _errors(report) == []
    assert pair.writes("qbo") == [] and pair.writes("procore") == []


def test_an_expense_both_sides_already_have_is_adopted_both_ways(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = costs
    procore, qbo = _conns(pair)
    # another connector wrote this expense to both systems: a direct cost in Procore ...
    cost = procore.create(
        "direct_costs",
        {
            "project_id": ids["project_id"],
            "direct_cost_type": "expense",
            "status": "approved",
            "direct_cost_date": DATE,
            "description": "Rebar ties",
            "line_items": [
                {"description": "Rebar ties", "amount": "215.40", "wbs_code_id": _wbs(pair, ids, "06-100.M")}
            ],
        },
        idempotency_key="other-connector-dc-1",
    )
    # ... and its expense in QBO, on the project, paid from the account the pack pays from
    purchase = qbo.create(
        "Purchase",
        {
            "PaymentType": "Cash",
            "AccountRef": {"value": ids["Checking"]},
            "TxnDate": DATE,
            "PrivateNote": "Rebar ties (entered by the supplier feed)",
            "Line": [
                {
                    "Amount": Decimal("215.40"),
                    "DetailType": "ItemBasedExpenseLineDetail",
                    "ItemBasedExpenseLineDetail": {
                        "ItemRef": {"value": ids["item_06_100_M"]},
                        "CustomerRef": {"value": ids["customer"]},
                    },
                }
            ],
        },
        idempotency_key="other-connector-purchase-1",
    )
    before = _counts(pair)
    report = pair.reopen().run(None)
    assert _errors(report) == []
    assert _counts(pair) == before  # nothing made twice, nothing imported back
    link = pair.session.state.find_link("expense_costs", procore_id=str(cost["id"]))
    assert link is not None and (link.qbo_id, link.origin) == (purchase["Id"], "matched")
    # adopted by whichever of the two flows runs first: written over with the pack's mapping,
    # or shown as locked where the twin is frozen (the Procore cost has the other connector's origin_id)
    adopted = [o for name in ("expense_costs_to_purchases", "expenses_to_costs") for o in _flow(report, name).outcomes]
    assert [o.action for o in adopted] in (["update"], ["lock"], ["adopt"])
    _sync_writes_nothing_more(pair)
    assert _costs(pair).ok


def test_a_journal_entry_whose_direct_cost_exists_is_adopted(costs: tuple[SandboxPair, dict[str, Any]]) -> None:
    pair, ids = costs
    procore, qbo = _conns(pair)
    cost = procore.create(
        "direct_costs",
        {
            "project_id": ids["project_id"],
            "direct_cost_type": "expense",
            "status": "approved",
            "direct_cost_date": DATE,
            "description": "Equipment rental accrual",
            "line_items": [{"description": "Excavator, one week", "amount": "1400.00"}],
        },
        idempotency_key="other-connector-dc-2",
    )
    entry = qbo.create(
        "JournalEntry",
        {
            "TxnDate": DATE,
            "DocNumber": "JE-88",
            "PrivateNote": "Equipment rental accrual",
            "Line": [
                {
                    "Amount": Decimal("1400.00"),
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": {"value": ids["Job Expenses"]},
                        "Entity": {"Type": "Customer", "EntityRef": {"value": ids["customer"]}},
                    },
                },
                {
                    "Amount": Decimal("1400.00"),
                    "DetailType": "JournalEntryLineDetail",
                    "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": ids["Checking"]}},
                },
            ],
        },
        idempotency_key="other-connector-je-1",
    )
    before = _counts(pair)
    report = pair.reopen().run(None)
    assert _errors(report) == []
    assert _counts(pair) == before
    link = pair.session.state.find_link("journal_costs", qbo_id=entry["Id"])
    assert link is not None and link.procore_id == str(cost["id"])
    # adopted; the direct cost carries the other connector's origin_id, so Procore freezes it
    assert [o.action for o in _flow(report, "journal_entries_to_costs").outcomes] == ["lock"]
    # and it is not sent to QBO as an expense besides the journal entry
    assert pair.session.state.find_link("expense_costs", procore_id=str(cost["id"])) is None
    _sync_writes_nothing_more(pair)


def test_a_timecard_whose_time_activity_exists_is_adopted_and_its_cost_counted_once(
    costs: tuple[SandboxPair, dict[str, Any]],
) -> None:
    pair, ids = costs
    procore, qbo = _conns(pair)
    [pending] = [e for e in _all(procore, "timecard_entries") if e["approval_status"] != "approved"]
    procore.update(
        "timecard_entries",
        str(pending["id"]),
        {"approval_status": "approved"},
        scope={"project_id": pending["project_id"]},
    )
    employee = pair.session.state.resolver("employees", toward="qbo")(str(pending["party"]["id"]))
    hours = Decimal(pending["hours"])
    # the payroll connector already put this timecard in QBO, at the cost code's rate
    activity = qbo.create(
        "TimeActivity",
        {
            "NameOf": "Employee",
            "EmployeeRef": {"value": employee},
            "CustomerRef": {"value": ids["customer"]},
            "ItemRef": {"value": ids["item_01_100_L"]},
            "TxnDate": pending["date"],
            "Hours": int(hours),
            "Minutes": int((hours - int(hours)) * 60),
            "CostRate": Decimal("62.50"),
            "Description": "Site supervision (payroll connector)",
        },
        idempotency_key="other-connector-time-1",
    )
    purchases, costs_before, activities = _counts(pair)
    report = pair.reopen().run(None)
    assert _errors(report) == []
    link = pair.session.state.find_link("timecards", procore_id=str(pending["id"]))
    assert link is not None and link.qbo_id == activity["Id"]
    assert [o.action for o in _flow(report, "timecards_to_time_activities").outcomes] == ["update"]
    # one payroll cost for these hours (from the timecard) and its one payroll expense in QBO:
    # the adopted activity now carries Joist's memo, and is not imported back as a second cost
    assert _counts(pair) == (purchases + 1, costs_before + 1, activities)
    made = [
        o for f in ("timecards_to_payroll_costs", "time_activities_to_payroll_costs") for o in _flow(report, f).outcomes
    ]
    assert [(o.flow, o.action) for o in made] == [("timecards_to_payroll_costs", "create")]
    assert _costs(pair).ok
    _sync_writes_nothing_more(pair)


def test_estimates_invoices_and_purchase_orders_already_in_qbo_are_adopted_by_doc_number(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "project", packs=PACKS) as pair:
        prepare(pair)
        session = reopen(pair)
        assert [e for e in session.run("tag:master").flows if any(o.action == "error" for o in e.outcomes)] == []
        qbo = session.connectors({"qbo"})["qbo"]
        state = session.state
        procore = session.connectors({"procore"})["procore"]
        project = next(p for p in records(procore, "projects") if p["name"] == "Riverside Medical Office")
        customer = state.resolver("projects", toward="qbo")(str(project["id"]))
        item = next(i["Id"] for i in records(qbo, "Item") if i.get("Type") == "Service")
        sc1 = next(c for c in records(procore, "work_order_contracts") if c["number"] == "SC-001")
        vendor = state.resolver("vendors", toward="qbo")(str(sc1["vendor"]["id"]))
        line = {
            "Amount": Decimal("100.00"),
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item}},
        }
        made = {
            "Estimate": qbo.create(
                "Estimate",
                {"CustomerRef": {"value": customer}, "DocNumber": "PC-001", "Line": [line]},
                idempotency_key="e",
            ),
            "Invoice": qbo.create(
                "Invoice",
                {"CustomerRef": {"value": customer}, "DocNumber": "NSDC-2024-01", "Line": [line]},
                idempotency_key="i",
            ),
            "PurchaseOrder": qbo.create(
                "PurchaseOrder",
                {
                    "VendorRef": {"value": vendor},
                    "DocNumber": "SC-001",
                    "Line": [
                        {
                            "Amount": Decimal("100.00"),
                            "DetailType": "ItemBasedExpenseLineDetail",
                            "ItemBasedExpenseLineDetail": {
                                "ItemRef": {"value": item},
                                "CustomerRef": {"value": customer},
                            },
                        }
                    ],
                },
                idempotency_key="p",
            ),
        }
        report = reopen(pair).run(MINE)
        flows = {"Estimate": "prime_contracts_to_estimates", "Invoice": "owner_invoices_to_invoices"}
        flows["PurchaseOrder"] = "commitments_to_purchase_orders"
        qbo = pair.session.connectors({"qbo"})["qbo"]
        for entity, record in made.items():
            [twin] = [r for r in records(qbo, entity) if r.get("DocNumber") == record["DocNumber"]]  # not made twice
            assert twin["Id"] == record["Id"]
            outcomes = [o for o in _flow(report, flows[entity]).outcomes if o.target_id == record["Id"]]
            assert outcomes and outcomes[0].action in ("adopt", "update"), (entity, outcomes)
