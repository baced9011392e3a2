"""`joist link`: link two existing records by hand, after checking that both exist.

Ids are taken in the documented forms: a plain id (`57`), or one prefixed with its system
(`QBO:57`, `PROCORE:5000000021`, any case). A record of a split flow keeps its group key
(`5000000021#2`). Anything else, an id given in the other system's place, or a record
that is not there is refused with what to type instead.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import suggest
from engine.language.graph import UnknownLinkSet
from engine.state.migrations import StateError
from engine.state.records import Link

__all__ = [
    "BadRecordId",
    "LinkedRecordMissing",
    "parse_record_id",
    "link_records",
    "find_twins",
    "link_flow_record",
    "unlink_flow_record",
]

SYSTEM_NAMES = {"procore": "Procore", "qbo": "QBO"}
_ID = re.compile(r"^(?:(?P<system>[A-Za-z]+):)?(?P<id>\d+(?:#\S+)?)$")
USAGE = "joist link LINK_SET PROCORE_ID QBO_ID   e.g. joist link vendors 5000000021 QBO:57"


class BadRecordId(StateError):
    """An id given to `joist link` is not in a form it takes, or belongs to the other system."""

    code = "S622"


class LinkedRecordMissing(StateError):
    """A record given to `joist link` does not exist in its system."""

    code = "S623"


def parse_record_id(system: str, text: str) -> str:
    """The bare id of `text` given as `system`'s id: `57`, `QBO:57` (case-insensitive prefix), `57#key`."""
    found = _ID.match(text.strip())
    prefix = (found["system"] or "").lower() if found else ""
    if found and prefix in ("", system):
        return found["id"]
    name = SYSTEM_NAMES[system]
    if prefix in SYSTEM_NAMES:
        raise BadRecordId(
            f"{text!r} is a {SYSTEM_NAMES[prefix]} id, given where the {name} id goes",
            hint=f"the Procore id comes first, then the QBO id: {USAGE}",
        )
    raise BadRecordId(
        f"{text!r} is not a {name} record id",
        hint=f"give the number alone or as {system.upper()}:number; {USAGE}",
    )


def _entity(rule: Any, system: str) -> str:
    return str(rule.source.entity if rule.source.system == system else rule.target.entity)


def link_records(session: Any, link_set: str, procore_id: str, qbo_id: str) -> Link:
    """Check both records exist in the entities the link set's flow syncs, then store the link."""
    producers = session.ruleset.producers(link_set)
    if not producers:
        sets = sorted({r.links for r in session.ruleset.rules.values()})
        near = suggest(link_set, sets)
        raise UnknownLinkSet(
            f"no flow uses link set {link_set!r}", hint=f"did you mean {near[0]!r}?" if near else None, allowed=sets
        )
    ids = {"procore": parse_record_id("procore", procore_id), "qbo": parse_record_id("qbo", qbo_id)}
    rule = session.ruleset.rules[producers[0]]
    connectors = session.connectors({"procore", "qbo"})
    for system, record_id in ids.items():
        entity = _entity(rule, system)
        record = connectors[system].get(entity, record_id.split("#", 1)[0])
        if record is None:
            raise LinkedRecordMissing(
                f"{SYSTEM_NAMES[system]} has no {entity} {record_id} (flow {rule.flow} links {entity} records)",
                hint="check the id in "
                + ("Procore's address bar" if system == "procore" else "QBO (the number in the record's address)")
                + f"; {USAGE}",
            )
    return session.state.put_link(Link(link_set, ids["procore"], ids["qbo"], origin="manual", flow=rule.flow))


LABEL_FIELDS = ("DisplayName", "FullyQualifiedName", "Name", "name", "DocNumber", "number", "title", "full_name")
MAX_SEARCH_PAGES = 20  # a search reads at most this many pages of the target entity


def record_label(record: Any) -> str:
    """A person's name for a record: its name, title or number, whichever it has first."""
    if isinstance(record, dict):
        for key in LABEL_FIELDS:
            if record.get(key) not in (None, ""):
                return str(record[key])
    return ""


def find_twins(session: Any, flow: str, text: str, *, limit: int = 20) -> list[tuple[str, str]]:
    """Records of `flow`'s target entity whose id, name or number contains `text` (any case):
    (id, label) pairs, the first `limit` found. The dashboard offers them as a record's twin."""
    rule = session.ruleset.rules[flow]
    system, entity = rule.target.system, rule.target.entity
    connector = session.connectors({system})[system]
    wanted = text.strip().lower()
    found: list[tuple[str, str]] = []
    for number, page in enumerate(connector.read(entity)):
        for record in page.records:
            record_id, label = str(connector.record_id(entity, record)), record_label(record)
            if wanted and (wanted in label.lower() or wanted == record_id):
                found.append((record_id, label))
                if len(found) >= limit:
                    return found
        if number + 1 >= MAX_SEARCH_PAGES:
            break
    return found


def link_flow_record(session: Any, flow: str, source_id: str, twin_id: str) -> Link:
    """Link `flow`'s source record to the target record `twin_id` (as `joist link`, both checked)."""
    rule = session.ruleset.rules[flow]
    ids = {rule.source.system: source_id, rule.target.system: twin_id}
    return link_records(session, rule.links, ids["procore"], ids["qbo"])


def unlink_flow_record(session: Any, flow: str, source_id: str) -> bool:
    """Forget the link of `flow`'s source record (as `joist unlink`); True if there was one."""
    rule = session.ruleset.rules[flow]
    side = "procore_id" if rule.source.system == "procore" else "qbo_id"
    return bool(session.state.remove_link(rule.links, **{side: source_id}))
