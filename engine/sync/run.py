"""The sync engine: run flows in dependency order, every record exactly once.

Each record of a flow's source walks one pipeline, each step in its own module, entered
once: read (here: pages, `source.split` groups, retries) -> plan (`plan.Planner`: its link
and twin, mapped once, decided: create, update, skip, lock, defer, error) -> write and link
(`writes.Writer`), reporting through `outcomes.Outcomes`. The guarantees:

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

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from connectors.base import Connector
from engine.expressions.functions import RecordReader, Runtime
from engine.language.graph import build_graph, order
from engine.language.rules import Rule, RuleSet
from engine.language.tree import truthy
from engine.mapping.mapper import Mapper
from engine.mapping.split import NO_GROUP, SEPARATOR, groups, parent_id
from engine.state.records import Failure
from engine.state.store import State
from engine.sync.crashpoints import crashpoint
from engine.sync.links import FlowLinks
from engine.sync.outcomes import DEFERRED, Listener, Outcomes
from engine.sync.plan import Planner
from engine.sync.report import FlowReport, Outcome, RunReport
from engine.sync.twins import MatchIndex, record_hash
from engine.sync.writes import Writer

READ_BY_ID_UP_TO = 3  # run_records: more changed records of one flow than this are read by cursor


def source_reader(connector: Connector) -> RecordReader:
    """`source_record()`'s reader for one flow's run: each record read once, then remembered."""
    seen: dict[tuple[str, str], dict[str, Any] | None] = {}

    def read(entity: str, record_id: str) -> dict[str, Any] | None:
        key = (entity, record_id)
        if key not in seen:
            seen[key] = connector.get(entity, record_id)
        return seen[key]

    return read


class FlowRun:
    """One flow's part of a run: reads its records and walks each through plan and write."""

    def __init__(self, sync: Sync, rule: Rule) -> None:
        self.sync, self.rule = sync, rule
        self.state: State = sync.state
        self.src: Connector = sync.connectors[rule.source.system]
        tgt: Connector = sync.connectors[rule.target.system]
        self.mapper = Mapper(rule, sync.params, sync.ruleset.lookups)
        self.mapper.records = source_reader(self.src)
        reverse = [
            r
            for r in sync.ruleset.rules.values()
            if r.links == rule.links
            and r.flow != rule.flow
            and (r.source.system, r.target.system) == (rule.target.system, rule.source.system)
        ]
        back = Mapper(reverse[0], sync.params, sync.ruleset.lookups) if reverse else None
        self.links = FlowLinks(rule, self.state, tgt, back, self.mapper.params)
        self.outcomes = Outcomes(
            rule.flow,
            self.state,
            dry_run=sync.dry_run,
            run_id=sync.run_id,
            listener=sync.listener,
            known_failures=sync.known_failures,
        )
        match = None
        if rule.match and sync.match_cache is not None:  # the service: one index per flow across its runs
            match = sync.match_cache.setdefault(rule.flow, MatchIndex(tgt, rule.target.entity, rule.match))
            match.catch_up(tgt)
        self.planner = Planner(rule, self.mapper, self.links, self.src, tgt, dry_run=sync.dry_run, match=match)
        self.writer = Writer(
            rule,
            self.state,
            self.src,
            tgt,
            self.mapper,
            self.links,
            self.outcomes,
            self.planner,
            dry_run=sync.dry_run,
            batch_size=sync.batch_size,
        )
        self.deferred: dict[str, tuple[dict[str, Any], Outcome]] = {}
        self.waiting_on: dict[str, list[tuple[str, str]]] = {}  # deferred sid -> (link set, key) it waits for

    @property
    def report(self) -> FlowReport:
        return self.outcomes.report

    def process(self, record: dict[str, Any], sid: str, *, force: bool = False, verify: bool = False) -> Outcome | None:
        """One record, read -> plan -> write; a deferred one is kept for the same run's second pass.

        `verify` (sync --full): check that an unchanged record's twin still exists."""
        step = self.planner.plan(record, sid, force=force, verify=verify)
        outcome = self.writer.apply(step)
        if outcome is not None and outcome.action == "defer":
            self.deferred[sid] = (record, outcome)
            result = step.decision.result if step.decision is not None else None
            self.waiting_on[sid] = list(result.missing) if result is not None else []
        return outcome

    def run(self, *, full: bool, only: set[str] | None = None) -> FlowReport:
        """Every changed record of the flow (or only `only`), then the failures due for a retry."""
        rule, state, dry = self.rule, self.state, self.sync.dry_run
        self.writer.full = full
        done: set[str] = set() if dry else self.recover()
        retry = set(self.sync.failing.get(rule.flow, ()))
        cursor_name = f"{rule.source.entity}#{rule.flow}"
        cursor = None
        if only is None:
            since = None if full else state.cursor(rule.source.system, cursor_name)
            for page in self.src.read(rule.source.entity, since=since):
                self.read_twins_ahead(page.records, verify=full)
                for record in page.records:
                    if self.sync.stopping():
                        break
                    self.report.reads += 1
                    parts = self.parts(record)
                    if not parts:
                        self.outcomes.out(self.src.record_id(rule.source.entity, record), "skip", reason=NO_GROUP)
                    for sid, part in parts:
                        if sid in done:
                            continue
                        done.add(sid)
                        self.process(part, sid, force=sid in retry, verify=full)
                cursor = page.cursor or cursor
                crashpoint("after_read")
                self.writer.flush(updates=False)  # updates wait to fill a batch across pages
                if self.sync.stopping():
                    break
        for sid in sorted((retry if only is None else only) - done):
            if self.sync.stopping():
                break
            fetched = self.fetch(sid)
            done.add(sid)
            if fetched is None:
                if not dry:
                    state.clear_failure(rule.flow, sid)
                self.outcomes.out(sid, "skip", reason="no longer exists at the source")
                continue
            self.process(fetched, sid, force=True)
        self.writer.flush()
        if only is None and not dry and cursor and not self.sync.stopping():
            state.set_cursor(rule.source.system, cursor_name, cursor)
        return self.report

    def read_twins_ahead(self, records: list[dict[str, Any]], *, verify: bool) -> None:
        """Read, many per request, the twins a page's records will be compared with: those
        linked whose content moved since their last sync (all linked ones with `verify`)."""
        wanted: list[str] = []
        entity = self.rule.source.entity
        for record in records:
            for sid, part in self.parts(record):
                link = self.links.find(sid)
                target_id = self.links.target_id(link) if link is not None else None
                if target_id and (verify or self.links.source_hash(link) != record_hash(self.src, entity, part)):
                    wanted.append(target_id)
        self.planner.twins.read_ahead(wanted)

    def run_records(self, record_ids: Iterable[str]) -> FlowReport:
        """Only these source records (a webhook's), each read by id: never a scan, no cursor moved.

        A record gone from the source is skipped; its deletion reaches the next poll, whose
        feed carries it (QBO CDC) or shows it soft-deleted."""
        entity, done = self.rule.source.entity, set() if self.sync.dry_run else self.recover()
        for record_id in sorted(set(record_ids)):
            if self.sync.stopping():
                break
            key = (entity, record_id)
            if key not in self.sync.fetched:  # flows reading the same entity share one read
                self.sync.fetched[key] = self.src.get(entity, record_id)
                self.report.reads += 1
            record = self.sync.fetched[key]
            if record is None:
                self.outcomes.out(
                    record_id, "skip", reason="not found at the source (a deletion reaches the next poll)"
                )
                continue
            for sid, part in self.parts(record):
                if sid not in done:
                    done.add(sid)
                    self.process(part, sid)
        self.writer.flush()
        return self.report

    def recover(self) -> set[str]:
        """Finish the writes a dead run left in flight. Returns the source ids it handled."""
        handled = self.writer.replay_batches(self.fetch)
        for intent in self.state.pending_intents(self.rule.flow):
            if intent.batch_key or intent.source_id in handled:
                continue
            record = self.fetch(intent.source_id)
            handled.add(intent.source_id)
            if record is None:
                self.state.abandon_intent(intent.key)
                continue
            self.process(record, intent.source_id, force=True)
        self.writer.flush()
        return handled

    def parts(self, record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The record as the flow sees it: itself, or one record per group (`source.split`)."""
        entity = self.rule.source.entity
        sid = self.src.record_id(entity, record)
        if self.src.is_deleted(entity, record) or self.rule.source.split is None:
            if self.rule.source.split is not None:  # a deleted record takes all its groups with it
                prefix = sid + SEPARATOR  # (a record of one group is linked by its own id)
                column = f"{self.links.src_col}_id"
                return [
                    (getattr(link, column), record)
                    for link in self.state.links(self.rule.links)
                    if str(getattr(link, column) or "").startswith(prefix) or getattr(link, column) == sid
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
        self.waiting_on = {}
        for sid, (record, old) in waiting.items():
            self.outcomes.withdraw(old)
            self.process(record, sid, force=True)
        self.writer.flush()


RECORDED = ("create", "update", "adopt", "delete", "error")  # what a run remembers per record


def _written(report: RunReport) -> Iterator[tuple[str, str, str, str | None, str | None]]:
    """The records a run changed or failed on, as the state's run_records rows."""
    for flow in report.flows:
        for o in flow.outcomes:
            if o.action in RECORDED:
                yield o.flow, o.source_id, o.action, o.target_id, (o.error or {}).get("code")


class Sync:
    """Plans or runs the selected flows of a rule set against open connectors."""

    def __init__(
        self,
        ruleset: RuleSet,
        connectors: Mapping[str, Connector],
        state: State,
        *,
        params: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        listener: Listener | None = None,
        batch_size: int = 30,
        stop: threading.Event | None = None,
        match_cache: dict[str, MatchIndex] | None = None,
        switched_off: Collection[str] = (),
    ) -> None:
        self.ruleset, self.connectors, self.state = ruleset, dict(connectors), state
        self.match_cache = match_cache  # kept by the service between runs; None: each run reads its own
        self.stop = stop  # set by the service when it shuts down: finish the record in hand, take no more
        self.fetched: dict[tuple[str, str], dict[str, Any] | None] = {}  # run_records: one read per record
        self.params = dict(params or {})
        self.switched_off = frozenset(switched_off)  # the project's `flows: {NAME: {enabled: false}}`
        self.dry_run, self.listener, self.batch_size = dry_run, listener, batch_size
        self.graph = build_graph(ruleset)
        self.run_id: int | None = None
        self.failing: dict[str, set[str]] = {}  # to retry in this run
        self.known_failures: dict[str, set[str]] = {}  # every recorded failure, to clear on success

    def stopping(self) -> bool:
        """Whether the run was asked to stop before its next record."""
        return self.stop is not None and self.stop.is_set()

    def enabled(self, rule: Rule) -> str | None:
        """None when the flow runs, else why not."""
        if rule.flow in self.switched_off:
            return f"switched off in the project (flows.{rule.flow}.enabled: false)"
        if rule.enabled is False:
            return "enabled: false"
        if rule.enabled is not True:
            params = {**rule.default_params(), **self.params}
            if not truthy(rule.enabled.evaluate({"params": params}, Runtime())):
                return f"enabled is false: {rule.enabled.text}"
        return None

    def _upstream_off(self, flow_report: FlowReport) -> FlowReport:
        """Name, in the report of a flow that runs, the flows it depends on that the project switched
        off: its records that need their links wait, and the user should know why. (A flow its own
        rule keeps off, the other of two alternatives, is by design and not named.)"""
        flow_report.upstream_off = sorted(set(self.graph.predecessors(flow_report.flow)) & self.switched_off)
        return flow_report

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
        with self._recorded(command, selection) as (report, failures):
            # A sync retries deferred records and failures whose next attempt is due; `retry`
            # (after the user fixed something) takes every failure at once.
            due = {(f.flow, f.source_id) for f in self.state.failures(due=True)}
            for failure in failures:
                if retry_only or failure.code == DEFERRED or (failure.flow, failure.source_id) in due:
                    self.failing.setdefault(failure.flow, set()).add(failure.source_id)
            runs: list[FlowRun] = []
            for flow in chosen:
                rule = self.ruleset.rules[flow]
                off = self.enabled(rule)
                if off:
                    report.flows.append(FlowReport(flow, disabled=off))
                    continue
                flow_run = FlowRun(self, rule)
                runs.append(flow_run)
                only = self.failing.get(flow, set()) if retry_only else None
                report.flows.append(self._upstream_off(flow_run.run(full=full, only=only)))
            for flow_run in runs:
                if flow_run.deferred:
                    flow_run.rerun_deferred()
        return report

    @contextmanager
    def _recorded(self, command: str, selection: str) -> Iterator[tuple[RunReport, list[Failure]]]:
        """A run's report and its row in the runs table (none in a dry run), finished however the
        run ends; also every failure recorded so far, which a record clears when it succeeds."""
        report = RunReport(command)
        if not self.dry_run:
            self.run_id = self.state.start_run(command, selection)
            report.run_id = self.run_id
        failures = self.state.failures()
        for failure in failures:
            self.known_failures.setdefault(failure.flow, set()).add(failure.source_id)
        status = "failed"
        try:
            yield report, failures
            report.interrupted = self.stopping()
            status = "ok" if report.ok else "failed"
        finally:
            if self.run_id is not None:
                self.state.record_run_outcomes(self.run_id, _written(report))
                self.state.finish_run(self.run_id, status, dict(report.totals()))

    def run_records(self, targets: Mapping[str, Iterable[str]], *, command: str = "serve") -> RunReport:
        """Sync only the named source records of the named flows (what webhooks reported).

        Flows run in dependency order. A record that waits for a link another flow makes
        (a new vendor's first bill) pulls that flow's record in, by the id its `ref()` named,
        then runs again in the same call, so it does not wait for the next poll.
        """
        with self._recorded(command, ",".join(sorted(targets))) as (report, _):
            runs: dict[str, FlowRun] = {}
            for flow in order(self.graph, set(targets)):
                rule = self.ruleset.rules[flow]
                off = self.enabled(rule)
                if off:
                    report.flows.append(FlowReport(flow, disabled=off))
                    continue
                runs[flow] = FlowRun(self, rule)
                ids = set(targets[flow])
                # Many records of one flow: one incremental read by cursor costs less than a read each.
                flow_report = runs[flow].run(full=False) if len(ids) > READ_BY_ID_UP_TO else runs[flow].run_records(ids)
                report.flows.append(self._upstream_off(flow_report))
            self._pull_dependencies(runs, report)
        return report

    def _producer(self, link_set: str, waiting: Rule) -> Rule | None:
        """The enabled flow that makes `link_set`'s links from the waiting flow's source side."""
        for flow in self.ruleset.producers(link_set):
            rule = self.ruleset.rules[flow]
            if rule.source.system == waiting.source.system and self.enabled(rule) is None:
                return rule
        return None

    def _pull_dependencies(self, runs: dict[str, FlowRun], report: RunReport, rounds: int = 5) -> None:
        """Sync the records deferred records wait for, then those deferred records again."""
        for _ in range(rounds):
            if self.stopping():
                return
            pulled = False
            for flow_run in list(runs.values()):
                for link_set, key in {pair for pairs in flow_run.waiting_on.values() for pair in pairs}:
                    producer = self._producer(link_set, flow_run.rule)
                    if producer is None:
                        continue
                    if producer.flow not in runs:
                        runs[producer.flow] = FlowRun(self, producer)
                        report.flows.append(runs[producer.flow].report)
                    record = runs[producer.flow].fetch(key)
                    if record is not None:
                        runs[producer.flow].process(record, key, force=True)
                        pulled = True
            if not pulled:
                return
            chosen = order(self.graph, set(runs))
            for flow in chosen:
                runs[flow].writer.flush()
            for flow in chosen:
                if runs[flow].deferred:
                    runs[flow].rerun_deferred()
