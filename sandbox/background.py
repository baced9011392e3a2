"""`joist sandbox up --background` and `joist sandbox down`: the sandboxes as a detached process.

Plain process handling (no click, nothing of Joist): the command line turns
`BackgroundError` into its message and exit code.

The background process is `joist sandbox up` itself, in a session of its own (a Ctrl-C in
the terminal does not reach it), its output going to `sandbox.log` in the sandboxes' data
folder. It writes `sandbox.pid` there once it serves (the parent waits for that file) and
removes it when it stops; `joist sandbox down` sends it SIGTERM, on which it saves the
sandboxes' data and exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["PID_FILE", "LOG_FILE", "BackgroundError", "running_pid", "start_background", "stop_background"]

PID_FILE = "sandbox.pid"
LOG_FILE = "sandbox.log"


class BackgroundError(Exception):
    """The background sandboxes could not be started or stopped; `message` says why."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def running_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` when that process is alive, else None (a stale file is removed)."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return None
    except PermissionError:
        return pid
    return pid


def start_background(args: list[str], data_dir: Path, timeout: float = 60.0) -> tuple[int, str]:
    """Start `joist sandbox up ARGS` detached; wait until it serves. Returns its pid and what it printed."""
    pid_file = data_dir / PID_FILE
    already = running_pid(pid_file)
    if already:
        raise BackgroundError(
            f"sandboxes for {data_dir} already run in the background (pid {already}); `joist sandbox down` stops them"
        )
    pid_file.unlink(missing_ok=True)
    log = data_dir / LOG_FILE
    with log.open("w", encoding="utf-8") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "cli", "sandbox", "up", *args, "--pid-file", str(pid_file)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while not pid_file.exists():
        code = child.poll()
        if code is not None:  # it failed before serving: its own message, and its exit code
            raise BackgroundError(log.read_text(encoding="utf-8").rstrip(), code or 1)
        if time.monotonic() > deadline:
            child.terminate()
            raise BackgroundError(f"the sandboxes did not start within {timeout:.0f} s; see {log}")
        time.sleep(0.05)
    return child.pid, log.read_text(encoding="utf-8")


def stop_background(data_dir: Path, timeout: float = 30.0) -> int | None:
    """Stop the background sandboxes of `data_dir` and wait until their data is saved; their pid, or None."""
    pid_file = data_dir / PID_FILE
    pid = running_pid(pid_file)
    if pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_file.exists() and running_pid(pid_file) is not None:
        if time.monotonic() > deadline:
            raise BackgroundError(f"the sandboxes (pid {pid}) did not stop within {timeout:.0f} s")
        time.sleep(0.05)
    return pid
