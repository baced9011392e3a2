"""Fixtures for the state store and project tests: a fresh store on a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.state.backends import open_state
from engine.state.store import State

BACKENDS = ("sqlite", "postgresql")


class StepClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / ".joist" / "state.db"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test taking a store runs once on SQLite and once on PostgreSQL."""
    return str(request.param)


@pytest.fixture
def state_spec(backend: str, state_path: Path, request: pytest.FixtureRequest) -> str:
    """What `state:` would say for this test's store: the SQLite file, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        return str(state_path)
    return str(request.getfixturevalue("postgres_server").fresh_url())


@pytest.fixture
def store(state_spec: str, clock: StepClock) -> Iterator[State]:
    opened = open_state(state_spec, now=clock)
    yield opened
    opened.close()
