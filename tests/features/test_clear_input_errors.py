"""Damaged files and bytes are a clear error naming the file and what to do, never an internal error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from connectors.tokens import FileTokenStore
from engine.errors import JoistError

RULE = """\
flow: vend
direction: procore > qbo
source: {system: procore, entity: vendors}
target: {system: qbo, entity: Vendor}
fields:
  DisplayName: "source.name"
  Notes: "lookup('classes', source.name, 'none')"
"""


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    (folder / "lookups").mkdir(parents=True)
    (folder / "vend.yaml").write_text(RULE)
    (folder / "lookups" / "classes.csv").write_text("name,class\nAcme,7\n")
    return folder


@pytest.mark.parametrize("text", ['{"a": ', "[1, 2]", '{"procore:1": "not an object"}'])
def test_a_damaged_token_file_names_itself_and_the_fix(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(text)
    store = FileTokenStore(path)
    for attempt in (lambda: store.load("procore:1"), lambda: store.save("qbo:2", {"refresh_token": "r"})):
        with pytest.raises(JoistError) as info:
            attempt()
        error = info.value
        assert error.code == "S620" and error.location.file == str(path), error.format()
        assert "joist connect" in (error.hint or "")
    assert path.read_text() == text  # a damaged file is never overwritten: it may be the only copy


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"vendors": {"1": "57"}', "not JSON"),
        ("[1]", "link set"),
        ('{"vendors": ["57"]}', "vendors"),
        (b'{"vendors": {"\xff": "1"}}', "UTF-8"),
    ],
)
def test_a_bad_links_file_is_an_error_naming_it(rules: Path, tmp_path: Path, text: str | bytes, reason: str) -> None:
    links = tmp_path / "links.json"
    links.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = CliRunner().invoke(main, ["map", "vend", "--rules", str(rules), "--links", str(links)], input="")
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "M410" in result.output and str(links) in result.output and reason in result.output, result.output


def test_a_line_that_is_not_utf8_is_an_error_line_in_a_file(rules: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"id": 1, "name": "caf\xe9"}\n{"id": 2, "name": "Acme"}\n')
    result = CliRunner().invoke(main, ["map", "vend", "--rules", str(rules), "-i", str(source)])
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert "line 1 is not UTF-8" in result.output and '"DisplayName":"Acme"' in result.output


def test_bytes_on_stdin_are_never_copied_to_the_output(rules: Path) -> None:
    joist = Path(sys.executable).parent / "joist"
    done = subprocess.run(
        [str(joist), "map", "vend", "--rules", str(rules)],
        input=b'{"id": 1, "name": "caf\xe9"}\n{"id": 2, "name": "Acme"}\n',
        capture_output=True,
        env={**os.environ, "PYTHONUTF8": "1", "LC_ALL": "C"},
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert b"\xe9" not in done.stdout
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["outcome"] == "error" and first["error"]["code"] == "M405" and first["line"] == 1
    assert second["payload"]["DisplayName"] == "Acme"


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"name,class\n\xff,7\n", "R109"), (b'name,class\nAcme,"' + b"x" * 200_000 + b'"\n', "R115")],
    ids=["not-utf8", "huge-cell"],
)
def test_a_bad_lookup_csv_is_an_error_naming_the_file(rules: Path, content: bytes, code: str) -> None:
    table = rules / "lookups" / "classes.csv"
    table.write_bytes(content)
    result = CliRunner().invoke(main, ["validate", str(rules)])
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
    assert code in result.output and str(table) in result.output, result.output
