"""The project's run lock: a second run waits a bounded time and names the holder; a dead holder is taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sandbox_pair import sandbox_pair

from engine.state.backends import open_state
from engine.state.lock import ProjectLock, ProjectLocked
from engine.state.records import LockHolder
from engine.state.store import SQLiteState, State

if TYPE_CHECKING:
    from conftest import StepClock

REPO = Path(__file__).resolve().parents[2]


def joist(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A `joist` command in its own process, as a user runs it."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable, str(REPO / "cli.py"), "--project", str(project), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


class FakeTime:
    """A monotonic clock and a sleep that moves it, for bounded waits without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_second_run_waits_a_bounded_time_and_names_the_holder(state_spec: str, clock: StepClock) -> None:
    with open_state(state_spec, now=clock) as first, open_state(state_spec, now=clock) as second:
        held = ProjectLock(first, "sync").acquire()
        fake = FakeTime()
        waiting = ProjectLock(second, "retry", wait=30, clock=fake.clock, sleep=fake.sleep)
        with pytest.raises(ProjectLocked) as caught:
            waiting.acquire()
        assert 30 <= fake.now < 31
        error = caught.value
        assert error.code == "S607" and error.holder.command == "sync"
        text = error.format()
        assert f"held by pid {os.getpid()} on {socket.gethostname()} (joist sync, since 2026-03-01T12:00" in text
        assert "waited 30s" in text and state_spec in text
        held.release()
        with waiting:
            assert second.lock_holder() is not None and second.lock_holder().command == "retry"
        assert second.lock_holder() is None


def test_a_holder_whose_process_is_gone_is_taken_over_at_once(store: State) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    assert (
        store.acquire_lock(LockHolder("crashed", dead, socket.gethostname(), "sync", "", ""), stale_after=120) is None
    )
    fake = FakeTime()
    with ProjectLock(store, "sync", wait=0, clock=fake.clock, sleep=fake.sleep):
        assert store.lock_holder().pid == os.getpid()
    assert fake.now == 0


def test_a_silent_holder_on_another_host_is_taken_over_after_its_heartbeat_ages(store: State, clock: StepClock) -> None:
    other = LockHolder("elsewhere", 4242, "another-host.example", "sync", "", "")
    assert store.acquire_lock(other, stale_after=120) is None
    clock.advance(119)
    fake = FakeTime()
    with pytest.raises(ProjectLocked, match="held by pid 4242 on another-host.example"):
        ProjectLock(store, "sync", wait=0, stale_after=120, clock=fake.clock, sleep=fake.sleep).acquire()
    clock.advance(2)
    with ProjectLock(store, "sync", wait=0, stale_after=120, clock=fake.clock, sleep=fake.sleep) as mine:
        assert store.lock_holder().token == mine.token
    assert store.refresh_lock(other.token) is False  # the old holder learns it lost the project


def test_the_heartbeat_keeps_a_live_holder_from_going_stale(state_spec: str) -> None:
    with open_state(state_spec) as first, open_state(state_spec) as second:
        with ProjectLock(first, "sync", stale_after=0.4) as held:
            time.sleep(1.0)  # two and a half times stale_after: only the heartbeat keeps it
            with pytest.raises(ProjectLocked):
                ProjectLock(second, "sync", wait=0, stale_after=0.4).acquire()
            assert not held.lost


def test_plan_reads_without_the_lock_while_sync_retry_link_and_unlink_wait(tmp_path: Path) -> None:
    with sandbox_pair(tmp_path / "p", loopback=True) as pair:
        project = pair.project_dir
        (project / "joist.yaml").write_text(
            (project / "joist.yaml").read_text() + "runs:\n  lock_wait: 0.5\n", encoding="utf-8"
        )
        session = pair.reopen()
        with SQLiteState(session.project.state_path) as other, ProjectLock(other, "sync"):
            assert session.run("companies_to_vendors", dry_run=True).flows  # plan: no lock needed
            with pytest.raises(ProjectLocked):
                session.run("companies_to_vendors")
            for args in (
                ["sync", "--wait", "0"],
                ["retry"],
                ["link", "vendors", "1", "2"],
                ["unlink", "vendors", "--procore", "1"],
            ):
                result = joist(project, *args)
                assert result.returncode == 1, (args, result.stdout, result.stderr)
                assert "S607" in result.stderr and "held by pid" in result.stderr, (args, result.stderr)
            status = joist(project, "status")
            assert status.returncode == 0 and f"held by pid {os.getpid()}" in status.stdout, status.stdout
