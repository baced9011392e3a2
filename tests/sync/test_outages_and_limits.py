"""A system that is down, or whose rate limit resets late, costs a run seconds, never minutes or a day.

- QBO down (a closed port on 127.0.0.1): after a few connection failures in a row the run
  stops calling it; every record it held up is kept as waiting with the reason, and
  `joist sync` exits 1 naming the address, the last error and "is it running?". Real time,
  real sockets: this is what a user waits through.
- Procore's hourly budget used up: a reset within `runs.rate_limit_wait` is waited for and
  announced with its reset time; a later one stops calling Procore at once (C502 with the
  reset time) instead of sleeping until then. The sandbox clock moves instead of real time.
"""

from __future__ import annotations

import logging
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from synckit import BASES, VENDORS_TO_PROCORE, VENDORS_TO_QBO, World, seed_procore_vendors, seed_qbo_vendors

from engine.project.config import load_project
from engine.project.writing import write_sandbox_project
from engine.state.store import SQLiteState
from sandbox.server import ServerThread, create, free_port
from sandbox.transport import InProcessTransport

REPO = Path(__file__).resolve().parents[2]

VENDORS_MATCHED = VENDORS_TO_QBO + '    match:\n      DisplayName: "source.name"\n'


def test_an_unreachable_qbo_stops_the_run_in_seconds(tmp_path: Path) -> None:
    procore = create("procore", seed=False, deliver_webhooks=False)
    qbo = create("qbo")
    vendors = seed_procore_vendors(procore, 14)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "vendors.yaml").write_text(VENDORS_MATCHED.replace("\n    ", "\n").lstrip(), encoding="utf-8")
    with ServerThread(procore.app) as server:
        project = tmp_path / "project"
        write_sandbox_project(
            project, {"procore": procore.connection_info(server.base_url), "qbo": qbo.connection_info(closed)}
        )
        # A live access token, as a project has between runs: the calls go to the API, not the token endpoint.
        tokens = load_project(project).token_store()
        key = f"qbo:{qbo.connection_info(closed)['realm_id']}"
        tokens.save(key, {**(tokens.load(key) or {}), "access_token": "still-valid", "expires_at": time.time() + 3600})
        doc = yaml.safe_load((project / "joist.yaml").read_text())
        doc["packs"] = [str(rules)]
        (project / "joist.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(REPO / "cli.py"), "--project", str(project), "sync"],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        took = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-3000:]
    assert took < 20, f"the outage cost {took:.0f}s"
    assert "C508" in result.stderr and closed in result.stderr, result.stderr[-3000:]
    assert "is it running?" in result.stderr and "ConnectError" in result.stderr
    assert "Traceback" not in result.stderr
    with SQLiteState(project / ".joist" / "state.db") as state:
        waiting = state.failures("vendors_to_qbo")
    assert sorted(f.source_id for f in waiting) == sorted(str(v["id"]) for v in vendors)
    # The calls that met the outage first fail with their own connection error; the rest are not even tried.
    assert all("ConnectError" in f.message for f in waiting), [(f.code, f.message) for f in waiting]
    assert sum(f.code == "C508" and closed in f.message for f in waiting) >= len(vendors) - 3


@pytest.fixture
def limited(tmp_path: Path) -> World:
    """In-process sandboxes; Procore allows 8 calls an hour and its clock stands 100 s into an hour."""
    boxes = {
        "procore": create("procore", seed=False, deliver_webhooks=False, hourly_limit=8, spike_limit=1000),
        "qbo": create("qbo"),
    }
    clock = boxes["procore"].control.clock
    clock.set(math.floor(clock.now() / 3600) * 3600 + 3600 + 100)
    world = World(tmp_path, boxes, BASES, {n: InProcessTransport(b.app) for n, b in boxes.items()})
    return world


def _clocks(world: World) -> float:
    return world.procore.control.clock.now()


def test_a_rate_limit_resetting_past_the_cap_stops_calling_procore(
    limited: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = limited
    seed_qbo_vendors(world.qbo, 12)
    world.connectors = world.connect(procore={"rate_limit_wait": 900})
    before = _clocks(world)
    report = world.sync(world.rules(VENDORS_TO_PROCORE))
    assert _clocks(world) - before < 120, "waited for the reset an hour ahead"
    halted = world.connectors["procore"].halted
    assert halted is not None and halted.code == "C502", halted
    assert "rate limit is used up until" in halted.message and "longer than the 15m a run waits" in halted.message
    failed = [f for f in world.state.failures() if f.code == "C502"]
    assert failed and report.totals()["error"] == len(failed) and report.totals()["create"] > 0


def test_a_rate_limit_resetting_within_the_cap_is_waited_for_and_shown(
    limited: World, caplog: pytest.LogCaptureFixture
) -> None:
    world = limited
    seed_qbo_vendors(world.qbo, 12)
    world.connectors = world.connect(procore={"rate_limit_wait": 3600})
    with caplog.at_level(logging.INFO, logger="joist.connectors"):
        report = world.sync(world.rules(VENDORS_TO_PROCORE))
    assert report.ok and world.connectors["procore"].halted is None
    shown = [r.getMessage() for r in caplog.records if "rate limit is used up" in r.getMessage()]
    assert shown and re.search(r"waiting \d+m( \d+s)?, until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", shown[0]), shown
