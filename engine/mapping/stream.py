"""`joist map`: records in as JSON lines, mapped payloads out as JSON lines. Pure, streaming.

Memory stays flat whatever the input size: one line is read, mapped and written at a time.
Each output line says what became of one input record:

    {"source_id": "9", "outcome": "mapped", "entity": "Bill", "payload": {...}}
    {"source_id": "10", "outcome": "skipped", "reason": "source.where is false: ..."}
    {"source_id": "11", "outcome": "deferred", "missing": ["vendors:11"]}
    {"source_id": "12", "outcome": "error", "error": {"code": "M401", "message": ...}}
    {"line": 13, "outcome": "error", "error": {"code": "M405", "message": "line 13 is not JSON: ..."}}

A bad record never ends the stream: a line that is not a JSON object (NaN and Infinity
are not JSON), or a record whose mapping fails, becomes one error line with its reason.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Mapping
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


class BadLinksFile(JoistError):
    """A `--links` file that is not `{"link_set": {"source id": "target id"}}`."""

    code = "M410"


def parse_links(data: bytes, name: str) -> dict[str, dict[str, str]]:
    """The link table of a `--links` file's bytes, or BadLinksFile naming `name` and the fix."""

    def bad(reason: str) -> BadLinksFile:
        return BadLinksFile(
            f"{name}: {reason}",
            location=Location(name),
            hint='the file holds {"link_set": {"source id": "target id"}}, for example {"vendors": {"11": "57"}}',
        )

    try:
        doc = json.loads(data.decode("utf-8"), parse_float=Decimal, parse_constant=_not_json)
    except UnicodeDecodeError as exc:
        raise bad(f"not UTF-8 text (byte {data[exc.start]:#x} at position {exc.start})") from None
    except (ValueError, RecursionError) as exc:
        raise bad(f"not JSON: {exc}" if isinstance(exc, ValueError) else "not JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise bad("it should be a JSON object with one entry per link set")
    table: dict[str, dict[str, str]] = {}
    for link_set, pairs in doc.items():
        if not isinstance(pairs, dict) or any(isinstance(v, (dict, list)) for v in pairs.values()):
            raise bad(f"the link set {link_set!r} should map source ids to target ids")
        table[link_set] = {str(a): str(b) for a, b in pairs.items() if b is not None}
    return table


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


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_not_json)


def _decode(text: str | bytes, number: int, input_name: str) -> dict[str, Any]:
    """One input line as a record, or BadInputLine saying why not."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInputLine(
                f"line {number} is not UTF-8 text (byte {text[exc.start]:#x} at position {exc.start})",
                location=Location(input_name, number),
                hint="save the input as UTF-8",
            ) from None
    try:
        record = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BadInputLine(
            f"line {number} is not JSON: {reason}",
            location=Location(input_name, number),
            hint="one JSON object a line",
        ) from None
    if not isinstance(record, dict):
        raise BadInputLine(
            f"line {number} is not a JSON object", location=Location(input_name, number), hint="one JSON object a line"
        )
    return record


def table_resolver(table: Mapping[str, Mapping[str, str]]) -> LinkResolver:
    """A `ref()` resolver over a plain table {link_set: {source id: target id}}."""
    empty: dict[str, str] = {}

    def resolve(link_set: str, key: str) -> str | None:
        return table.get(link_set, empty).get(key)

    return resolve


def map_stream(
    rule: Rule,
    lines: Iterable[str | bytes],
    out: IO[str],
    *,
    links: Mapping[str, Mapping[str, str]] | None = None,
    params: Mapping[str, Any] | None = None,
    lookups: Mapping[str, Mapping[str, Any]] | None = None,
    input_name: str = "<stdin>",
) -> MapCounts:
    """Map every JSON line of `lines` through `rule`, writing one JSON line per record to `out`.

    `lines` may be bytes (a file opened in binary, standard input's buffer): each line is
    then decoded as UTF-8 on its own, so one bad line is one error line.
    """
    mapper = Mapper(rule, params, lookups)
    table = {k: {str(a): str(b) for a, b in v.items()} for k, v in (links or {}).items()}
    resolve = table_resolver(table)
    id_field = rule.source_entity.id_field
    counts = MapCounts()
    tally = {"mapped": 0, "skipped": 0, "deferred": 0, "error": 0}
    # Everything loaded so far (rules, catalogues, libraries) lives for the whole run:
    # keep it out of the collector's way so streaming costs the same as a bare script.
    gc.freeze()
    write = out.write
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = _decode(line, number, input_name)
        except BadInputLine as bad:
            tally["error"] += 1
            if len(counts.errors) < 20:
                counts.errors.append(bad.format())
            write(jsonio.dumps({"line": number, "outcome": "error", "error": bad.to_dict()}))
            write("\n")
            continue
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
