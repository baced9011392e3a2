"""A changed rule or param reaches records already synced (issue 16, item 1).

Each link keeps the fingerprint of the rule (every layer) and the params behind its last
write; a different fingerprint makes the record an update candidate even though its source
did not move. Shown against both sandboxes in-process, writes counted in their request logs.
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

from engine.language.rules import RuleSet
from engine.sync.report import RunReport
from engine.sync.run import Sync
from sandbox.qbo.app import US_REALM

UPPER_VENDORS = VENDORS_TO_QBO.replace('CompanyName: "source.name"', 'CompanyName: "upper(source.name)"')


def other_expense_account(world: World, not_this: str) -> str:
    for account in world.qbo_table("Account"):
        if account.get("AccountType") == "Expense" and str(account["Id"]) != not_this:
            return str(account["Id"])
    raise LookupError("the QBO sandbox has one expense account only")


def run(
    world: World, rules: RuleSet, params: dict[str, Any], *, full: bool = False, dry_run: bool = False
) -> RunReport:
    return Sync(rules, world.connectors, world.state, params=params, dry_run=dry_run).run(None, full=full)


def by_flow(report: RunReport, flow: str) -> dict[str, Any]:
    return {o.source_id: o for f in report.flows if f.flow == flow for o in f.outcomes}


def test_a_changed_rule_or_param_updates_synced_records_and_only_once(world: World) -> None:
    vendors = seed_procore_vendors(world.procore, 3)
    seed_direct_costs(world.procore, seed_project(world.procore), vendors, 2)
    account = expense_account(world.qbo)
    assert world.sync(world.rules(VENDORS_TO_QBO, costs_to_bills(account))).totals()["create"] == 5
    world.clear_logs()

    changed = world.rules(UPPER_VENDORS, costs_to_bills(account))
    plan = world.sync(changed, dry_run=True)
    updates = by_flow(plan, "vendors_to_qbo")
    assert len(updates) == 3 and {o.action for o in updates.values()} == {"update"}
    assert {o.reason for o in updates.values()} == {"rule changed"}
    assert all([c.path for c in o.changes] == ["CompanyName"] for o in updates.values())
    first = next(iter(updates.values()))
    assert first.changes[0].new == str(first.changes[0].old).upper()
    assert plan.flows[1].skip_reasons == {"unchanged since the last sync": 2}
    assert world.writes("qbo") == []

    report = world.sync(changed)
    assert report.totals()["update"] == 3 and report.ok
    assert sorted(v["CompanyName"] for v in world.qbo_vendors() if v["DisplayName"].startswith("Sub")) == [
        f"SUB {n:05d} LTD" for n in range(3)
    ]
    world.clear_logs()
    again = world.sync(changed)
    assert again.totals()["update"] == 0 and world.writes("qbo") == []

    # A param the rule reads: every bill moves to the new account, also through --full.
    moved = other_expense_account(world, account)
    params = {**world.project.params, "expense_account": moved}
    plan = run(world, changed, params, dry_run=True)
    bills = by_flow(plan, "costs_to_bills")
    assert {o.action for o in bills.values()} == {"update"} and len(bills) == 2
    assert {o.reason for o in bills.values()} == {"rule changed"}
    assert all(c.path.endswith("AccountRef.value") for o in bills.values() for c in o.changes)
    assert run(world, changed, params, full=True).totals()["update"] == 2
    lines = [
        line for bill in world.qbo_table("Bill") for line in bill["Line"] if "AccountBasedExpenseLineDetail" in line
    ]
    assert {line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] for line in lines} == {moved}
    world.clear_logs()
    assert run(world, changed, params, full=True).totals()["update"] == 0 and world.writes("qbo") == []


def test_a_changed_rule_with_the_same_payload_writes_nothing_and_keeps_the_new_fingerprint(world: World) -> None:
    seed_procore_vendors(world.procore, 2)
    world.sync(world.rules(UPPER_VENDORS))
    before = {link.procore_id: link.qbo_rule for link in world.state.links("vendors")}
    same_output = UPPER_VENDORS.replace("upper(source.name)", "upper(trim(source.name))")
    rules = world.rules(same_output)
    world.clear_logs()

    report = world.sync(rules)
    assert report.totals()["update"] == 0 and world.writes("qbo") == []
    after = {link.procore_id: link.qbo_rule for link in world.state.links("vendors")}
    assert set(after) == set(before) and all(after[k] and after[k] != before[k] for k in after)
    world.clear_logs()
    quiet = world.sync(rules)
    assert quiet.flows[0].skip_reasons == {"unchanged since the last sync": 2}
    assert not any("/vendor/" in e.path.lower() for e in world.requests("qbo")), "the twin is not even read"


def test_links_from_before_fingerprints_adopt_the_current_rule_without_writing(world: World) -> None:
    seed_procore_vendors(world.procore, 3)
    world.sync(world.rules(VENDORS_TO_QBO))
    world.state.execute("UPDATE links SET qbo_rule = NULL, procore_rule = NULL")  # as the migration leaves them
    changed = world.rules(UPPER_VENDORS)
    world.clear_logs()

    upgraded = world.sync(changed)
    assert upgraded.totals()["update"] == 0 and world.writes("qbo") == []
    assert all(link.qbo_rule for link in world.state.links("vendors"))
    # From now on a change counts (the twins still hold the names as written before the upgrade).
    assert world.sync(world.rules(UPPER_VENDORS)).totals()["update"] == 0
    assert world.sync(world.rules(UPPER_VENDORS.replace("upper(", "lower("))).totals()["update"] == 3


def test_a_locked_record_stays_locked_when_the_rule_changes(world: World) -> None:
    vendors = seed_procore_vendors(world.procore, 2)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 2)
    lock = "links: bills\n    lock_when: \"target.PrivateNote == 'approved for payment'\""
    rule = costs_to_bills(expense_account(world.qbo)).replace("links: bills", lock)
    world.sync(world.rules(VENDORS_TO_QBO, rule))
    frozen = world.state.find_link("bills", procore_id=str(costs[0]["id"]))
    assert frozen and frozen.qbo_id
    current = world.qbo.store.realms[US_REALM].table("Bill")[frozen.qbo_id]
    with world.qbo.store.lock:
        world.qbo.company(US_REALM).update(
            "Bill",
            {
                "Id": frozen.qbo_id,
                "SyncToken": current["SyncToken"],
                "sparse": True,
                "PrivateNote": "approved for payment",
            },
            set(),
        )
    changed = world.rules(
        VENDORS_TO_QBO, rule.replace('Description: "item.description"', 'Description: "upper(item.description)"')
    )
    world.clear_logs()

    report = world.sync(changed, ["costs_to_bills"])
    outcomes = by_flow(report, "costs_to_bills")
    assert outcomes[str(costs[0]["id"])].action == "lock"
    assert outcomes[str(costs[0]["id"])].reason == "lock_when is true: target.PrivateNote == 'approved for payment'"
    assert outcomes[str(costs[1]["id"])].action == "update"
    assert outcomes[str(costs[1]["id"])].reason == "rule changed"
    assert len(world.writes("qbo")) == 1
    assert world.qbo_table("Bill") and [
        line["Description"]
        for line in world.qbo.store.realms[US_REALM].table("Bill")[frozen.qbo_id]["Line"]
        if "Description" in line
    ] == ["Work 0"]
