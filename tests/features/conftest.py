"""Fixtures for the command-line feature tests: `joist` run as a user runs it, in a subprocess.

`joist` runs the installed command with the given arguments and working folder and returns
the finished process; `serving` starts a long-running `joist` (`sandbox up` in the
foreground), waits until it prints a line containing `ready`, and stops it with Ctrl-C
(SIGINT) on exit. Sandboxes are served on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

JOIST = Path(sys.executable).parent / "joist"


@pytest.fixture
def joist() -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(JOIST), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "COLUMNS": "80", **env},
        )

    return run


@pytest.fixture
def serving() -> Callable[..., Any]:
    @contextmanager
    def serve(*args: str, cwd: Path | None = None, ready: str = "Ctrl-C to stop") -> Iterator[list[str]]:
        process = subprocess.Popen(
            [str(JOIST), *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "COLUMNS": "80"},
        )
        lines: list[str] = []
        try:
            deadline = time.monotonic() + 60
            assert process.stdout is not None
            while time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                lines.append(line.rstrip("\n"))
                if ready in line:
                    break
            assert any(ready in line for line in lines), "\n".join(lines)
            yield lines
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                rest, _ = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                rest, _ = process.communicate()
            lines.extend((rest or "").splitlines())

    return serve
