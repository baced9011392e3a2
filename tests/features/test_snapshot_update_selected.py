"""`joist test -k X --update` (and `pytest -k X --snapshot-update`) writes only the selected cases' snapshots.

syrupy took every snapshot not asserted in the run as unused and deleted it, so updating
one case removed the snapshots of every case `-k` left out.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _snapshots(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("__snapshots__/**/*.json")}


@pytest.mark.parametrize("how", ["joist", "pytest"])
def test_update_with_k_keeps_the_snapshots_of_unselected_cases(tmp_path: Path, joist: Any, how: str) -> None:
    shutil.copytree(ROOT / "rules", tmp_path / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    before = _snapshots(tmp_path)
    selected = next(p for p in before if "purchase order commitment keeps its quantity" in p)
    stale = tmp_path / selected
    assert '"DocNumber": "PO-001"' in stale.read_text()
    stale.write_text(stale.read_text().replace("PO-001", "PO-999"))  # an outdated snapshot of the selected case
    if how == "joist":
        result = joist("test", "rules/payables", "-k", "quantity", "--update", cwd=tmp_path)
    else:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "rules/payables", "-q", "-k", "quantity", "--snapshot-update"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Deleted" not in result.stdout
    after = _snapshots(tmp_path)
    assert after == before  # every snapshot kept; the selected one rewritten to what the rule gives
