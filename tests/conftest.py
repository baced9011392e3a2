"""Makes the suite's shared helpers importable by name (`from sandbox_pair import sandbox_pair`)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import shutil  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from parts import PostgresServer, RedisServer, missing  # noqa: E402


def _parts_or_skip() -> None:
    absent = missing()
    if absent:
        pytest.skip(
            f"PostgreSQL 15 and redis-server are needed (`make test` installs them); missing: {', '.join(absent)}"
        )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster on a free loopback port for the whole session."""
    _parts_or_skip()
    folder = tempfile.mkdtemp(prefix="joist-pg-")  # not under pytest's 0700 tmp: the postgres user must reach it
    server = PostgresServer.start(Path(folder))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throw-away redis-server on a free loopback port for the whole session."""
    _parts_or_skip()
    folder = tempfile.mkdtemp(prefix="joist-redis-")
    server = RedisServer.start(Path(folder))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files holding slow end-to-end tests first, the longest (`slow(minutes=N)`) first,
    each file's tests in their order (a module's fixture may carry state from one test to the
    next): with the files spread over workers, a few-minute test that starts last would keep
    the whole run waiting for it."""
    minutes: dict[Any, float] = {}
    for item in items:
        marker = item.get_closest_marker("slow")
        if marker is not None:
            minutes[item.path] = max(minutes.get(item.path, 0.0), float(marker.kwargs.get("minutes", 1)))
    items.sort(key=lambda item: -minutes.get(item.path, 0.0))  # longest first; stable within a file
