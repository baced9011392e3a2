"""README.md's five-minute tour runs as written: every command, in order, exit code 0.

The commands are read from the tour's indented code blocks (output lines shown there are
not commands), and run in one bash session, as a reader pastes them: in a fresh folder
holding a copy of the shipped rules (`joist test rules --update` may write there) and a
`.venv` pointing at the running interpreter's environment. The sandboxes run in the
background on 127.0.0.1 (`joist sandbox up --project demo --background`) and the tour's
own `joist sandbox down` stops them; the test stops them too if the tour did not get there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND_WORDS = ("source", "joist", "cd", "echo", ".venv/bin/joist")
MARK = "@@tour-exit"
# Commands the README says exit non-zero on the demo, and why (none now: see the README's note).
EXPECTED_EXIT: dict[str, int] = {}  # every command of the tour exits 0 (reconcile too: the seeds agree once synced)


def tour_commands(readme: str) -> list[str]:
    """The shell commands of the README's tour, in order (continuation lines joined)."""
    tour = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    commands: list[str] = []
    fenced = False
    continued = False
    for line in tour.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or not line.startswith("    "):
            continued = False
            continue
        text = line[4:]
        if continued:
            commands[-1] += "\n" + text
        elif text.split(" ", 1)[0] in COMMAND_WORDS:
            commands.append(text)
        else:
            continue
        continued = text.rstrip().endswith("\\")
    return commands


def test_the_tour_commands_are_found() -> None:
    commands = tour_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands[0] == "source .venv/bin/activate    # puts `joist` on PATH (or type .venv/bin/joist each time)"
    assert any(c.startswith("joist sandbox up --project demo --background") for c in commands)
    assert any(c.startswith("echo ") and "| joist map" in c for c in commands)
    assert commands.index("cd demo") < commands.index(next(c for c in commands if c.startswith("joist sync")))
    assert any(c.startswith("joist sandbox down") for c in commands)


@pytest.mark.slow
def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    commands = tour_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    shutil.copytree(ROOT / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    bin_dir = Path(sys.executable).parent
    (venv / "bin" / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    (venv / "bin" / "joist").symlink_to(bin_dir / "joist")
    script = "\n".join(f'{command}\necho "{MARK} {i} $?"' for i, command in enumerate(commands))
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"  # `joist` only once the tour activates the environment
    try:
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
        )
    finally:
        subprocess.run(
            [str(bin_dir / "joist"), "sandbox", "down", "--project", "demo"], cwd=tmp_path, capture_output=True
        )
    codes = {int(m[1]): int(m[2]) for m in re.finditer(rf"^{MARK} (\d+) (\d+)$", result.stdout, re.M)}
    assert sorted(codes) == list(range(len(commands))), result.stdout[-3000:] + result.stderr[-3000:]
    expected = {i: next((n for p, n in EXPECTED_EXIT.items() if c.startswith(p)), 0) for i, c in enumerate(commands)}
    failed = [(commands[i], code) for i, code in codes.items() if code != expected[i]]
    assert not failed, f"{failed}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


@pytest.mark.slow
def test_the_demo_footer_commands_work_after_make_demo(tmp_path: Path) -> None:
    """`make demo` stops its sandboxes; the commands its footer suggests still work, in order."""
    bin_dir = Path(sys.executable).parent
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "joist").symlink_to(bin_dir / "joist")
    env = {**os.environ, "JOIST_DEMO_DIR": "demo", "COLUMNS": "200"}
    demo = subprocess.run(
        [sys.executable, "-m", "terminal.demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    footer = demo.stdout.split("To look around", 1)[1]
    commands = [line.strip() for line in footer.splitlines() if line.startswith("  .venv/bin/joist")]
    assert commands[0].startswith(".venv/bin/joist sandbox up --project demo --background")
    assert commands[-1].startswith(".venv/bin/joist sandbox down")
    shown: dict[str, str] = {}
    try:
        for command in commands:
            result = subprocess.run(
                ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
            shown[command.split("#", 1)[0].strip()] = result.stdout
    finally:
        subprocess.run([str(bin_dir / "joist"), "sandbox", "down", "--project", "demo"], cwd=tmp_path)
    # `joist reconcile` right after `make demo`: the sandbox project sets retainage_receivable_item,
    # so billed and retainage held are compared (not "not compared") and agree, as the README says
    report = shown[".venv/bin/joist --project demo reconcile"]
    riverside = report.split("2024-001 Riverside Medical Office", 1)[1].split("2024-002", 1)[0]
    rows = {line.split("│")[1].strip(): line for line in riverside.splitlines() if line.count("│") > 4}
    for figure, amount in (("billed", "230,000.00"), ("retainage held", "23,000.00")):
        assert rows[figure].count(amount) == 2 and "equal" in rows[figure], report
    assert "not compared" not in report and "DIFFERS" not in report, report
    assert "every total matches to the cent" in report
