"""Under 10% injected faults a sync converges, over a few runs, to every record exactly once.

Faults on both sandboxes: 500s, 429s, connections dropped before the request ran and after
it ran (the response is lost), and on QBO a concurrent edit between Joist's read and its
update (a stale SyncToken, 5010). Failed records are retried when due: the state's clock is
the sandboxes' movable clock, moved an hour between runs.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from synckit import (
    VENDORS_TO_PROCORE,
    VENDORS_TO_QBO,
    World,
    costs_to_bills,
    expense_account,
    seed_direct_costs,
    seed_procore_vendors,
    seed_project,
    seed_qbo_vendors,
)

from sandbox.procore.resources import RESOURCES
from sandbox.qbo.app import US_REALM

FAULTS = {"error_rate": 0.025, "throttle_rate": 0.025, "drop_before_rate": 0.025, "drop_after_rate": 0.025}


def movable_state(world: World) -> None:
    clock = world.qbo.control.clock
    world.state.close()
    world.state = world.project.open_state(now=lambda: datetime.fromtimestamp(clock.now(), UTC))


def advance(world: World, seconds: float) -> None:
    world.qbo.control.clock.advance(seconds)
    world.procore.control.clock.advance(seconds)


def race_updates(world: World, rate: float, seed: int) -> list[str]:
    """Make a share of QBO updates meet a concurrent edit made in QBO just before they land."""
    qbo = world.connectors["qbo"]
    real_update, real_update_many = qbo.update, qbo.update_many
    rng = random.Random(seed)
    raced: list[str] = []

    def race(entity: str, record_id: str) -> None:
        if rng.random() < rate:
            current = world.qbo.store.realms[US_REALM].table(entity)[record_id]
            with world.qbo.store.lock:
                world.qbo.company(US_REALM).update(
                    entity,
                    {
                        "Id": record_id,
                        "SyncToken": current["SyncToken"],
                        "sparse": True,
                        "Notes": f"edited {len(raced)}",
                    },
                    set(),
                )
            raced.append(record_id)

    def update(entity: str, record_id: str, payload: dict[str, Any], **kw: Any) -> dict[str, Any]:
        race(entity, record_id)
        return real_update(entity, record_id, payload, **kw)

    def update_many(entity: str, items: list[Any]) -> list[Any]:
        for record_id, _, _ in items:
            race(entity, record_id)
        return real_update_many(entity, items)

    qbo.update, qbo.update_many = update, update_many  # type: ignore[method-assign]
    return raced


def converge(world: World, rules: Any, runs: int = 6) -> list[dict[str, int]]:
    totals = []
    for _ in range(runs):
        report = world.sync(rules)
        totals.append(dict(report.totals()))
        if report.ok and not world.state.failures() and not world.state.pending_intents():
            return totals
        advance(world, 3 * 3600)
    raise AssertionError(f"no convergence after {runs} runs: {totals}; failures {world.state.failures()[:5]}")


def test_ten_percent_faults_converge_to_exactly_once(world: World) -> None:
    movable_state(world)
    vendors = seed_procore_vendors(world.procore, 120)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 60)
    seed_qbo_vendors(world.qbo, 30)
    rules = world.rules(VENDORS_TO_QBO, VENDORS_TO_PROCORE, costs_to_bills(expense_account(world.qbo)))
    world.qbo.control.set_faults(**FAULTS, seed=11)
    world.procore.control.set_faults(**FAULTS, seed=12)
    raced = race_updates(world, 0.3, seed=13)

    converge(world, rules)
    injected = Counter(e.fault for box in (world.qbo, world.procore) for e in box.control.log.entries if e.fault)
    assert set(injected) == {"error", "throttle", "drop_before", "drop_after"}, injected

    # Then edits on both sides, under the same faults.
    advance(world, 3600)
    for vendor in vendors[:40]:
        record = world.procore.store.tables["vendors"][vendor["id"]]
        world.procore.store.update(RESOURCES["vendors"], record, {"email_address": f"new{vendor['id']}@example.com"})
    second = converge(world, rules)
    assert sum(t.get("update", 0) for t in second) >= 40, second
    assert raced, "some updates met a concurrent edit"

    world.qbo.control.set_faults()
    world.procore.control.set_faults()
    qbo = world.qbo_vendors()
    procore = world.procore_vendors()
    assert Counter(v["DisplayName"] for v in qbo) == Counter(v["name"] for v in procore)
    assert max(Counter(v["DisplayName"] for v in qbo).values()) == 1
    assert len(qbo) == 3 + 30 + 120
    by_id = {v["Id"]: v for v in qbo}
    for vendor in procore:
        link = world.state.find_link("vendors", procore_id=str(vendor["id"]))
        assert link is not None and by_id[link.qbo_id]["DisplayName"] == vendor["name"]
        assert by_id[link.qbo_id].get("PrimaryEmailAddr", {}).get("Address") == vendor.get("email_address")
    for vendor_id in set(raced):
        assert by_id[vendor_id]["Notes"].startswith("edited"), "the concurrent edit survives the re-planned update"
    bills = world.qbo_table("Bill")
    assert Counter(b["DocNumber"] for b in bills) == Counter(c["invoice_number"] for c in costs)

    world.clear_logs()
    report = world.sync(rules)
    assert report.ok and world.writes("qbo") == [] and world.writes("procore") == []
