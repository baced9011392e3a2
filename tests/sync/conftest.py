"""Fixtures for the sync engine tests (the toolkit itself is `synckit.py`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from synckit import BASES, World  # noqa: E402

from sandbox.server import create  # noqa: E402
from sandbox.transport import InProcessTransport  # noqa: E402


@pytest.fixture(params=("sqlite", "postgresql"))
def state_url(request: pytest.FixtureRequest) -> str | None:
    """Every sync test runs on both backends: None keeps .joist/state.db, else a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_server").fresh_url())


@pytest.fixture
def world(tmp_path: Path, state_url: str | None) -> Iterator[World]:
    """Both sandboxes in-process; the Procore one without its demo data."""
    boxes = {"procore": create("procore", seed=False, deliver_webhooks=False), "qbo": create("qbo")}
    transports = {name: InProcessTransport(box.app) for name, box in boxes.items()}
    w = World(tmp_path, boxes, BASES, transports, state_url)
    assert w.state.backend == ("postgresql" if state_url else "sqlite")
    yield w
    w.close()


@pytest.fixture
def loopback_world(tmp_path: Path, state_url: str | None) -> Iterator[World]:
    """Both sandboxes served by uvicorn on 127.0.0.1, for tests whose sync runs in a child process."""
    from sandbox.server import ServerThread

    boxes = {"procore": create("procore", seed=False, deliver_webhooks=False), "qbo": create("qbo")}
    servers = {name: ServerThread(box.app).start() for name, box in boxes.items()}
    try:
        w = World(tmp_path, boxes, {name: s.base_url for name, s in servers.items()}, None, state_url)
        yield w
        w.close()
    finally:
        for server in servers.values():
            server.stop()
