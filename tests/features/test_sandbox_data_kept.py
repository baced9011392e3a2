"""`joist sandbox up --project` never serves fresh sandboxes under a project's old sync state.

By default the sandboxes keep their data in the project (`.joist/sandbox`, as `make demo`
does), so a restart serves the records the state links; with state but no saved data the
command refuses and names the two ways out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.server import free_port


def test_sandbox_up_keeps_its_data_in_the_project_and_serves_it_again(tmp_path: Path, serving: Any) -> None:
    project = tmp_path / "demo"
    port = str(free_port())
    with serving("sandbox", "up", "qbo", "--port", port, "--project", str(project)) as first:
        pass
    saved = project / ".joist" / "sandbox" / "qbo.json"
    assert saved.is_file(), "\n".join(first)
    (project / ".joist" / "state.db").write_bytes(b"")  # a sync ran against these sandboxes
    marker = json.loads(saved.read_text())
    with serving("sandbox", "up", "qbo", "--port", port, "--project", str(project)) as second:
        pass
    assert "S621" not in "\n".join(second)
    assert json.loads(saved.read_text()).keys() == marker.keys()


def test_state_without_sandbox_data_is_refused_with_both_ways_out(tmp_path: Path, joist: Any) -> None:
    project = tmp_path / "demo"
    (project / ".joist").mkdir(parents=True)
    (project / ".joist" / "state.db").write_bytes(b"")
    result = joist("sandbox", "up", "--project", str(project))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "S621" in result.stderr and "has sync state" in result.stderr
    assert "--data" in result.stderr and "rm " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "joist.yaml").exists()
