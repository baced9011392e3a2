"""docs/cli.md is the commands' own help: regenerate it and it must not change."""

from __future__ import annotations

from pathlib import Path

from terminal.clidoc import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_the_cli_reference_matches_every_commands_help() -> None:
    assert DOC.read_text() == render(), "regenerate it: .venv/bin/python -m terminal.clidoc > docs/cli.md"


def test_every_command_has_help_with_an_example() -> None:
    text = render()
    for name in (
        "validate",
        "ls",
        "graph",
        "map",
        "test",
        "init",
        "plan",
        "sync",
        "retry",
        "failures",
        "status",
        "explain",
        "link",
        "unlink",
        "connect",
        "reconcile",
        "sandbox up",
    ):
        assert f"## `joist {name}`" in text, name
    sections = text.split("\n## ")[1:]
    without = [s.splitlines()[0] for s in sections if "Example" not in s and s.splitlines()[0] != "`joist sandbox`"]
    assert without == []
