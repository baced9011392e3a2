"""Ctrl-C during `joist sync` or `make demo`: one line saying what was finished, no traceback.

The run is interrupted while it writes (the sandboxes answer slowly so there is time),
over loopback; running again completes the sync, and a run after that writes nothing.
The demo says "nothing was written" on a second run only when that is true, and exits
with the sync's exit code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox_pair import sandbox_pair

JOIST = Path(sys.executable).parent / "joist"


def _wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_ctrl_c_during_sync_says_what_finished_and_a_rerun_completes_it(tmp_path: Path, joist: Any) -> None:
    with sandbox_pair(tmp_path / "p", packs=["joist:master"], loopback=True) as pair:
        for box in pair.boxes.values():
            box.control.set_faults(latency=0.05)
        process = subprocess.Popen(
            [str(JOIST), "--project", str(pair.project_dir), "sync"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for(lambda: len(pair.writes("qbo")) >= 3)
        finally:
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
        assert process.returncode == 130, out + err
        assert "Traceback" not in out + err and "Aborted" not in out + err
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("interrupted in flow "), err
        assert "`joist sync` again completes the rest" in lines[0]
        for box in pair.boxes.values():
            box.control.set_faults()
        again = joist("--project", str(pair.project_dir), "sync")
        assert again.returncode == 0, again.stdout + again.stderr
        pair.clear_logs()
        third = joist("--project", str(pair.project_dir), "sync")
        assert third.returncode == 0 and pair.writes("qbo") == [] and pair.writes("procore") == []


def _demo(folder: Path, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "terminal.demo"],
        cwd=folder,
        env={**os.environ, "JOIST_DEMO_DIR": "demo", "COLUMNS": "120"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def test_ctrl_c_during_make_demo_stops_cleanly_and_the_labels_tell_the_truth(tmp_path: Path) -> None:
    process = _demo(tmp_path, start_new_session=True)  # its own group, as a terminal's Ctrl-C reaches
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("project:"):
            break
    time.sleep(1.0)  # the sync is under way (it takes a few seconds)
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    output = "".join(seen) + rest
    assert process.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "interrupted in flow" in output and "`make demo` again finishes the sync" in output

    second = _demo(tmp_path)
    out, _ = second.communicate(timeout=180)
    assert second.returncode == 0, out
    assert "nothing was written" not in out and "the rest of an interrupted one" in out

    third = _demo(tmp_path)
    out, _ = third.communicate(timeout=180)
    assert third.returncode == 0, out
    assert "second run: nothing was written, as expected" in out
