"""The hints and examples Joist prints work where a user runs them.

- every `--select` example in the commands' help (docs/cli.md) selects flows inside a
  project folder (`path:rules/master` did not: R305 there);
- with no project and no ./rules, the hint says how each command takes rule folders
  (`validate` and `test` take them as arguments: they have no `--rules`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.language.graph import build_graph, select
from engine.project.workspace import resolve
from engine.project.writing import write_sandbox_project
from sandbox.server import create

ROOT = Path(__file__).resolve().parents[2]
SELECTS = re.findall(r"^    joist \w+ .*--select (\S+)", (ROOT / "docs" / "cli.md").read_text(), re.M)


def test_the_help_has_select_examples() -> None:
    assert "tag:master" in SELECTS and len(SELECTS) >= 5


@pytest.mark.parametrize("selector", SELECTS)
def test_each_select_example_works_inside_a_project(
    selector: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    boxes = {"procore": create("procore", seed=False), "qbo": create("qbo")}
    write_sandbox_project(
        tmp_path, {n: b.connection_info(f"http://127.0.0.1:{p}") for (n, b), p in zip(boxes.items(), (8710, 8720))}
    )
    monkeypatch.chdir(tmp_path)  # as after `cd demo`
    ws = resolve()
    assert select(build_graph(ws.ruleset), selector, root=ws.project.root)


@pytest.mark.parametrize("command", [["validate"], ["test"], ["ls"]])
def test_no_rules_hint_names_the_way_each_command_takes_folders(command: list[str], tmp_path: Path, joist: Any) -> None:
    result = joist(*command, cwd=tmp_path)
    assert result.returncode == 1 and "R117" in result.stderr, result.stdout + result.stderr
    assert "give folders with --rules" not in result.stderr
    assert "`joist validate FOLDER...` and `joist test FOLDER...` take them as arguments" in result.stderr
    help_text = joist(*command, "--help").stdout
    if command[0] in ("validate", "test"):
        assert "--rules" not in help_text
