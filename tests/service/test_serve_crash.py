"""`joist serve` killed with SIGKILL ten times while 500 changes stream in from Procore:
after the last restart every change reached QBO exactly once and the inbox is empty."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sandbox_pair import sandbox_pair
from servekit import Served, inbox_rows, person, wait_for

pytestmark = pytest.mark.slow
CHANGES = 500
KILLS = 10


@pytest.fixture(params=("sqlite", "postgresql"))
def state_url(request: pytest.FixtureRequest) -> str | None:
    """The service's inbox and state on each backend: None keeps .joist/state.db."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_server").fresh_url())


def test_serve_killed_ten_times_loses_and_repeats_nothing(tmp_path: Path, state_url: str | None) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True, packs=["joist:master"], state=state_url) as pair:
        assert pair.session.state.backend == ("postgresql" if state_url else "sqlite")
        assert pair.session.run(None).ok
        desk = person(pair.boxes["procore"], pair.servers["procore"].base_url)
        service = Served(pair.project_dir, poll_every=5).start()
        names = [f"Crash Stream Vendor {n:03d}" for n in range(CHANGES)]
        made: list[str] = []

        def stream() -> None:
            for n, name in enumerate(names):
                made.append(str(desk.create("vendors", {"name": name}, idempotency_key=f"crash-{n}")["id"]))
                time.sleep(0.01)

        writer = threading.Thread(target=stream)
        writer.start()
        for _ in range(KILLS):
            time.sleep(0.6)
            service.kill()
            service = Served(pair.project_dir, poll_every=5, port=service.port).start()
        writer.join()
        try:
            qbo = pair.session.connectors({"qbo"})["qbo"]

            def all_there() -> bool:
                seen = [v["DisplayName"] for v in qbo.find("Vendor") if v["DisplayName"].startswith("Crash Stream")]
                return len(seen) >= CHANGES

            wait_for(all_there, timeout=180, what=f"all {CHANGES} vendors in QBO")
            wait_for(lambda: inbox_rows(pair.project_dir, "state = 'pending'") == 0, timeout=60, what="an empty inbox")
            seen = [v["DisplayName"] for v in qbo.find("Vendor") if v["DisplayName"].startswith("Crash Stream")]
            assert sorted(seen) == sorted(names)  # each once: none lost, none twice
            state = pair.reopen().state
            links = [link for link in state.links("vendors") if link.procore_id in set(made)]
            assert len(links) == CHANGES and len({link.qbo_id for link in links}) == CHANGES
            assert not [f for f in state.failures() if f.flow == "companies_to_vendors"]
        finally:
            assert service.stop() == 0
