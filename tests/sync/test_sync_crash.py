"""Idempotent creates: a sync killed with SIGKILL anywhere is healed by the next run, never by a second create.

Each run is a child process (`crash_child.py`) talking to the sandboxes on loopback, killed by
`JOIST_CRASH_AT=<point>:<n>` at one of the engine's four crash points. After a resumed run,
every record exists exactly once on the target, every link points at its true twin and no
intent is left pending.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
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

CHILD = Path(__file__).with_name("crash_child.py")
REPO = Path(__file__).resolve().parents[2]


def run_child(world: World, rules_dir: Path, crash: str | None = None, **options: Any) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "JOIST_CRASH_AT"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if crash:
        env["JOIST_CRASH_AT"] = crash
    return subprocess.run(
        [sys.executable, str(CHILD), str(world.project_dir), str(rules_dir), json.dumps(options)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=str(world.project_dir),
    )


def killed(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == -signal.SIGKILL


def finished(result: subprocess.CompletedProcess) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_vendors_exactly_once_in_qbo(world: World, procore_vendors: list[dict[str, Any]]) -> None:
    qbo = {v["Id"]: v for v in world.qbo_vendors()}
    counts = Counter(v["DisplayName"] for v in qbo.values())
    for vendor in procore_vendors:
        assert counts[vendor["name"]] == 1, vendor["name"]
        link = world.state.find_link("vendors", procore_id=str(vendor["id"]))
        assert link is not None and link.qbo_id in qbo, vendor["name"]
        assert qbo[link.qbo_id]["DisplayName"] == vendor["name"]
    assert len({l.qbo_id for l in world.state.links("vendors")}) == len(world.state.links("vendors"))


def assert_clean_state(world: World) -> None:
    assert world.state.pending_intents() == []
    assert world.state.failures() == []


# (crash point, batch size, records per flow): batched creates replay a whole /batch by its
# requestid; single creates (batch size 1) replay one POST.
CRASHES = [
    ("after_read:1", 30, 40),
    ("after_intent:2", 30, 40),
    ("after_write:2", 30, 40),
    ("after_link:45", 30, 40),
    ("after_write:3", 1, 8),
]


@pytest.mark.parametrize(("crash", "batch_size", "count"), CRASHES, ids=[f"{c}-batch{b}" for c, b, _ in CRASHES])
def test_a_killed_sync_into_qbo_resumes_without_duplicates(
    loopback_world: World, crash: str, batch_size: int, count: int
) -> None:
    world = loopback_world
    vendors = seed_procore_vendors(world.procore, count)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, count)
    rules = world.rules_dir(VENDORS_TO_QBO, costs_to_bills(expense_account(world.qbo)))

    first = run_child(world, rules, crash, batch_size=batch_size)
    assert killed(first), (first.returncode, first.stdout, first.stderr[-2000:])
    if not crash.startswith("after_read"):
        assert world.state.pending_intents() or crash.startswith("after_link"), "the crash left a write in flight"
    resumed = finished(run_child(world, rules, batch_size=batch_size))
    assert resumed["ok"], resumed

    assert_vendors_exactly_once_in_qbo(world, vendors)
    bills = {b["Id"]: b for b in world.qbo_table("Bill")}
    assert sorted(b["DocNumber"] for b in bills.values()) == sorted(c["invoice_number"] for c in costs)
    for cost in costs:
        link = world.state.find_link("bills", procore_id=str(cost["id"]))
        assert link is not None and bills[link.qbo_id]["DocNumber"] == cost["invoice_number"]
        vendor_link = world.state.find_link("vendors", procore_id=str(cost["vendor_id"]))
        assert vendor_link and bills[link.qbo_id]["VendorRef"]["value"] == vendor_link.qbo_id
    assert_clean_state(world)
    if crash.startswith("after_write"):  # and the healed state is a normal one: a re-sync writes nothing
        world.clear_logs()
        again = finished(run_child(world, rules, batch_size=batch_size))
        assert again["totals"].get("create", 0) == 0 and world.writes("qbo") == []


PROCORE_CRASHES = ["after_read:1", "after_intent:5", "after_write:5", "after_link:5"]


@pytest.mark.parametrize("crash", PROCORE_CRASHES)
def test_a_killed_sync_into_procore_resumes_without_duplicates(loopback_world: World, crash: str) -> None:
    world = loopback_world
    seed_qbo_vendors(world.qbo, 20)
    rules = world.rules_dir(VENDORS_TO_PROCORE)

    first = run_child(world, rules, crash)
    assert killed(first), (first.returncode, first.stdout, first.stderr[-2000:])
    if crash.startswith(("after_intent", "after_write")):
        assert len(world.state.pending_intents()) == 1
    resumed = finished(run_child(world, rules))
    assert resumed["ok"], resumed

    procore = {str(v["id"]): v for v in world.procore_vendors()}
    qbo = world.qbo_vendors()
    assert Counter(v["name"] for v in procore.values()) == Counter(v["DisplayName"] for v in qbo)
    assert len(procore) == len(qbo) == 23
    for vendor in qbo:
        link = world.state.find_link("vendors", qbo_id=vendor["Id"])
        assert link is not None and procore[str(link.procore_id)]["name"] == vendor["DisplayName"]
        assert procore[str(link.procore_id)]["origin_id"], "created under its intent key"
    assert_clean_state(world)


def test_two_thousand_records_killed_twenty_times_end_exactly_once(loopback_world: World) -> None:
    """The crash test of the issue: SIGKILL at 20 points spread over the four kinds and the run."""
    world = loopback_world
    vendors = seed_procore_vendors(world.procore, 1500)
    costs = seed_direct_costs(world.procore, seed_project(world.procore), vendors, 500)
    rules = world.rules_dir(VENDORS_TO_QBO, costs_to_bills(expense_account(world.qbo)))
    options = {"batch_size": 30, "per_page": 100}
    kinds = ("after_read", "after_intent", "after_write", "after_link")
    progress = []
    for run in range(20):
        done = sum(world.state.link_counts().values())
        kind = kinds[run % 4]
        n = {"after_read": done // 100 + 2, "after_intent": 5, "after_write": 5, "after_link": 100}[kind]
        result = run_child(world, rules, f"{kind}:{n}", **options)
        assert killed(result), (run, kind, n, result.returncode, result.stderr[-2000:])
        progress.append((kind, n, done))
    assert Counter(kind for kind, _, _ in progress) == {k: 5 for k in kinds}
    assert progress[-1][2] > 1600, f"the kills reach the bills flow too: {progress}"

    resumed = finished(run_child(world, rules, **options))
    assert resumed["ok"], resumed
    assert_vendors_exactly_once_in_qbo(world, vendors)
    bills = {b["Id"]: b for b in world.qbo_table("Bill")}
    assert Counter(b["DocNumber"] for b in bills.values()) == Counter(c["invoice_number"] for c in costs)
    for cost in costs:
        link = world.state.find_link("bills", procore_id=str(cost["id"]))
        vendor_link = world.state.find_link("vendors", procore_id=str(cost["vendor_id"]))
        assert link is not None and vendor_link is not None
        assert bills[link.qbo_id]["DocNumber"] == cost["invoice_number"]
        assert bills[link.qbo_id]["VendorRef"]["value"] == vendor_link.qbo_id
    assert world.state.link_counts() == {"bills": 500, "vendors": 1500}
    assert_clean_state(world)


def use_rules_in_project(world: World, rules_dir: Path) -> None:
    """Point the project's joist.yaml at one rules folder instead of the shipped packs."""
    path = world.project_dir / "joist.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("packs:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    lines[start:end] = ["packs:", f"  - {rules_dir}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_cli(world: World, *args: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "JOIST_CRASH_AT"}
    if crash:
        env["JOIST_CRASH_AT"] = crash
    joist = Path(sys.executable).with_name("joist")
    return subprocess.run(
        [str(joist), "--project", str(world.project_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=str(world.project_dir),
    )


@pytest.mark.parametrize("crash", ["after_write:2", "after_link:35"])
def test_joist_sync_killed_and_run_again_creates_each_record_once(loopback_world: World, crash: str) -> None:
    world = loopback_world
    vendors = seed_procore_vendors(world.procore, 45)
    use_rules_in_project(world, world.rules_dir(VENDORS_TO_QBO))

    first = run_cli(world, "sync", "--json", crash=crash)
    assert killed(first), (first.returncode, first.stdout[-1000:], first.stderr[-2000:])
    again = run_cli(world, "sync", "--json")
    assert again.returncode == 0, again.stderr[-2000:] + again.stdout[-2000:]
    assert json.loads(again.stdout)["ok"] is True
    assert_vendors_exactly_once_in_qbo(world, vendors)
    assert_clean_state(world)
