"""The first half of a record's trip: read its link and twin, map it once, decide.

`Planner.plan` takes one source record and returns a `Step`: the record, its link, its
twin on the target (read by the link, or adopted through the rule's `match`), and the
decision (create, update, skip, lock, defer, error) that the mapped payload calls for
against that twin, after the three-way merge with what Joist last wrote there. A deleted
record, or one whose content hash has not moved since the last sync, stops here unmapped,
unless the rule or the params it reads changed since the last write to its twin (the
link's fingerprint): then it is mapped and, where its payload differs, updated ("rule
changed"). A link without a fingerprint (made before Joist kept one) adopts the current one.

A twin found gone (not found, or deleted by the connector's `is_deleted`: read whenever the
record is planned, and for every linked record under `sync --full`) is made again through
the usual create, behind its intent; a flow with `on_delete: report` reports it instead
(`TwinGone`, M413) and keeps the link.
The planner writes nothing; `engine.sync.writes.Writer` carries the step out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from connectors.base import Connector
from engine.errors import JoistError
from engine.language.rules import Rule
from engine.mapping.diff import Decision, plan_record
from engine.mapping.mapper import Mapper
from engine.state.records import Link
from engine.sync.links import FlowLinks
from engine.sync.twins import MatchIndex, TwinCheck, record_hash


class AmbiguousMatch(JoistError):
    """Several target records match one source record: Joist will not guess."""

    code = "M407"


class TwinGone(JoistError):
    """The target record a link points at is gone, and the flow's `on_delete: report` says not to recreate it."""

    code = "M413"


@dataclass
class Step:
    """One source record on its way through the pipeline: what was read, found and decided."""

    sid: str
    record: dict[str, Any]
    link: Link | None = None
    twin: dict[str, Any] | None = None
    adopted: bool = False
    source_hash: str = ""
    version: str | None = None
    decision: Decision | None = None
    deleted: bool = False  # deleted at the source: the writer applies the flow's on_delete
    unchanged: bool = False  # same content hash as at the last sync: nothing to do
    rule_changed: bool = False  # the source did not move, but the rule or params behind the last write did
    gone: str | None = None  # the id of a twin found gone on the target (recreated, or reported)
    error: JoistError | None = None  # the twin could not be found (an ambiguous match)
    left_alone: str | None = None  # the twin came from the target and was deleted there: why it is left alone


class Planner:
    """Plans the records of one flow (see the module docstring)."""

    def __init__(
        self,
        rule: Rule,
        mapper: Mapper,
        links: FlowLinks,
        src: Connector,
        tgt: Connector,
        *,
        dry_run: bool,
        match: MatchIndex | None = None,
    ) -> None:
        self.rule, self.mapper, self.links, self.src, self.tgt = rule, mapper, links, src, tgt
        self.dry_run = dry_run
        if match is None and rule.match:
            match = MatchIndex(tgt, rule.target.entity, rule.match)
        self.match = match
        self.ignore_item = partial(tgt.is_system_line, rule.target.entity)
        # Where a linked twin may live (entity_when may have chosen another entity), and whether it still does.
        self.twins = TwinCheck(tgt, [rule.target.entity, *rule.target.entity_when])

    def plan(self, record: dict[str, Any], sid: str, *, force: bool = False, verify: bool = False) -> Step:
        """Read the link and twin of one record, map it and decide (see the module docstring).

        `verify` (sync --full) checks that the twin of an unchanged record still exists."""
        rule, links = self.rule, self.links
        link = links.find(sid)
        if self.src.is_deleted(rule.source.entity, record):
            return Step(sid, record, link, deleted=True)
        source_hash = record_hash(self.src, rule.source.entity, record)
        rule_changed = False
        if link is not None and not force and links.source_hash(link) == source_hash:
            # A record this rule's `where` leaves out belongs to another flow writing the same link
            # set (two reverse flows of QBO purchase orders, say): the fingerprint there is not ours.
            rule_changed = links.rule_changed(link) is True and self.mapper.kept(record, links=links.resolve)
            target_id = links.target_id(link)
            if not rule_changed and not (verify and target_id and self.twins.gone(target_id)):
                if links.rule_changed(link) is None and not self.dry_run:
                    link = links.adopt_fingerprint(link)  # written before fingerprints: adopt, never rewrite
                return Step(sid, record, link, source_hash=source_hash, unchanged=True)
        step = Step(sid, record, link, source_hash=source_hash, rule_changed=rule_changed)
        step.version = self.src.record_version(rule.source.entity, record)
        target_id = links.target_id(link)
        if link is not None and target_id:
            step.twin = self.twins.read(target_id)
            if step.twin is None and link.origin == self.tgt.system and self.links.reverse is not None:
                # Made from the target side and deleted there: a deletion at the reverse flow's
                # source, which applies its on_delete to this record; nothing to make again.
                step.left_alone = (
                    f"deleted in {self.tgt.system}, where it came from: the reverse flow applies its on_delete"
                )
                return step
            if step.twin is None:
                step.gone = target_id
                if rule.on_delete == "report":
                    step.error = TwinGone(
                        f"its {rule.target.system} {rule.target.entity} {target_id} is gone "
                        f"(deleted there, or the company was reset); on_delete: report keeps it so",
                        hint=f"restore it in {rule.target.system}, or make it again: "
                        f"joist unlink {rule.links} --{rule.source.system} {sid}, then joist sync",
                    )
                    return step
                if not self.dry_run:
                    links.remove(sid)
                step.link = None
        # a record the rule's `where` leaves out is not matched either (it would not be written)
        if step.twin is None and self.match is not None and self.mapper.kept(record, links=links.resolve):
            try:
                step.twin = self.find_twin(record)
            except JoistError as exc:
                step.error = exc
                return step
            step.adopted = step.twin is not None
        step.decision = self.decide(record, step.twin, step.link)
        if rule_changed and step.decision.action in ("update", "lock") and step.decision.reason is None:
            step.decision.reason = "rule changed"
        return step

    def decide(self, record: dict[str, Any], twin: dict[str, Any] | None, link: Link | None) -> Decision:
        """Map the record against `twin` and decide; also what a re-read twin (QBO 5010) is re-planned with."""
        return plan_record(
            self.mapper,
            record,
            twin,
            links=self.links.resolve,
            ignore_item=self.ignore_item,
            base=self.links.base(link),
        )

    def find_twin(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The one unlinked target record the rule's `match` finds for `record` (AmbiguousMatch for several)."""
        assert self.match is not None
        rt = self.mapper.runtime(self.links.resolve)
        key = self.match.key_for(self.mapper.context(record), rt)
        if key is None:
            return None
        entity = self.rule.target.entity
        free = [c for c in self.match.candidates(key) if self.links.holder_of(self.tgt.record_id(entity, c)) is None]
        if len(free) > 1:
            ids = ", ".join(self.tgt.record_id(entity, c) for c in free[:5])
            raise AmbiguousMatch(
                f"{len(free)} {entity} records match ({ids})",
                hint=f"link the right one: joist link {self.rule.links} <procore id> <qbo id>",
            )
        return free[0] if free else None
