"""The twins a page of changed records is compared with are read many to a request
(`get_many`), not one request each, inactive names too. (A twin the query does not find
falls back to a read by id: tests/sync/test_twin_gone.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synckit import VENDORS_TO_QBO, World, seed_procore_vendors

from sandbox.procore.resources import RESOURCES
from sandbox.qbo.app import US_REALM


def synced_then_edited(world: World, count: int, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> tuple[Any, list]:
    """`count` Procore vendors synced to QBO, then each edited in Procore an hour later."""
    vendors = seed_procore_vendors(world.procore, count)
    rules = world.rules(VENDORS_TO_QBO)
    assert world.sync(rules).ok
    world.procore.control.clock.advance(3600)
    store = world.procore.store
    for v in vendors:
        store.update(RESOURCES["vendors"], store.tables["vendors"][v["id"]], edit(v))
    return rules, vendors


def test_changed_records_read_their_twins_in_a_few_queries(world: World) -> None:
    renamed: set[str] = set()

    def rename(v: dict[str, Any]) -> dict[str, Any]:
        renamed.add(str(v["name"]) + " Renamed")
        return {"name": str(v["name"]) + " Renamed"}

    rules, vendors = synced_then_edited(world, 40, rename)
    quiet = world.state.find_link("vendors", procore_id=str(vendors[0]["id"]))
    assert quiet and quiet.qbo_id
    realm = world.qbo.store.realms[US_REALM]
    with world.qbo.store.lock:
        current = realm.table("Vendor")[quiet.qbo_id]
        world.qbo.company(US_REALM).update(
            "Vendor", {"Id": quiet.qbo_id, "SyncToken": current["SyncToken"], "sparse": True, "Active": False}
        )
    world.clear_logs()

    report = world.sync(rules)
    assert report.ok
    actions = [o.action for f in report.flows for o in f.outcomes]
    assert actions.count("update") == 40 and actions.count("create") == 0  # the inactive twin was found
    reads = [e for e in world.requests("qbo") if e.method == "GET" and "/vendor/" in e.path]
    queries = [e for e in world.requests("qbo") if e.path.endswith("/query")]
    assert reads == [], "no twin is read by id"
    assert len(queries) <= 2
    names = {r["DisplayName"] for r in realm.table("Vendor").values()}
    assert renamed <= names


def test_a_failed_batch_of_updates_fails_its_records_and_the_next_run_writes_them(world: World) -> None:
    rules, vendors = synced_then_edited(world, 6, lambda v: {"email_address": f"new{v['id']}@x.example"})
    world.qbo.control.set_faults(error_rate=1.0, path_pattern=r"/batch$")  # every batch request answers 500

    failed = world.sync(rules)
    assert not failed.ok
    assert sorted(f.source_id for f in world.state.failures()) == sorted(str(v["id"]) for v in vendors)
    written = {(v.get("PrimaryEmailAddr") or {}).get("Address") for v in world.qbo_vendors()}
    assert not any(f"new{v['id']}@x.example" in written for v in vendors)

    world.qbo.control.set_faults()
    world.qbo.control.clock.advance(3 * 3600)  # past the retry backoff
    world.procore.control.clock.advance(3 * 3600)
    again = world.sync(rules)
    assert again.ok and world.state.failures() == []
    emails = {(v.get("PrimaryEmailAddr") or {}).get("Address") for v in world.qbo_vendors()}
    assert {f"new{v['id']}@x.example" for v in vendors} <= emails
