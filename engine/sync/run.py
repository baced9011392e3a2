"""The sync engine: run flows in dependency order, every record exactly once.

For each record of a flow's source the engine finds its link, skips it unread when its
content hash has not changed since the last sync, fetches or matches the twin, maps the
record, decides (create, update, skip, lock, defer, error) and writes. The guarantees:

- **Idempotent creates.** An intent with a deterministic key is on disk before a create is
  sent; QBO gets the key as `requestid` (a whole `/batch` gets one, and each intent keeps
  its place in it), Procore as `origin_id`. A run that dies between write and link is
  healed by the next one, which finds or replays the write instead of repeating it.
- **Echoes are recognised** by hash: the hash of what Joist wrote is stored as that side's
  hash, so the same content coming back on a reverse flow is skipped.
- **Nothing is half-done.** A failed record is recorded with its reason and fix and
  retried later; the rest of the run goes on. Deferred records (a `ref()` without a link
  yet) wait in the same table and run again after their dependency.
- **Stale versions** (QBO 5010) are re-read and re-planned, never blindly retried.

`dry_run=True` is `joist plan`: the same decisions, no writes, no state changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import AuthError, Conflict, Connector, ConnectorError
from engine.errors import JoistError
from engine.expressions.functions import Runtime
from engine.language import jsonio
from engine.language.graph import build_graph, order
from engine.language.rules import Rule, RuleSet
from engine.language.tree import truthy
from engine.mapping.diff import Decision, decide, three_way
from engine.mapping.mapper import Mapper
from engine.mapping.split import NO_GROUP, SEPARATOR, groups, parent_id
from engine.state.records import Link, intent_key
from engine.state.store import SQLiteState
from engine.sync.crashpoints import crashpoint
from engine.sync.report import FlowReport, Outcome, RunReport
from engine.sync.twins import MatchIndex, is_deleted, is_system_line, record_hash, sparse_payload
from engine.sync.writes import PendingCreate, WriteSteps

Listener = Callable[[str, Outcome], None]
DEFERRED = "M406"
_OTHER_COLUMN = {"procore": "qbo", "qbo": "procore"}


def link_columns(source_system: str, target_system: str) -> tuple[str, str]:
    """The link columns (`procore` or `qbo`, for `*_id`, `*_hash`, `*_version`) that hold a
    flow's source and its target. A flow inside one system keeps its target in the other column."""
    return source_system, target_system if target_system != source_system else _OTHER_COLUMN[source_system]


class AmbiguousMatch(JoistError):
    """Several target records match one source record: Joist will not guess."""

    code = "M407"


class Deferred(JoistError):
    """A record waits for a link that another flow makes (not an error)."""

    code = DEFERRED


class FlowRun(WriteSteps):
    """One flow's part of a run."""

    def __init__(self, sync: Sync, rule: Rule) -> None:
        self.sync, self.rule = sync, rule
        self.state: SQLiteState = sync.state
        self.src: Connector = sync.connectors[rule.source.system]
        self.tgt: Connector = sync.connectors[rule.target.system]
        self.src_side, self.tgt_side = rule.source.system, rule.target.system
        self.src_col, self.tgt_col = link_columns(self.src_side, self.tgt_side)
        self.mapper = Mapper(rule, sync.params, sync.ruleset.lookups)
        self.report = FlowReport(rule.flow)
        self.match = MatchIndex(self.tgt, rule.target.entity, rule.match) if rule.match else None
        self.queue: list[PendingCreate] = []
        self.deferred: dict[str, tuple[dict[str, Any], Outcome]] = {}
        self._resolvers: dict[str, Callable[[str], str | None]] = {}
        self.batching = sync.batch_size > 1 and hasattr(self.tgt, "batch")
        reverse = [
            r
            for r in sync.ruleset.rules.values()
            if r.links == rule.links
            and r.flow != rule.flow
            and (r.source.system, r.target.system) == (rule.target.system, rule.source.system)
        ]
        self.reverse = Mapper(reverse[0], sync.params, sync.ruleset.lookups) if reverse else None

    # -- helpers ---------------------------------------------------------------------------

    def reverse_base(self, written: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """What the reverse flow maps the twin Joist just wrote to: the agreed state of the source side.

        Stored as the source side's base, it lets the reverse flow tell a later edit made on
        this side from what both sides already agree on.
        """
        if self.reverse is None or written is None:
            return None
        back = self.state.resolver
        result = self.reverse.map(dict(written), links=lambda link_set, key: back(link_set, toward=self.src_side)(key))
        return result.payload if result.outcome == "mapped" else None

    def links(self, link_set: str, key: str) -> str | None:
        if link_set not in self._resolvers:
            self._resolvers[link_set] = self.state.resolver(link_set, toward=self.tgt_side)
        return self._resolvers[link_set](key)

    def emit(self, outcome: Outcome) -> Outcome:
        self.report.add(outcome)
        if self.sync.listener:
            self.sync.listener(self.rule.flow, outcome)
        return outcome

    def out(self, sid: str, action: str, **kw: Any) -> Outcome:
        return self.emit(Outcome(self.rule.flow, sid, action, **kw))

    def find_link(self, sid: str) -> Link | None:
        return self.state.find_link(self.rule.links, **{f"{self.src_col}_id": sid})

    def save_link(
        self,
        link: Link | None,
        sid: str,
        target_id: str,
        *,
        source_hash: str | None,
        source_version: str | None,
        target: Mapping[str, Any] | None,
        origin: str | None = None,
        locked: bool | None = None,
        lock_reason: str | None = None,
        payload: Mapping[str, Any] | None = None,
        source_base: Mapping[str, Any] | None = None,
    ) -> Link:
        base = link or Link(self.rule.links, None, None, origin=origin or self.src_side, flow=self.rule.flow)
        fields: dict[str, Any] = {f"{self.src_col}_id": sid, f"{self.tgt_col}_id": str(target_id)}
        if source_hash is not None:
            fields[f"{self.src_col}_hash"] = source_hash
        if source_version is not None:
            fields[f"{self.src_col}_version"] = source_version
        if target is not None:
            fields[f"{self.tgt_col}_hash"] = record_hash(self.tgt_side, target)
            fields[f"{self.tgt_col}_version"] = self.tgt.record_version(self.rule.target.entity, dict(target))
        if locked is not None:
            fields.update(locked=locked, lock_reason=lock_reason)
        if payload is not None:
            fields[f"{self.tgt_col}_payload"] = jsonio.dumps(payload)
        if source_base is not None:
            fields[f"{self.src_col}_payload"] = jsonio.dumps(source_base)
        if origin and link is None:
            fields["origin"] = origin
        return self.state.put_link(dataclasses.replace(base, **fields))

    def fail(self, sid: str, error: JoistError, action: str = "error") -> Outcome:
        if not self.sync.dry_run:
            self.state.record_failure(
                self.rule.flow, sid, code=error.code, message=error.message, hint=error.hint, run_id=self.sync.run_id
            )
            self.sync.known_failures.setdefault(self.rule.flow, set()).add(sid)
        return self.out(sid, action, reason=error.message, error=error.to_dict())

    def succeeded(self, sid: str) -> None:
        if not self.sync.dry_run and sid in self.sync.known_failures.get(self.rule.flow, ()):
            self.state.clear_failure(self.rule.flow, sid)

    def create_key(self, sid: str) -> str:
        key = intent_key(self.rule.flow, sid)
        earlier = self.state.intent(key)
        while earlier is not None and earlier.state in ("done", "abandoned"):
            # Done: made once, since deleted on the target. Abandoned: refused, and QBO
            # would replay the refusal to the same requestid, so the retry needs its own.
            tail = (earlier.target_id or "") if earlier.state == "done" else earlier.key
            key = intent_key(self.rule.flow, sid, "again", tail)
            earlier = self.state.intent(key)
        return key

    # -- one record ------------------------------------------------------------------------

    def process(self, record: dict[str, Any], sid: str, *, force: bool = False) -> Outcome | None:
        rule = self.rule
        link = self.find_link(sid)
        if is_deleted(self.src_side, record):
            return self.delete(link, sid)
        source_hash = record_hash(self.src_side, record)
        if link is not None and not force and getattr(link, f"{self.src_col}_hash") == source_hash:
            return self.out(sid, "skip", reason="unchanged since the last sync")
        version = self.src.record_version(rule.source.entity, record)
        twin: dict[str, Any] | None = None
        adopted = False
        if link is not None and getattr(link, f"{self.tgt_col}_id"):
            twin = self.tgt.get(rule.target.entity, getattr(link, f"{self.tgt_col}_id"))
            if twin is None and not self.sync.dry_run:
                self.state.remove_link(rule.links, **{f"{self.src_col}_id": sid})
            link = link if twin is not None else None
        if twin is None and self.match is not None:
            try:
                twin = self.find_twin(record)
            except JoistError as exc:
                return self.fail(sid, exc)
            adopted = twin is not None
        result = self.mapper.map(record, links=self.links, target=twin)
        locked = result.outcome == "mapped" and self.mapper.locked(record, twin)
        decision = decide(
            result,
            twin,
            lock=locked,
            lock_reason=f"lock_when is true: {rule.lock_when.text}" if locked else None,
            ignore_item=is_system_line,
        )
        decision = three_way(decision, self.base(link))
        return self.apply(decision, record, sid, link, twin, adopted, source_hash, version)

    def base(self, link: Link | None) -> dict[str, Any] | None:
        """What Joist last wrote to this record's twin (None when unknown)."""
        text = getattr(link, f"{self.tgt_col}_payload", None) if link is not None else None
        return jsonio.loads(text) if text else None

    def find_twin(self, record: dict[str, Any]) -> dict[str, Any] | None:
        assert self.match is not None
        key = self.match.key_for(self.mapper.context(record), Runtime(links=self.links, lookups=self.mapper.lookups))
        if key is None:
            return None
        free = [
            c
            for c in self.match.candidates(key)
            if self.state.find_link(
                self.rule.links, **{f"{self.tgt_col}_id": self.tgt.record_id(self.rule.target.entity, c)}
            )
            is None
        ]
        if len(free) > 1:
            ids = ", ".join(self.tgt.record_id(self.rule.target.entity, c) for c in free[:5])
            raise AmbiguousMatch(
                f"{len(free)} {self.rule.target.entity} records match ({ids})",
                hint=f"link the right one: joist link {self.rule.links} <procore id> <qbo id>",
            )
        return free[0] if free else None

    def apply(
        self,
        decision: Decision,
        record: dict[str, Any],
        sid: str,
        link: Link | None,
        twin: dict[str, Any] | None,
        adopted: bool,
        source_hash: str,
        version: str | None,
    ) -> Outcome | None:
        dry, action = self.sync.dry_run, decision.action
        entity = (decision.result.entity if decision.result else None) or self.rule.target.entity
        twin_id = self.tgt.record_id(entity, twin) if twin is not None else None
        if action == "defer":
            outcome = Outcome(self.rule.flow, sid, "defer", reason=decision.reason)
            if not dry:
                self.state.record_failure(
                    self.rule.flow,
                    sid,
                    code=DEFERRED,
                    message=decision.reason or "waiting",
                    hint="it runs again once the record it refers to has synced",
                    run_id=self.sync.run_id,
                )
                self.sync.known_failures.setdefault(self.rule.flow, set()).add(sid)
            self.deferred[sid] = (record, outcome)
            return self.emit(outcome)
        if action == "error":
            error = (
                decision.result.error
                if decision.result and decision.result.error
                else JoistError(decision.reason or "error")
            )
            return self.fail(sid, error)
        if action == "create":
            if dry:
                return self.out(sid, "create", entity=entity, payload=decision.payload)
            create = PendingCreate(
                sid, self.create_key(sid), entity, decision.payload or {}, source_hash, version, record
            )
            if self.batching:
                self.queue.append(create)
                if len(self.queue) >= self.sync.batch_size:
                    self.flush()
                return None
            return self.create_one(create)
        if not dry and (adopted or link is None) and twin_id is not None:
            # Adopted as it is: both sides count as in sync until one of them changes.
            link = self.save_link(
                None,
                sid,
                twin_id,
                source_hash=None,
                source_version=None,
                target=twin,
                origin="matched",
                source_base=self.reverse_base(twin),
            )
        if action == "skip":
            if twin is not None and self.rule.checks:
                problem = self.verify(record, twin)
                if problem is not None:
                    return self.fail(sid, problem)
            if not dry and link is not None:
                # Only this side's hash moves: the twin's hash marks what Joist itself wrote there (an
                # echo), so an edit made on the twin still reaches the reverse flow.
                self.save_link(
                    link,
                    sid,
                    twin_id or "",
                    source_hash=source_hash,
                    source_version=version,
                    target=None,
                    payload=decision.payload if decision.reason == "unchanged" else None,
                )
            self.succeeded(sid)
            return self.out(
                sid,
                "adopt" if adopted else "skip",
                reason="matched an existing record" if adopted else decision.reason,
                target_id=twin_id,
            )
        if action == "lock":
            if not dry and link is not None and not link.locked:
                self.save_link(
                    link,
                    sid,
                    twin_id or "",
                    source_hash=None,
                    source_version=None,
                    target=None,
                    locked=True,
                    lock_reason=decision.reason,
                )
            self.succeeded(sid)
            return self.out(sid, "lock", reason=decision.reason, changes=decision.changes or [], target_id=twin_id)
        return self.update(decision, record, sid, link, twin, entity, source_hash, version)

    def update(
        self,
        decision: Decision,
        record: dict[str, Any],
        sid: str,
        link: Link | None,
        twin: dict[str, Any] | None,
        entity: str,
        source_hash: str,
        version: str | None,
    ) -> Outcome | None:
        assert twin is not None
        twin_id = self.tgt.record_id(entity, twin)
        if self.sync.dry_run:
            return self.out(sid, "update", entity=entity, target_id=twin_id, changes=decision.changes or [])
        for attempt in (1, 2, 3):
            changed = [c.path for c in decision.changes or []]
            payload = (
                decision.payload if self.rule.update == "full" else sparse_payload(decision.payload or {}, changed)
            )
            try:
                written = self.tgt.update(entity, twin_id, payload or {}, current=twin)
            except Conflict as exc:
                fresh = getattr(exc, "current", None) or self.tgt.get(entity, twin_id)
                if fresh is None or attempt == 3:
                    return self.fail(sid, exc)
                twin = fresh
                result = self.mapper.map(record, links=self.links, target=twin)
                locked = self.mapper.locked(record, twin)
                decision = three_way(decide(result, twin, lock=locked, ignore_item=is_system_line), self.base(link))
                if decision.action != "update":
                    return self.apply(decision, record, sid, link, twin, False, source_hash, version)
                continue
            except AuthError:
                raise
            except ConnectorError as exc:
                return self.fail(sid, exc)
            # What Joist wrote is an echo to suppress, unless the twin held someone's edit too:
            # then the reverse flow must still see the twin as changed.
            stored = getattr(link, f"{self.tgt_col}_hash", None) if link is not None else None
            ours = stored is None or stored == record_hash(self.tgt_side, twin)
            with self.state.transaction():
                self.save_link(
                    link,
                    sid,
                    twin_id,
                    source_hash=source_hash,
                    source_version=version,
                    target=written if ours else None,
                    payload=decision.payload,
                    source_base=self.reverse_base(written) if ours else None,
                )
                self.succeeded(sid)
            problem = self.after_write(sid, record, entity, twin_id, written)
            if problem is not None:
                return problem
            return self.out(sid, "update", entity=entity, target_id=twin_id, changes=decision.changes or [])
        return None

    def delete(self, link: Link | None, sid: str) -> Outcome:
        mode = self.rule.on_delete
        if link is None or mode == "ignore" or not getattr(link, f"{self.tgt_col}_id"):
            return self.out(sid, "skip", reason="deleted at the source" + (" (on_delete: ignore)" if link else ""))
        twin_id = getattr(link, f"{self.tgt_col}_id")
        if self.sync.dry_run:
            return self.out(sid, "delete", reason=f"on_delete: {mode}", target_id=twin_id)
        try:
            # The twin as it is now: its version guards the delete, and it tells the
            # connector where the record lives (a Procore project, say).
            twin = self.tgt.get(self.rule.target.entity, twin_id)
            if twin is not None:
                self.tgt.delete(self.rule.target.entity, twin_id, mode=mode, current=twin)
        except AuthError:
            raise
        except ConnectorError as exc:
            return self.fail(sid, exc)
        self.state.remove_link(self.rule.links, **{f"{self.src_col}_id": sid})
        return self.out(sid, "delete", reason=f"on_delete: {mode}", target_id=twin_id)

    # -- creates -------------------------------------------------------------------------

    def run(self, *, full: bool, only: set[str] | None = None) -> FlowReport:
        rule, state, dry = self.rule, self.state, self.sync.dry_run
        done: set[str] = set() if dry else self.recover()
        retry = set(self.sync.failing.get(rule.flow, ()))
        cursor_name = f"{rule.source.entity}#{rule.flow}"
        if only is None:
            since = None if full else state.cursor(self.src_side, cursor_name)
            cursor = None
            for page in self.src.read(rule.source.entity, since=since):
                for record in page.records:
                    self.report.reads += 1
                    parts = self.parts(record)
                    if not parts:
                        self.out(self.src.record_id(rule.source.entity, record), "skip", reason=NO_GROUP)
                    for sid, part in parts:
                        if sid in done:
                            continue
                        done.add(sid)
                        self.process(part, sid, force=sid in retry)
                cursor = page.cursor or cursor
                crashpoint("after_read")
                self.flush()
        for sid in sorted((retry if only is None else only) - done):
            record = self.fetch(sid)
            done.add(sid)
            if record is None:
                if not dry:
                    state.clear_failure(rule.flow, sid)
                self.out(sid, "skip", reason="no longer exists at the source")
                continue
            self.process(record, sid, force=True)
        self.flush()
        if only is None and not dry and cursor:
            state.set_cursor(self.src_side, cursor_name, cursor)
        return self.report

    def parts(self, record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The record as the flow sees it: itself, or one record per group (`source.split`)."""
        sid = self.src.record_id(self.rule.source.entity, record)
        if is_deleted(self.src_side, record) or self.rule.source.split is None:
            if self.rule.source.split is not None:  # a deleted record takes all its groups with it
                prefix = sid + SEPARATOR
                column = f"{self.src_side}_id"
                return [
                    (getattr(l, column), record)
                    for l in self.state.links(self.rule.links)
                    if str(getattr(l, column) or "").startswith(prefix)
                ]
            return [(sid, record)]
        return list(groups(self.rule, record, sid, lookups=self.sync.ruleset.lookups, params=self.mapper.params))

    def fetch(self, sid: str) -> dict[str, Any] | None:
        """One source record (or group) by the id the flow knows it by."""
        record = self.src.get(self.rule.source.entity, parent_id(self.rule, sid))
        if record is None or self.rule.source.split is None:
            return record
        return dict(self.parts(record)).get(sid)

    def rerun_deferred(self) -> None:
        """Deferred records once more, now that the rest of the run has made its links."""
        waiting, self.deferred = self.deferred, {}
        for sid, (record, old) in waiting.items():
            self.report.counts[old.action] -= 1
            if old in self.report.outcomes:
                self.report.outcomes.remove(old)
            self.process(record, sid, force=True)
        self.flush()


class Sync:
    """Plans or runs the selected flows of a rule set against open connectors."""

    def __init__(
        self,
        ruleset: RuleSet,
        connectors: Mapping[str, Connector],
        state: SQLiteState,
        *,
        params: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        listener: Listener | None = None,
        batch_size: int = 30,
    ) -> None:
        self.ruleset, self.connectors, self.state = ruleset, dict(connectors), state
        self.params = dict(params or {})
        self.dry_run, self.listener, self.batch_size = dry_run, listener, batch_size
        self.graph = build_graph(ruleset)
        self.run_id: int | None = None
        self.failing: dict[str, set[str]] = {}  # to retry in this run
        self.known_failures: dict[str, set[str]] = {}  # every recorded failure, to clear on success

    def enabled(self, rule: Rule) -> str | None:
        """None when the flow runs, else why not."""
        if rule.enabled is False:
            return "enabled: false"
        if rule.enabled is not True:
            params = {**rule.default_params(), **self.params}
            if not truthy(rule.enabled.evaluate({"params": params}, Runtime())):
                return f"enabled is false: {rule.enabled.text}"
        return None

    def run(
        self,
        flows: list[str] | None = None,
        *,
        full: bool = False,
        retry_only: bool = False,
        command: str = "sync",
        selection: str = "",
    ) -> RunReport:
        """Run (or plan) `flows` in dependency order; the report says what happened to every record."""
        chosen = order(self.graph, set(flows) if flows is not None else None)
        report = RunReport(command)
        if not self.dry_run:
            self.run_id = self.state.start_run(command, selection)
            report.run_id = self.run_id
        # A sync retries deferred records and failures whose next attempt is due; `retry`
        # (after the user fixed something) takes every failure at once.
        due = {(f.flow, f.source_id) for f in self.state.failures(due=True)}
        for failure in self.state.failures():
            self.known_failures.setdefault(failure.flow, set()).add(failure.source_id)
            if retry_only or failure.code == DEFERRED or (failure.flow, failure.source_id) in due:
                self.failing.setdefault(failure.flow, set()).add(failure.source_id)
        runs: list[FlowRun] = []
        status = "failed"
        try:
            for flow in chosen:
                rule = self.ruleset.rules[flow]
                off = self.enabled(rule)
                if off:
                    report.flows.append(FlowReport(flow, disabled=off))
                    continue
                flow_run = FlowRun(self, rule)
                runs.append(flow_run)
                only = self.failing.get(flow, set()) if retry_only else None
                report.flows.append(flow_run.run(full=full, only=only))
            for flow_run in runs:
                if flow_run.deferred:
                    flow_run.rerun_deferred()
            status = "ok" if report.ok else "failed"
        finally:
            if self.run_id is not None:
                totals = report.totals()
                self.state.finish_run(self.run_id, status, dict(totals))
        return report
