"""One run per project: the run lock kept in the state store.

`sync`, `retry`, `link`, `unlink` (and the service) hold the project while they change it;
`plan`, `status` and `explain` read without it. The lock is a row in the state store, so
it works wherever the store lives (one SQLite file now, PostgreSQL later: the backend
implements `acquire_lock`, `refresh_lock` and `release_lock`, nothing more).

A holder that dies never blocks the project for long: its row is taken over when its
process is gone (same host), or when its heartbeat is older than `stale_after` seconds (any
host). A live holder keeps the heartbeat fresh from a background thread. A second run
waits up to `wait` seconds, then raises `ProjectLocked` naming the holder::

    with ProjectLock(store, "sync", wait=30):
        ...  # nobody else changes the project meanwhile
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from engine.errors import Location
from engine.state.migrations import StateError
from engine.state.records import LockHolder, StateStore

DEFAULT_WAIT = 30.0
DEFAULT_STALE_AFTER = 120.0


class ProjectLocked(StateError):
    """Another run holds the project for longer than this one waits."""

    code = "S607"

    def __init__(self, path: Path | str, holder: LockHolder, waited: float) -> None:
        self.holder = holder
        super().__init__(
            f"the project is held by {holder.describe()}; waited {waited:g}s",
            location=Location(file=str(path)),
            hint="one run changes a project at a time: wait for that run to finish and try again, or wait "
            "longer (`--wait SECONDS`, or `lock_wait` in joist.yaml). A holder that crashed is taken over once "
            "its process is gone or its heartbeat is older than `lock_stale_after` seconds.",
        )


def alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def stale(holder: LockHolder, heartbeat_age: float, stale_after: float) -> bool:
    """A holder whose process is gone (on this host) or whose heartbeat is older than `stale_after`."""
    if holder.host == socket.gethostname() and not alive(holder.pid):
        return True
    return heartbeat_age > stale_after


class ProjectLock:
    """Holds the project's run lock in a state store from `acquire()` (or `with`) to `release()`.

    `wait` bounds how long `acquire` waits for another holder (0: do not wait);
    `stale_after` is how old a heartbeat may get before its holder counts as dead, and the
    heartbeat thread refreshes ours every `stale_after / 4` seconds. `clock` and `sleep`
    pace the waiting (tests pass fakes).
    """

    def __init__(
        self,
        store: StateStore,
        command: str,
        *,
        wait: float = DEFAULT_WAIT,
        stale_after: float = DEFAULT_STALE_AFTER,
        poll: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.command = command
        self.wait = max(0.0, wait)
        self.stale_after = stale_after
        self.poll = poll
        self.clock = clock
        self.sleep = sleep
        self.token = str(uuid.uuid4())
        self.held = False
        self.lost = False  # the heartbeat found the row gone (taken over as stale)
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def acquire(self) -> ProjectLock:
        """Take the lock, waiting up to `wait` seconds; raises `ProjectLocked` naming the holder."""
        started = self.clock()
        while True:
            holder = self.store.acquire_lock(
                LockHolder(self.token, os.getpid(), socket.gethostname(), self.command, "", ""),
                stale_after=self.stale_after,
            )
            if holder is None:
                break
            waited = self.clock() - started
            if waited >= self.wait:
                raise ProjectLocked(getattr(self.store, "where", ""), holder, round(waited, 1))
            self.sleep(min(self.poll, self.wait - waited))
        self.held = True
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name="joist-lock-heartbeat", daemon=True)
        self._beat.start()
        return self

    def _heartbeat(self) -> None:
        interval = max(0.05, self.stale_after / 4)
        while not self._stop.wait(interval):
            try:
                if not self.store.refresh_lock(self.token):
                    self.lost = True
                    return
            except StateError:  # a busy or closing store: try again at the next beat
                continue

    def release(self) -> None:
        """Give the project back (a no-op when not held)."""
        if not self.held:
            return
        self._stop.set()
        if self._beat is not None:
            self._beat.join()
            self._beat = None
        self.held = False
        self.store.release_lock(self.token)

    def __enter__(self) -> ProjectLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
