"""Fixtures for the state store and project tests: a fresh store on a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.state.store import SQLiteState


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


@pytest.fixture
def store(state_path: Path, clock: StepClock) -> Iterator[SQLiteState]:
    opened = SQLiteState(state_path, now=clock)
    yield opened
    opened.close()
