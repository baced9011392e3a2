"""`joist map`: records in as JSON lines, mapped payloads out as JSON lines. Pure, streaming.

Memory stays flat whatever the input size: one line is read, mapped and written at a time.
Each output line says what became of one input record:

    {"source_id": "9", "outcome": "mapped", "entity": "Bill", "payload": {...}}
    {"source_id": "10", "outcome": "skipped", "reason": "source.where is false: ..."}
    {"source_id": "11", "outcome": "deferred", "missing": ["vendors:11"]}
    {"source_id": "12", "outcome": "error", "error": {"code": "M401", "message": ...}}
"""

from __future__ import annotations

import gc
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from engine.errors import JoistError, Location
from engine.expressions.functions import LinkResolver
from engine.language import jsonio
from engine.language.rules import Rule
from engine.mapping.mapper import Mapper, MapResult


class BadInputLine(JoistError):
    """A line of the input that is not a JSON object."""

    code = "M405"


@dataclass
class MapCounts:
    mapped: int = 0
    skipped: int = 0
    deferred: int = 0
    error: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.mapped + self.skipped + self.deferred + self.error


def _line(source_id: str, result: MapResult) -> str:
    out: dict[str, Any] = {"source_id": source_id, "outcome": result.outcome}
    if result.outcome == "mapped":
        out["entity"] = result.entity
        out["payload"] = result.payload
    elif result.outcome == "deferred":
        out["missing"] = [f"{s}:{i}" for s, i in result.missing]
    elif result.outcome == "skipped":
        out["reason"] = result.reason
    elif result.error is not None:
        out["error"] = result.error.to_dict()
    return jsonio.dumps(out)


def table_resolver(table: Mapping[str, Mapping[str, str]]) -> LinkResolver:
    """A `ref()` resolver over a plain table {link_set: {source id: target id}}."""
    empty: dict[str, str] = {}

    def resolve(link_set: str, key: str) -> str | None:
        return table.get(link_set, empty).get(key)

    return resolve


def map_stream(
    rule: Rule,
    lines: IO[str],
    out: IO[str],
    *,
    links: Mapping[str, Mapping[str, str]] | None = None,
    params: Mapping[str, Any] | None = None,
    lookups: Mapping[str, Mapping[str, Any]] | None = None,
    input_name: str = "<stdin>",
) -> MapCounts:
    """Map every JSON line of `lines` through `rule`, writing one JSON line per record to `out`."""
    mapper = Mapper(rule, params, lookups)
    table = {k: {str(a): str(b) for a, b in v.items()} for k, v in (links or {}).items()}
    resolve = table_resolver(table)
    id_field = rule.source_entity.id_field
    counts = MapCounts()
    tally = {"mapped": 0, "skipped": 0, "deferred": 0, "error": 0}
    # Everything loaded so far (rules, catalogues, libraries) lives for the whole run:
    # keep it out of the collector's way so streaming costs the same as a bare script.
    gc.freeze()
    decode = json.JSONDecoder(parse_float=Decimal).decode
    write = out.write
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = decode(line)
        except ValueError as exc:
            raise BadInputLine(f"line {number} is not JSON: {exc}", location=Location(input_name, number)) from None
        if not isinstance(record, dict):
            raise BadInputLine(f"line {number} is not a JSON object", location=Location(input_name, number))
        result = mapper.map(record, links=resolve)
        tally[result.outcome] += 1
        if result.error is not None and len(counts.errors) < 20:
            counts.errors.append(result.error.format())
        sid = record.get(id_field)
        write(_line("" if sid is None else str(sid), result))
        write("\n")
    counts.mapped, counts.skipped, counts.deferred, counts.error = (
        tally[k] for k in ("mapped", "skipped", "deferred", "error")
    )
    return counts
