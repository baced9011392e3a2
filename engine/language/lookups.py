"""Lookup tables customers edit: `rules/lookups/NAME.yaml` or `NAME.csv`.

A YAML table is a mapping `key: value` (a value may itself be a mapping). A CSV table has
a header row; the first column is the key; with two columns the value is the second
column, with more it is a mapping of the other columns. Keys are always strings. Tables of
a later layer replace earlier keys of the same table, one key at a time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import JoistError, Location
from engine.language import yamlload


class BadLookupTable(JoistError):
    """A lookup file that is not a key -> value table."""

    code = "R115"


def _read_csv(path: Path) -> dict[str, Any]:
    reader = None
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise yamlload.UnreadableFile(
            f"a CSV lookup must be UTF-8 text (byte {exc.object[exc.start]:#x} at position {exc.start})",
            location=Location(str(path)),
            hint="save the file as UTF-8 (in Excel: Save As, CSV UTF-8)",
        ) from None
    except csv.Error as exc:
        raise BadLookupTable(
            f"not a CSV table: {exc}",
            location=Location(str(path), reader.line_num if reader is not None else None),
            hint="one key,value row a line; quote cells that hold commas, and keep cells short",
        ) from None
    except OSError as exc:
        raise yamlload.UnreadableFile(
            f"cannot read the lookup table: {exc.strerror}", location=Location(str(path))
        ) from None
    if not rows or len(rows[0]) < 2:
        raise BadLookupTable(
            "a CSV lookup needs a header row with at least two columns",
            location=Location(str(path), 1, 1),
            hint="for example: cost_type,class_id",
        )
    header, table = rows[0], {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BadLookupTable(
                f"row has {len(row)} columns, the header has {len(header)}", location=Location(str(path), line, 1)
            )
        key = row[0].strip()
        table[key] = row[1] if len(header) == 2 else dict(zip(header[1:], row[1:]))
    return table


def _read_yaml(path: Path) -> dict[str, Any]:
    doc = yamlload.load(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise BadLookupTable("a YAML lookup is a mapping of key: value", location=Location(str(path), 1, 1))
    return {str(k): v for k, v in doc.items()}


def load_lookups(folders: Iterable[Path]) -> dict[str, dict[str, Any]]:
    """Every table in the given `lookups/` folders, later folders overriding earlier keys."""
    tables: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix in (".yaml", ".yml"):
                rows = _read_yaml(path)
            elif path.suffix == ".csv":
                rows = _read_csv(path)
            else:
                continue
            tables.setdefault(path.stem, {}).update(rows)
    return tables
