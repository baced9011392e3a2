"""`joist map`: a bad record is one error line with its reason; the stream goes on (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main

RULE = """\
flow: vend
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
fields:
  DisplayName: "source.name"
  Notes: "decimal(source.notes)"
  Title: "money(source.notes)"
"""

LINES = [
    '{"id": 1, "name": "A", "notes": "1.00"}',
    '{"id": 2, "name": "B", "notes": NaN}',
    '{"id": 3, "name": "C", "notes": 1e5000}',
    '{"id": 4, "name": "D", "notes": "1e5000"}',
    '{"id": 5, "name": "E", "notes": Infinity}',
    "not json at all",
    "[1, 2]",
    "[" * 100_000 + "]" * 100_000,
    '{"id": 9, "name": "F", "notes": 2}',
]


def test_each_bad_record_is_an_error_line_and_the_stream_goes_on(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "vend.yaml").write_text(RULE)
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(LINES) + "\n")
    result = CliRunner().invoke(
        main, ["map", "vend", "--rules", str(tmp_path / "rules"), "-i", str(source), "-o", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    out = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == len(LINES), out
    assert [o["outcome"] for o in out] == ["mapped"] + ["error"] * 7 + ["mapped"]
    assert out[-1]["payload"] == {"DisplayName": "F", "Notes": 2, "Title": 2}
    codes = [o["error"]["code"] for o in out[1:-1]]
    assert codes == ["M405", "M401", "M401", "M405", "M405", "M405", "M405"], codes
    reasons = [o["error"]["message"] for o in out[1:-1]]
    assert "NaN" in reasons[0] and "1E+5000" in reasons[1] and "1e5000" in reasons[2]
    assert all("InvalidOperation" not in r for r in reasons), reasons
    assert [o["line"] for o in out[1:-1] if o["error"]["code"] == "M405"] == [2, 5, 6, 7, 8]
    assert "9 records: 2 mapped, 0 skipped, 0 deferred, 7 failed" in result.output
