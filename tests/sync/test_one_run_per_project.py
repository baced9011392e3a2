"""One run per project: `joist sync` started three times at once never duplicates a record.

The three runs are real `joist sync` processes on one project whose sandboxes are served on
127.0.0.1. Each round adds a new vendor on both sides, so every round has creates to make
in both directions (the two-way vendor flows share one link set): without the project lock
a second run sees the first one's fresh create on the other side, without its link yet, and
creates it back. With the lock the second and third run wait for the first, then find
nothing left to do, or give up with the "held by" message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from synckit import VENDORS_TO_PROCORE, VENDORS_TO_QBO, World, seed_procore_vendors, seed_qbo_vendors

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20
AT_ONCE = 3


def use_rules(world: World, rules_dir: Path) -> None:
    """Point the project's joist.yaml at one rules folder (keeping the sandbox marker line)."""
    path = world.project_dir / "joist.yaml"
    text = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(text)
    doc["packs"] = [str(rules_dir)]
    header = "".join(line + "\n" for line in text.splitlines()[:2] if line.startswith("#"))
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def joist(world: World, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "--project", str(world.project_dir), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=str(world.project_dir),
    )


def duplicates(world: World) -> dict[str, list[str]]:
    procore = Counter(v["name"] for v in world.procore_vendors())
    qbo = Counter(v["DisplayName"] for v in world.qbo_vendors())
    return {
        "procore": sorted(n for n, c in procore.items() if c > 1),
        "qbo": sorted(n for n, c in qbo.items() if c > 1),
    }


@pytest.mark.slow
def test_three_syncs_at_once_never_duplicate(loopback_world: World) -> None:
    world = loopback_world
    use_rules(world, world.rules_dir(VENDORS_TO_QBO, VENDORS_TO_PROCORE))
    for round_no in range(ROUNDS):
        seed_procore_vendors(world.procore, 1, prefix="Sub", start=round_no)
        seed_qbo_vendors(world.qbo, 1, prefix="Supplier", start=round_no)
        runs = [joist(world, "sync", "--json") for _ in range(AT_ONCE)]
        for run in runs:
            out, err = run.communicate(timeout=120)
            held = "held by" in err
            assert run.returncode == 0 or (run.returncode == 1 and held), (round_no, run.returncode, err[-2000:])
        assert duplicates(world) == {"procore": [], "qbo": []}, f"round {round_no}"
    assert {v["name"] for v in world.procore_vendors()} == {v["DisplayName"] for v in world.qbo_vendors()}
    world.clear_logs()
    last = joist(world, "sync", "--json")
    _, err = last.communicate(timeout=120)
    assert last.returncode == 0, err[-2000:]
    assert world.writes("procore") == [] and world.writes("qbo") == []
