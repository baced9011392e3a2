"""`joist serve --onboarding` syncs nothing until the wizard's go-live step: the records already
on both sides must be matched before anything is written."""

from __future__ import annotations

import time
from pathlib import Path

from sandbox_pair import sandbox_pair
from servekit import wait_for

from sandbox.transport import InProcessTransport
from serve.app import Service


def test_serve_holds_every_sync_while_an_onboarding_is_under_way(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p") as pair:
        transports = {n: InProcessTransport(b.app) for n, b in pair.boxes.items()}
        service = Service(
            pair.project_dir,
            public_url="http://testserver",
            transports=transports,
            register=False,
            poll_every=0,
            onboarding=True,
        )
        try:
            service.worker.start()
            time.sleep(2)
            state = service.session.state
            assert service.worker.last_poll_at is None and state.links() == []  # no catch-up sync
            ready = service.readiness()
            assert ready["ready"] and "under way" in ready["checks"]["onboarding"]
            with state.transaction():
                state.execute(
                    "INSERT INTO onboarding_steps (step, data, done_at) VALUES (?, ?, ?)",
                    ("go_live", "{}", state.stamp()),
                )
            wait_for(lambda: service.worker.last_poll_at, 120, "the catch-up sync after go-live")
            assert state.links() != []
        finally:
            service.stop()
            service.session.close()
