"""`joist sandbox up --project` on an existing project keeps what its owner wrote.

Only the `connections:` block is rewritten (new ports, new sandbox ids); packs, params and
comments stay, sandbox params a pack needs but the file lacks are added, and the command
says what it changed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.project.config import load_project
from engine.project.writing import update_sandbox_project, write_sandbox_project
from sandbox.server import create


def _info(qbo_port: int) -> dict[str, dict[str, str]]:
    boxes = {"procore": create("procore", seed=False), "qbo": create("qbo")}
    return {
        "procore": boxes["procore"].connection_info("http://127.0.0.1:8710"),
        "qbo": boxes["qbo"].connection_info(f"http://127.0.0.1:{qbo_port}"),
    }


def test_a_second_sandbox_up_keeps_the_users_packs_params_and_comments(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    path = write_sandbox_project(folder, _info(8720))
    (folder / "rules").mkdir()
    (folder / "rules" / "mine.yaml").write_text("# my flows go here\n")
    text = path.read_text()
    params = yaml.safe_load(text)["params"]
    dropped = sorted(params)[0]  # a sandbox param the user deleted: it comes back
    kept = sorted(params)[1]
    lines = [line for line in text.splitlines() if not line.startswith(f"  {dropped}:")]
    text = "\n".join(lines) + "\n"
    text = text.replace("  - joist:time\n", "  - joist:time\n  # my own flows, on top of the packs\n  - ./rules\n")
    text = text.replace(f"  {kept}: ", f'  {kept}: "mine"  # set by hand\n  old_{kept}: ', 1)
    path.write_text(text)

    again, changes = update_sandbox_project(folder, _info(9999))

    after = again.read_text()
    doc = yaml.safe_load(after)
    assert doc["packs"][-1] == "./rules"
    assert "  # my own flows, on top of the packs\n" in after
    assert f'  {kept}: "mine"  # set by hand\n' in after
    assert doc["params"][dropped] == params[dropped]
    assert doc["connections"]["qbo"]["base_url"] == "http://127.0.0.1:9999/v3"
    assert "connections.qbo.base_url: http://127.0.0.1:8720/v3 -> http://127.0.0.1:9999/v3" in changes
    assert f"params.{dropped} added" in " ".join(changes)
    assert not any(kept in c for c in changes)
    project = load_project(folder)
    assert project.pack_specs[-1] == "./rules" and project.params[kept] == "mine"
    assert project.connection("qbo").get("token_url") == "http://127.0.0.1:9999/oauth2/v1/tokens/bearer"


def test_an_unchanged_project_reports_no_change(tmp_path: Path) -> None:
    info = _info(8720)
    path, first = update_sandbox_project(tmp_path, info)
    assert first == [f"wrote {path}"]
    before = path.read_text()
    _, changes = update_sandbox_project(tmp_path, info)
    assert changes == [] and path.read_text() == before
