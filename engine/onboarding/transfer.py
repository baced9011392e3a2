"""Import another connector's mapping: a CSV of entity, Procore id, QBO id (`joist link --import`).

The file has a header row naming three columns, in any order: `entity` (a link set such as
`vendors`, `projects`, `commitments`, or the name of a flow that writes it), `procore_id`
and `qbo_id` (plain numbers, or `PROCORE:…` / `QBO:…` as `joist link` takes them). Blank
lines and lines starting with `#` are skipped. Every row is checked before anything is
stored: the entity is known, both ids are well formed, both records exist in the entities
the link set's flow syncs (read once per entity, not once per row), and no record appears
twice with different partners. One bad row stores nothing; each error names its file and
line. A good file stores every pair as a link (origin `imported`), so the next sync
updates those records instead of creating them.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.base import Connector
from engine.errors import ErrorGroup, JoistError, Location, suggest
from engine.language.rules import Rule, RuleSet
from engine.project.linking import BadRecordId, parse_record_id
from engine.state.migrations import StateError
from engine.state.records import Link
from engine.state.store import State

COLUMNS = ("entity", "procore_id", "qbo_id")
ALIASES = {"link_set": "entity", "procore": "procore_id", "qbo": "qbo_id", "quickbooks_id": "qbo_id"}


class BadImportFile(StateError):
    """A mapping file given to `joist link --import` cannot be read as a CSV with its three columns."""

    code = "S692"


class BadImportRow(StateError):
    """A row of a mapping file names an unknown entity, a malformed id, a missing record or a second partner."""

    code = "S693"


@dataclass
class Row:
    line: int
    link_set: str
    flow: str
    procore_id: str
    qbo_id: str


def _link_set(name: str, ruleset: RuleSet) -> tuple[str, Rule] | None:
    """The link set a row's entity names (a link set, or a flow writing one), and the flow that syncs it."""
    if name in ruleset.rules:
        return ruleset.rules[name].links, ruleset.rules[name]
    producers = ruleset.producers(name)
    both = [ruleset.rules[f] for f in producers if ruleset.rules[f].source.system != ruleset.rules[f].target.system]
    if not both:
        return None
    chosen = next((r for r in both if r.source.system == "procore"), both[0])
    return name, chosen


def _entity(rule: Rule, system: str) -> str:
    return rule.source.entity if rule.source.system == system else rule.target.entity


def read_rows(path: Path, ruleset: RuleSet) -> tuple[list[Row], list[JoistError]]:
    """The rows of a mapping file, and the errors of the rows that are wrong in themselves."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadImportFile(
            f"cannot read the mapping file: {getattr(exc, 'strerror', None) or exc}",
            location=Location(file=str(path)),
            hint="give a UTF-8 CSV file with the columns entity, procore_id, qbo_id",
        ) from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not lines:
        raise BadImportFile("the mapping file is empty", location=Location(file=str(path)), hint=_FORMAT)
    header_line, header = lines[0]
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in next(csv.reader([header]))]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise BadImportFile(
            f"the header names no column {', '.join(missing)}",
            location=Location(file=str(path), line=header_line),
            hint=_FORMAT,
            allowed=list(COLUMNS),
        )
    where = {c: names.index(c) for c in COLUMNS}
    known = sorted({r.links for r in ruleset.rules.values() if r.source.system != r.target.system and r.links})
    rows: list[Row] = []
    errors: list[JoistError] = []
    for number, line in lines[1:]:
        cells = next(csv.reader([line]))
        loc = Location(file=str(path), line=number)
        if len(cells) < len(names):
            errors.append(BadImportRow(f"{len(cells)} cells where the header has {len(names)}", location=loc))
            continue
        entity = cells[where["entity"]].strip()
        found = _link_set(entity, ruleset)
        if found is None:
            near = suggest(entity, known)
            errors.append(
                BadImportRow(
                    f"no flow links {entity!r} records between Procore and QBO",
                    location=loc,
                    hint=f"did you mean {near[0]!r}?" if near else None,
                    allowed=known,
                )
            )
            continue
        try:
            pid = parse_record_id("procore", cells[where["procore_id"]])
            qid = parse_record_id("qbo", cells[where["qbo_id"]])
        except BadRecordId as exc:
            errors.append(BadImportRow(exc.message, location=loc, hint=exc.hint))
            continue
        rows.append(Row(number, found[0], found[1].flow, pid, qid))
    return rows, errors


_FORMAT = "the first line names the columns: entity,procore_id,qbo_id (e.g. vendors,5000000021,57)"


def _ids(connector: Connector, entity: str) -> set[str]:
    found: set[str] = set()
    for page in connector.read(entity):
        found.update(connector.record_id(entity, r) for r in page.records if not connector.is_deleted(entity, r))
    return found


def check_rows(
    path: Path, rows: list[Row], ruleset: RuleSet, state: State, connectors: Mapping[str, Connector]
) -> list[JoistError]:
    """Errors of rows that name a missing record, or pair a record twice (in the file or against a link)."""
    errors: list[JoistError] = []
    existing: dict[tuple[str, str], set[str]] = {}
    partners: dict[tuple[str, str, str], tuple[str, int]] = {}
    for row in rows:
        rule = ruleset.rules[row.flow]
        loc = Location(file=str(path), line=row.line)
        for system, record_id in (("procore", row.procore_id), ("qbo", row.qbo_id)):
            entity = _entity(rule, system)
            if (system, entity) not in existing:
                existing[(system, entity)] = _ids(connectors[system], entity)
            if record_id.split("#", 1)[0] not in existing[(system, entity)]:
                name = "Procore" if system == "procore" else "QBO"
                errors.append(
                    BadImportRow(f"{name} has no {entity} {record_id}", location=loc, path=f"{row.link_set} row")
                )
        for system, mine, other in (("procore", row.procore_id, row.qbo_id), ("qbo", row.qbo_id, row.procore_id)):
            held = partners.get((row.link_set, system, mine))
            if held is not None and held[0] != other:
                errors.append(
                    BadImportRow(
                        f"{row.link_set} {system} {mine} is paired with {other} here and with {held[0]} on line {held[1]}",
                        location=loc,
                        hint="keep one pair per record",
                    )
                )
            partners[(row.link_set, system, mine)] = (other, row.line)
            link = state.find_link(row.link_set, **{f"{system}_id": mine})
            linked = getattr(link, "qbo_id" if system == "procore" else "procore_id", None) if link else None
            if linked is not None and linked != other:
                errors.append(
                    BadImportRow(
                        f"{row.link_set} {system} {mine} is already linked to {linked}, not {other}",
                        location=loc,
                        hint=f"remove that link first: joist unlink {row.link_set} --{system} {mine}",
                    )
                )
    return errors


def import_links(
    path: str | Path, ruleset: RuleSet, state: State, connectors: Mapping[str, Connector]
) -> dict[str, int]:
    """Check the whole file, then store every pair as a link; returns how many per link set."""
    path = Path(path)
    rows, errors = read_rows(path, ruleset)
    errors += check_rows(path, rows, ruleset, state, connectors)
    if errors:
        raise ErrorGroup(errors)
    made: dict[str, int] = {}
    for row in rows:
        state.put_link(Link(row.link_set, row.procore_id, row.qbo_id, origin="imported", flow=row.flow))
        made[row.link_set] = made.get(row.link_set, 0) + 1
    return made


def describe(made: Mapping[str, int]) -> str:
    """One line: how many links per link set."""
    return ", ".join(f"{n} {link_set}" for link_set, n in sorted(made.items())) or "nothing"


def as_dict(made: Mapping[str, int]) -> dict[str, Any]:
    return {"linked": dict(made), "total": sum(made.values())}
