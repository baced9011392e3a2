"""A twin deleted on the target is noticed and made again, or reported (issue 16, item 2).

A record whose source changed reads its twin: gone, it is created again through the usual
create behind its intent. `sync --full` (and `plan --full`) checks the twin of every linked
record, changed or not. `on_delete: report` keeps the link and reports M413 instead;
`joist explain` warns. Both sandboxes in-process; writes read from their request logs.
"""

from __future__ import annotations

from typing import Any

from synckit import (
    VENDORS_TO_QBO,
    World,
    costs_to_bills,
    expense_account,
    seed_direct_costs,
    seed_procore_vendors,
    seed_project,
)

from engine.project.session import Session
from engine.reports.explain import explain
from engine.state.records import intent_key
from sandbox.procore.resources import RESOURCES
from sandbox.qbo.app import US_REALM


def delete_bill(world: World, bill_id: str) -> None:
    current = world.qbo.store.realms[US_REALM].table("Bill")[bill_id]
    with world.qbo.store.lock:
        world.qbo.company(US_REALM).delete("Bill", {"Id": bill_id, "SyncToken": current["SyncToken"]})


def bill_of(world: World, cost: dict[str, Any]) -> str:
    link = world.state.find_link("bills", procore_id=str(cost["id"]))
    assert link and link.qbo_id
    return link.qbo_id


def setup(world: World, extra: str = "") -> tuple[Any, list[dict[str, Any]]]:
    vendors = seed_procore_vendors(world.procore, 2)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 3)
    rule = costs_to_bills(expense_account(world.qbo)).replace("links: bills", "links: bills" + extra)
    rules = world.rules(VENDORS_TO_QBO, rule)
    assert world.sync(rules).ok
    return rules, costs


def outcomes(report: Any) -> dict[str, Any]:
    return {o.source_id: o for f in report.flows if f.flow == "costs_to_bills" for o in f.outcomes}


def test_a_deleted_twin_is_made_again_when_read_and_under_full(world: World) -> None:
    rules, costs = setup(world)
    quiet, edited = bill_of(world, costs[0]), bill_of(world, costs[1])
    delete_bill(world, quiet)
    delete_bill(world, edited)
    world.procore.control.clock.advance(3600)
    store = world.procore.store
    store.update(RESOURCES["direct_costs"], store.tables["direct_costs"][costs[1]["id"]], {"invoice_number": "INV-R"})
    world.clear_logs()

    plan = outcomes(world.sync(rules, dry_run=True))
    assert plan[str(costs[1]["id"])].action == "create"
    assert plan[str(costs[1]["id"])].reason == f"twin gone: qbo Bill {edited} no longer exists; made again"
    assert str(costs[0]["id"]) not in plan, "an unchanged record is not read without --full"
    full_plan = outcomes(world.sync(rules, dry_run=True, full=True))
    assert {sid: o.action for sid, o in full_plan.items()} == {
        str(costs[0]["id"]): "create",
        str(costs[1]["id"]): "create",
    }
    assert full_plan[str(costs[0]["id"])].reason == f"twin gone: qbo Bill {quiet} no longer exists; made again"
    assert world.writes("qbo") == []

    synced = outcomes(world.sync(rules))
    assert synced[str(costs[1]["id"])].action == "create" and "twin gone" in (synced[str(costs[1]["id"])].reason or "")
    remade = bill_of(world, costs[1])
    assert remade != edited
    again = world.state.intent(intent_key("costs_to_bills", str(costs[1]["id"]), "again", edited))
    assert again is not None and again.state == "done" and again.target_id == remade, "made behind its intent"

    full = outcomes(world.sync(rules, full=True))
    assert full[str(costs[0]["id"])].action == "create"
    live = {b["Id"]: b for b in world.qbo_table("Bill")}
    assert len(live) == 3 and bill_of(world, costs[0]) in live and quiet not in live
    assert live[bill_of(world, costs[0])]["DocNumber"] == "INV-00000"
    world.clear_logs()
    assert world.sync(rules, full=True).totals()["create"] == 0 and world.writes("qbo") == []


def test_on_delete_report_reports_a_gone_twin_and_explain_warns(world: World) -> None:
    rules, costs = setup(world, "\n    on_delete: report")
    gone = bill_of(world, costs[0])
    delete_bill(world, gone)
    world.clear_logs()

    report = world.sync(rules, full=True)
    outcome = outcomes(report)[str(costs[0]["id"])]
    assert outcome.action == "error" and outcome.error and outcome.error["code"] == "M413"
    assert f"qbo Bill {gone} is gone" in (outcome.reason or "")
    assert world.writes("qbo") == []
    assert [(f.source_id, f.code) for f in world.state.failures()] == [(str(costs[0]["id"]), "M413")]
    assert bill_of(world, costs[0]) == gone, "the link is kept"

    session = Session(world.project, rules, world.state, world.transports)
    doc = explain(session, "costs_to_bills", str(costs[0]["id"]))
    assert (
        doc["warnings"] and f"Bill {gone} is gone" in doc["warnings"][0] and "on_delete: report" in doc["warnings"][0]
    )
    fine = explain(session, "costs_to_bills", str(costs[1]["id"]))
    assert fine["warnings"] == []


def test_full_finds_a_twin_that_entity_when_wrote_to_another_entity(world: World) -> None:
    vendors = seed_procore_vendors(world.procore, 2)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 3)
    target = (
        "target:\n      system: qbo\n      entity: Bill\n      entity_when:\n"
        "        VendorCredit: \"source.invoice_number == 'INV-00001'\""
    )
    rule = costs_to_bills(expense_account(world.qbo)).replace("target: {system: qbo, entity: Bill}", target)
    rules = world.rules(VENDORS_TO_QBO, rule)
    first = world.sync(rules)
    assert first.ok and [o.entity for o in outcomes(first).values()].count("VendorCredit") == 1
    world.procore.control.clock.advance(3600)
    store = world.procore.store
    store.update(
        RESOURCES["direct_costs"], store.tables["direct_costs"][costs[1]["id"]], {"direct_cost_date": "2024-04-02"}
    )

    changed = outcomes(world.sync(rules))  # the vendor credit's twin is read where it lives, not taken for gone
    assert changed[str(costs[1]["id"])].action == "update" and changed[str(costs[1]["id"])].entity == "VendorCredit"
    world.clear_logs()
    again = world.sync(rules, full=True)
    assert again.totals()["create"] == 0 and world.writes("qbo") == []
    credits = world.qbo_table("VendorCredit")
    assert len(credits) == 1 and credits[0]["TxnDate"] == "2024-04-02" and len(world.qbo_table("Bill")) == 2
