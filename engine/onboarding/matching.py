"""Match the records that already exist on both sides, before anything is written.

For every link set whose flows have twins on both sides (a `match:` in one of its rules),
each unlinked record on one side gets candidates on the other, best first, each with a
confidence between 0 and 1 and the reason:

1. the other connector's marks (`marks`): a Procore `origin_id`/`origin_data` naming the
   QBO record, or a QBO note naming the Procore record: 1.0;
2. the rule's `match:` keys (DocNumber, number, the name as the rule builds it), equal:
   0.98 when one record has that key, less when several share it;
3. the e-mail address, equal: 0.92;
4. the name, equal once case, punctuation and legal-form suffix are left out: 0.95; else
   alike by rapidfuzz's token-sort ratio (at least `FUZZY_FLOOR`), scaled to below 0.9,
   never when the names' numbers differ. Only keys that are names are compared fuzzily
   ("PO-101" and "PO-102" are different documents, however alike), and only names with a
   word in them ("F-1001-01-100" and "F-1001-01-100.S" are a cost code and a WBS code).
   A target record already linked in any link set of its entity is no candidate.

Candidates are then assigned one to one, highest confidence first, so one target record
is proposed for at most one source record. The proposals are data; `decisions` turns the
accepted ones into links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from connectors.base import Connector
from engine.expressions.base import EvaluationError
from engine.expressions.compiler import RUNTIME_ERRORS
from engine.expressions.functions import Runtime
from engine.language.graph import build_graph, order
from engine.language.rules import Rule, RuleSet
from engine.mapping.mapper import Mapper
from engine.onboarding.marks import digits, email_of, name_key, procore_origin_qbo_id, qbo_note_procore_id
from engine.state.store import State
from engine.sync.links import link_columns

KEY_ERRORS: tuple[type[BaseException], ...] = (EvaluationError, *RUNTIME_ERRORS)
FUZZY_FLOOR = 80.0  # rapidfuzz score (0-100) below which a name is not a candidate at all
NAME_FIELDS = frozenset({"DisplayName", "Name", "name", "CompanyName", "FullyQualifiedName"})
CONFIDENCE = {"mark": 1.0, "key": 0.98, "name": 0.95, "email": 0.92}


@dataclass
class Candidate:
    """One record on the other side that may be the twin, how sure, and why."""

    target_id: str
    confidence: float
    reason: str
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"target_id": self.target_id, "confidence": self.confidence, "reason": self.reason, "label": self.label}


@dataclass
class Proposal:
    """A record without a link and its candidates on the other side, best first."""

    link_set: str
    flow: str
    source_system: str
    source_id: str
    label: str
    candidates: list[Candidate] = field(default_factory=list)

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def target_system(self) -> str:
        return "qbo" if self.source_system == "procore" else "procore"

    def ids(self, target_id: str) -> tuple[str, str]:
        """(procore id, qbo id) of the pair this record makes with `target_id`."""
        return (self.source_id, target_id) if self.source_system == "procore" else (target_id, self.source_id)


def matching_flows(ruleset: RuleSet) -> list[Rule]:
    """One rule per link set with twins on both sides, in run order; Procore-to-QBO rules preferred.

    A rule of a split flow (one record per group of a list) is left out: its records are
    not whole records of either system."""
    chosen: dict[str, Rule] = {}
    for flow in order(build_graph(ruleset)):
        rule = ruleset.rules[flow]
        if not rule.match or rule.source.split is not None or rule.source.system == rule.target.system:
            continue
        held = chosen.get(rule.links)
        if held is None or (held.source.system != "procore" and rule.source.system == "procore"):
            chosen[rule.links] = rule
    return list(chosen.values())


def _key_text(key: tuple[str, ...] | None) -> str:
    return " / ".join(key) if key else ""


class _Offers:
    """The candidates of one record, each target kept with its surest reason."""

    def __init__(self, labels: Mapping[str, str]) -> None:
        self.labels = labels
        self.best: dict[str, Candidate] = {}

    def offer(self, tid: str, confidence: float, reason: str) -> None:
        held = self.best.get(tid)
        if held is None or held.confidence < confidence:
            self.best[tid] = Candidate(tid, round(confidence, 3), reason, self.labels.get(tid, ""))


Reads = dict[tuple[str, str], list[dict[str, Any]]]


def _read_all(connector: Connector, entity: str, reads: Reads | None = None) -> list[dict[str, Any]]:
    """Every live record of `entity`; kept in `reads` so the link sets of one match step read it once."""
    key = (connector.system, entity)
    if reads is not None and key in reads:
        return reads[key]
    found: list[dict[str, Any]] = []
    for page in connector.read(entity):
        found.extend(r for r in page.records if not connector.is_deleted(entity, r))
    if reads is not None:
        reads[key] = found
    return found


class FlowMatcher:
    """Proposals for one rule's link set: reads both sides whole, once."""

    def __init__(
        self,
        rule: Rule,
        ruleset: RuleSet,
        state: State,
        connectors: Mapping[str, Connector],
        params: Mapping[str, Any],
        reads: Reads | None = None,
    ) -> None:
        self.rule, self.ruleset, self.state, self.reads = rule, ruleset, state, reads
        self.src, self.tgt = connectors[rule.source.system], connectors[rule.target.system]
        self.mapper = Mapper(rule, params, ruleset.lookups)
        self.src_col, self.tgt_col = link_columns(rule.source.system, rule.target.system)
        self.paths = list(rule.match)
        self.fuzzy = all(p.split(".")[-1] in NAME_FIELDS for p in self.paths)

    def _resolve(self, link_set: str, key: str) -> str | None:
        return self.state.resolver(link_set, toward=self.rule.target.system)(key)

    def _source_key(self, record: dict[str, Any]) -> tuple[str, ...] | None:
        rt = Runtime(links=self._resolve, lookups=self.mapper.lookups)
        values = []
        try:
            for expr in self.rule.match.values():
                value = expr.evaluate(self.mapper.context(record), rt)
                values.append("" if value is None else str(value).strip())
        except KEY_ERRORS:  # a record whose key cannot be made has only the other evidence
            return None
        return tuple(values) if all(values) else None

    def _target_key(self, record: Mapping[str, Any]) -> tuple[str, ...] | None:
        values = []
        for path in self.paths:
            cur: Any = record
            for step in path.split("."):
                cur = cur.get(step) if isinstance(cur, Mapping) else None
            values.append("" if cur is None else str(cur).strip())
        return tuple(values) if all(values) else None

    def _linked(self, column: str, link_sets: Iterable[str]) -> set[str]:
        return {
            str(getattr(link, f"{column}_id"))
            for link_set in link_sets
            for link in self.state.links(link_set)
            if getattr(link, f"{column}_id") is not None
        }

    def _sharing_target(self) -> set[str]:
        """Link sets whose records on the target's system are of the target's entity (QBO items hold
        both cost codes and WBS codes): a record linked in any of them is no candidate here."""
        side, entity = self.rule.target.system, self.rule.target.entity
        return {
            r.links
            for r in self.ruleset.rules.values()
            if r.links
            and side in (r.source.system, r.target.system)
            and (r.source.entity if r.source.system == side else r.target.entity) == entity
        } | {self.rule.links}

    def proposals(self) -> list[Proposal]:
        """Every unlinked source record with its candidates among the unlinked target records.

        The target side is read first: when it holds no unlinked record, there is nothing to
        match and the source side is not read (Procore's hourly budget is the scarce one)."""
        rule = self.rule
        src_entity, tgt_entity = rule.source.entity, rule.target.entity
        linked_src = self._linked(self.src_col, [rule.links])
        linked_tgt = self._linked(self.tgt_col, self._sharing_target())
        targets = {
            tid: r
            for r in _read_all(self.tgt, tgt_entity, self.reads)
            if (tid := self.tgt.record_id(tgt_entity, r)) not in linked_tgt
        }
        if not targets:  # nothing on the other side to be a twin: the source side is not read at all
            return []
        sources = [r for r in _read_all(self.src, src_entity, self.reads) if self.src.record_id(src_entity, r)]
        by_key: dict[tuple[str, ...], list[str]] = {}
        by_name: dict[str, list[str]] = {}
        by_email: dict[str, list[str]] = {}
        by_mark: dict[str, str] = {}  # source id -> target id, from marks on the target side
        labels: dict[str, str] = {}
        for tid, record in targets.items():
            key = self._target_key(record)
            labels[tid] = _key_text(key)
            if key:
                by_key.setdefault(tuple(k.casefold() for k in key), []).append(tid)
                if self.fuzzy:
                    by_name.setdefault(name_key(" ".join(key)), []).append(tid)
            email = email_of(rule.target.system, record)
            if email:
                by_email.setdefault(email, []).append(tid)
            marked = qbo_note_procore_id(record) if rule.target.system == "qbo" else procore_origin_qbo_id(record)
            if marked:
                by_mark[marked] = tid
        names = list(by_name)
        out: list[Proposal] = []
        for record in sources:
            sid = self.src.record_id(src_entity, record)
            if sid in linked_src:
                continue
            key = self._source_key(record)
            found = _Offers(labels)
            offer = found.offer

            mark = procore_origin_qbo_id(record) if rule.source.system == "procore" else qbo_note_procore_id(record)
            if mark and mark in targets:
                where = "origin_id/origin_data" if rule.source.system == "procore" else "note"
                offer(mark, CONFIDENCE["mark"], f"the other connector's mark: {where} names {tgt_entity} {mark}")
            if sid in by_mark:
                where = "note" if rule.target.system == "qbo" else "origin_id/origin_data"
                offer(
                    by_mark[sid],
                    CONFIDENCE["mark"],
                    f"the other connector's mark: the {where} of {tgt_entity} {by_mark[sid]} names this record",
                )
            if key:
                same = by_key.get(tuple(k.casefold() for k in key), [])
                for tid in same:
                    shared = "" if len(same) == 1 else f" (shared by {len(same)} records)"
                    offer(
                        tid, CONFIDENCE["key"] / len(same), f"{', '.join(self.paths)} equal: {_key_text(key)!r}{shared}"
                    )
            email = email_of(rule.source.system, record)
            if email:
                for tid in by_email.get(email, []):
                    offer(tid, CONFIDENCE["email"] / len(by_email[email]), f"e-mail equal: {email}")
            if key and self.fuzzy:
                self._fuzzy(" ".join(key), by_name, names, offer)
            ranked = sorted(found.best.values(), key=lambda c: (-c.confidence, c.target_id))
            out.append(Proposal(rule.links, rule.flow, rule.source.system, sid, _key_text(key) or sid, ranked[:5]))
        return out

    @staticmethod
    def _fuzzy(text: str, by_name: Mapping[str, list[str]], names: list[str], offer: Any) -> None:
        wanted = name_key(text)
        if not wanted:
            return
        for tid in by_name.get(wanted, []):
            share = len(by_name[wanted])
            offer(tid, CONFIDENCE["name"] / share, "names equal apart from case, punctuation or legal suffix")
        if not _wordy(wanted):  # a code such as "F-1001-01-100" is not a name: no near misses
            return
        for other, score, _ in process.extract(
            wanted, names, scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_FLOOR, limit=5
        ):
            if other == wanted or digits(other) != digits(wanted):
                continue
            for tid in by_name[other]:
                offer(tid, 0.89 * score / 100.0, f"names alike ({score:.0f}%): {other!r}")


def _wordy(key: str) -> bool:
    """Whether a compared name holds a word (three letters or more), not only codes and numbers."""
    return any(len(w) >= 3 and w.isalpha() for w in key.split())


def assign(proposals: Iterable[Proposal]) -> list[Proposal]:
    """Reorder each proposal's candidates so no target record is the best candidate of two records.

    Pairs are taken highest confidence first; a record whose best target went to a surer
    pair keeps its other candidates (the taken one is dropped)."""
    items = list(proposals)
    pairs = sorted(
        ((c.confidence, i, c.target_id) for i, p in enumerate(items) for c in p.candidates),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    taken: dict[str, int] = {}
    settled: set[int] = set()
    for _confidence, index, tid in pairs:
        if index in settled or tid in taken:
            continue
        taken[tid], settled = index, settled | {index}
        chosen = next(c for c in items[index].candidates if c.target_id == tid)
        items[index].candidates = [chosen] + [c for c in items[index].candidates if c.target_id != tid]
    for index, proposal in enumerate(items):
        if index not in settled:
            proposal.candidates = [c for c in proposal.candidates if c.target_id not in taken]
        else:
            best = proposal.candidates[0]
            proposal.candidates = [best] + [c for c in proposal.candidates[1:] if c.target_id not in taken]
    return items
