"""The second half of a record's trip: carry a planned step out, then link it.

`Writer.apply` takes the `Step` the planner made and writes: a create is announced (an
intent with a deterministic key, on disk) before it is sent; where the target takes
several creates a request (QBO: thirty to a `/batch` under one requestid) each intent
keeps its place in the batch, so a run that died mid-batch replays it whole and reads the
replayed answer item by item. An update is sparse unless the rule says `update: full`,
and a stale version (QBO 5010) is re-read and re-planned, never blindly retried. After
every write the rule's `checks` are compared with what the target now holds, and its
files are copied. Each write ends with its link, committed with the intent's completion.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import AuthError, BatchOp, Conflict, Connector, ConnectorError, FileRef
from engine.errors import JoistError
from engine.language.rules import Rule
from engine.mapping.diff import Decision, same
from engine.mapping.mapper import Mapper
from engine.state.records import content_hash, intent_key
from engine.state.store import State
from engine.sync.attachments import copy_files, files_for_create, follow_files, link_sent_files
from engine.sync.crashpoints import crashpoint
from engine.sync.links import FlowLinks
from engine.sync.outcomes import Outcomes
from engine.sync.plan import Planner, Step
from engine.sync.report import Outcome
from engine.sync.twins import made_as, record_hash, sparse_payload

Fetch = Callable[[str], "dict[str, Any] | None"]


class TotalMismatch(JoistError):
    """After a write, the target system holds another figure than the source (a `checks:` rule)."""

    code = "M409"


@dataclasses.dataclass
class PendingCreate:
    """A create waiting in the batch queue (or being recovered)."""

    source_id: str
    key: str
    entity: str
    payload: dict[str, Any]
    source_hash: str
    version: str | None
    source: dict[str, Any] | None = None
    reason: str | None = None  # why a linked record is created (its twin is gone)


class Writer:
    """Writes the steps of one flow (see the module docstring)."""

    def __init__(
        self,
        rule: Rule,
        state: State,
        src: Connector,
        tgt: Connector,
        mapper: Mapper,
        links: FlowLinks,
        outcomes: Outcomes,
        planner: Planner,
        *,
        dry_run: bool,
        batch_size: int,
    ) -> None:
        self.rule, self.state, self.src, self.tgt = rule, state, src, tgt
        self.mapper, self.links, self.outcomes, self.planner = mapper, links, outcomes, planner
        self.dry_run = dry_run
        self.batch_size = min(batch_size, tgt.batch_size())
        self.queue: list[PendingCreate] = []
        self.updates: list[tuple[Step, str]] = []  # updates waiting for a batch request, with their entity
        self.full = False  # `sync --full`: every record's files are looked at, changed or not

    # -- one step ------------------------------------------------------------------------

    def apply(self, step: Step) -> Outcome | None:
        """Carry out a planned step. None while a create waits in the batch queue."""
        out = self.outcomes
        if step.deleted:
            return self.delete(step)
        if step.unchanged:
            # A file added at the source leaves the record's hash alone where the system keeps
            # files apart (QBO); `sync --full` looks at every record's files.
            if step.link is not None and (self.full or not self.src.files_in_record()):
                linked_id = self.links.target_id(step.link) or ""
                followed = self.follow_files(step.sid, step.record, self.rule.target.entity, linked_id, None)
                if followed is not None:
                    return followed
            return out.out(step.sid, "skip", reason="unchanged since the last sync")
        if step.left_alone is not None:
            return out.out(step.sid, "skip", reason=step.left_alone)
        if step.error is not None:
            return out.fail(step.sid, step.error)
        assert step.decision is not None
        decision, sid, twin = step.decision, step.sid, step.twin
        action = decision.action
        entity = (decision.result.entity if decision.result else None) or self.rule.target.entity
        twin_id = self.tgt.record_id(entity, twin) if twin is not None else None
        if action == "defer":
            return out.defer(sid, decision.reason)
        if action == "error":
            error = decision.result.error if decision.result and decision.result.error else None
            return out.fail(sid, error or JoistError(decision.reason or "error"))
        if action == "create":
            reason = self.gone_reason(step.gone, entity)
            if self.dry_run:
                return out.out(sid, "create", entity=entity, payload=decision.payload, reason=reason)
            create = PendingCreate(
                sid,
                self.create_key(sid),
                entity,
                decision.payload or {},
                step.source_hash,
                step.version,
                step.record,
                reason,
            )
            if self.batch_size > 1:
                self.queue.append(create)
                if len(self.queue) >= self.batch_size:
                    self.flush()
                return None
            return self.create_one(create)
        link = step.link
        if not self.dry_run and (step.adopted or link is None) and twin_id is not None:
            # Adopted as it is: both sides count as in sync until one of them changes.
            link = self.links.save(
                None,
                sid,
                twin_id,
                source_hash=None,
                source_version=None,
                target=twin,
                origin="matched",
                source_base=self.links.reverse_base(twin),
            )
        if action == "skip":
            if twin is not None and self.rule.checks:
                problem = self.verify(step.record, twin)
                if problem is not None:
                    return out.fail(sid, problem)
            if not self.dry_run and link is not None:
                # Only this side's hash moves: the twin's hash marks what Joist itself wrote there (an
                # echo), so an edit made on the twin still reaches the reverse flow.
                self.links.save(
                    link,
                    sid,
                    twin_id or "",
                    source_hash=step.source_hash,
                    source_version=step.version,
                    target=None,
                    payload=decision.payload if decision.reason == "unchanged" else None,
                    refresh_rule=decision.result is not None and decision.result.outcome == "mapped",
                )
            out.succeeded(sid)
            if step.adopted:
                return out.out(sid, "adopt", reason="matched an existing record", target_id=twin_id)
            followed = self.follow_files(sid, step.record, entity, twin_id or "", twin)
            if followed is not None:
                return followed
            return out.out(sid, "skip", reason=decision.reason, target_id=twin_id)
        if action == "lock":
            if not self.dry_run and link is not None and not link.locked:
                self.links.save(
                    link,
                    sid,
                    twin_id or "",
                    source_hash=None,
                    source_version=None,
                    target=None,
                    locked=True,
                    lock_reason=decision.reason,
                )
            out.succeeded(sid)
            # files still follow a twin locked by the rule, unless its system refuses them
            followed = self.follow_files(sid, step.record, entity, twin_id or "", twin, quiet_when_frozen=True)
            if followed is not None:
                return followed
            return out.out(sid, "lock", reason=decision.reason, changes=decision.changes or [], target_id=twin_id)
        return self.update(dataclasses.replace(step, link=link), entity)

    def update(self, step: Step, entity: str, *, alone: bool = False) -> Outcome | None:
        """A sparse update of the twin; a stale version is re-read and re-planned (three tries).

        Where the target takes batches, the update waits in a queue (None) unless `alone`."""
        assert step.twin is not None and step.decision is not None
        twin, decision, link, sid = step.twin, step.decision, step.link, step.sid
        twin_id = self.tgt.record_id(entity, twin)
        if self.dry_run:
            return self.outcomes.out(
                sid, "update", entity=entity, target_id=twin_id, changes=decision.changes or [], reason=decision.reason
            )
        if self.batch_size > 1 and not alone:
            self.updates.append((step, entity))
            if len(self.updates) >= self.batch_size:
                self.flush_updates()
            return None
        for attempt in (1, 2, 3):
            try:
                written = self.tgt.update(entity, twin_id, self.update_payload(decision), current=twin)
            except Conflict as exc:
                fresh = getattr(exc, "current", None) or self.tgt.get(entity, twin_id)
                if fresh is None or attempt == 3:
                    return self.outcomes.fail(sid, exc)
                twin = fresh
                decision = self.planner.decide(step.record, twin, link)
                if decision.action != "update":
                    return self.apply(dataclasses.replace(step, twin=twin, decision=decision, adopted=False))
                continue
            except AuthError:
                raise
            except ConnectorError as exc:
                return self.outcomes.fail(sid, exc)
            return self.updated(dataclasses.replace(step, twin=twin, decision=decision), entity, written)
        return None

    def replan_stale(self, step: Step, entity: str, stale: Conflict) -> Outcome | None:
        """A batched update met a newer version: plan again on the twin as it is now, alone."""
        assert step.twin is not None
        fresh = getattr(stale, "current", None) or self.tgt.get(entity, self.tgt.record_id(entity, step.twin))
        if fresh is None:
            return self.outcomes.fail(step.sid, stale)
        decision = self.planner.decide(step.record, fresh, step.link)
        again = dataclasses.replace(step, twin=fresh, decision=decision, adopted=False)
        return self.update(again, entity, alone=True) if decision.action == "update" else self.apply(again)

    def update_payload(self, decision: Decision) -> dict[str, Any]:
        """What an update sends: the whole payload (`update: full`) or only the changed paths."""
        if self.rule.update == "full":
            return dict(decision.payload or {})
        return sparse_payload(decision.payload or {}, [c.path for c in decision.changes or []])

    def updated(self, step: Step, entity: str, written: dict[str, Any]) -> Outcome:
        """Record an update the target took: the link's hashes, then the files that follow."""
        assert step.twin is not None and step.decision is not None
        twin, decision, link, sid = step.twin, step.decision, step.link, step.sid
        twin_id = self.tgt.record_id(entity, twin)
        # What Joist wrote is an echo to suppress, unless the twin held someone's edit too:
        # then the reverse flow must still see the twin as changed.
        stored = self.links.target_hash(link)
        ours = stored is None or stored == record_hash(self.tgt, entity, twin)
        with self.state.transaction():
            self.links.save(
                link,
                sid,
                twin_id,
                source_hash=step.source_hash,
                source_version=step.version,
                target=written if ours else None,
                payload=decision.payload,
                source_base=self.links.reverse_base(written) if ours else None,
            )
            self.outcomes.succeeded(sid)
        problem = self.after_write(sid, step.record, entity, twin_id, written)
        if problem is not None:
            return problem
        return self.outcomes.out(
            sid, "update", entity=entity, target_id=twin_id, changes=decision.changes or [], reason=decision.reason
        )

    def flush_updates(self) -> None:
        """Send the queued updates, a batch request per entity (`update_many`). A stale item is
        updated again alone, which re-reads and re-plans it; any other refusal fails its record."""
        queue, self.updates = self.updates, []
        by_entity: dict[str, list[Step]] = {}
        for step, entity in queue:
            by_entity.setdefault(entity, []).append(step)
        for entity, steps in by_entity.items():
            items = []
            for step in steps:
                assert step.twin is not None and step.decision is not None
                items.append((self.tgt.record_id(entity, step.twin), self.update_payload(step.decision), step.twin))
            try:
                answers = self.tgt.update_many(entity, items)
            except AuthError:
                raise
            except ConnectorError as exc:  # the whole request failed: each record is retried next run
                for step in steps:
                    self.outcomes.fail(step.sid, exc)
                continue
            for step, answer in zip(steps, answers, strict=True):
                if isinstance(answer, Conflict):
                    self.replan_stale(step, entity, answer)
                elif isinstance(answer, ConnectorError):
                    self.outcomes.fail(step.sid, answer)
                else:
                    self.updated(step, entity, answer)

    def delete(self, step: Step) -> Outcome:
        """Apply the flow's `on_delete` to the twin of a record deleted at the source."""
        mode, link, sid = self.rule.on_delete, step.link, step.sid
        twin_id = self.links.target_id(link)
        if link is None or mode in ("ignore", "report") or not twin_id:
            reason = "deleted at the source" + (f" (on_delete: {mode})" if link else "")
            return self.outcomes.out(sid, "skip", reason=reason)
        if self.dry_run:
            return self.outcomes.out(sid, "delete", reason=f"on_delete: {mode}", target_id=twin_id)
        try:
            # The twin as it is now, in the entity it is (entity_when may have made a VendorCredit
            # of a Bill flow): its version guards the delete, and it tells the connector where
            # the record lives (a Procore project, say).
            found = self.planner.twins.locate(twin_id, first=made_as(self.state, self.rule.flow, sid, twin_id))
            if found is not None:
                self.tgt.delete(found[0], twin_id, mode=mode, current=found[1])
        except AuthError:
            raise
        except ConnectorError as exc:
            return self.outcomes.fail(sid, exc)
        self.links.remove(sid)
        return self.outcomes.out(sid, "delete", reason=f"on_delete: {mode}", target_id=twin_id)

    # -- creates ---------------------------------------------------------------------------

    def gone_reason(self, gone: str | None, entity: str) -> str | None:
        """What a create says when it makes again a twin found gone on the target."""
        if gone is None:
            return None
        return f"twin gone: {self.tgt.system} {entity} {gone} no longer exists; made again"

    def create_key(self, sid: str) -> str:
        """The idempotency key of the next create of `sid` (a fresh one after a done or abandoned intent)."""
        key = intent_key(self.rule.flow, sid)
        earlier = self.state.intent(key)
        while earlier is not None and earlier.state in ("done", "abandoned"):
            # Done: made once, since deleted on the target. Abandoned: refused, and QBO
            # would replay the refusal to the same requestid, so the retry needs its own.
            tail = (earlier.target_id or "") if earlier.state == "done" else earlier.key
            key = intent_key(self.rule.flow, sid, "again", tail)
            earlier = self.state.intent(key)
        return key

    def create_one(self, c: PendingCreate) -> Outcome:
        """One create behind its intent; a retry after a lost answer finds the record instead of making another."""
        intent = self.state.begin_intent(
            self.rule.flow,
            c.source_id,
            c.key,
            action="create",
            target_system=self.tgt.system,
            target_entity=c.entity,
            payload_hash=content_hash(c.payload),
        )
        crashpoint("after_intent")
        files: list[tuple[FileRef, bytes]] = []
        try:
            created = self.tgt.find_created(c.entity, c.key) if intent.attempts > 1 else None
            if created is None:
                if self.rule.attachments and c.source is not None:
                    files = [
                        (f, f.fetch()) for f in files_for_create(self.src, self.rule.source.entity, c.source, self.tgt)
                    ]
                sent = [(f.filename, body, f.content_type) for f, body in files]
                created = self.tgt.create(
                    c.entity,
                    c.payload,
                    idempotency_key=c.key,
                    attachments=sent or None,
                    synced=self.rule.source.system != self.tgt.system,
                )
            crashpoint("after_write")
        except AuthError:
            raise
        except ConnectorError as exc:
            if not exc.retryable:
                self.state.abandon_intent(c.key)
            return self.outcomes.fail(c.source_id, exc)
        if files:
            target_id = self.tgt.record_id(c.entity, created)
            link_sent_files(
                self.state,
                self.rule.links,
                self.src,
                self.tgt,
                [f for f, _ in files],
                created,
                target_id,
                self.rule.flow,
            )
        with self.state.transaction():
            self.link_created(c, created)
        return self.finish_created(c, created)

    def link_created(self, c: PendingCreate, record: dict[str, Any]) -> None:
        """Record the link of a create and complete its intent (call inside a transaction)."""
        target_id = self.tgt.record_id(c.entity, record)
        self.links.save(
            None,
            c.source_id,
            target_id,
            source_hash=c.source_hash,
            source_version=c.version,
            target=record,
            origin=self.src.system,
            payload=c.payload,
            source_base=self.links.reverse_base(record),
        )
        self.state.complete_intent(c.key, target_id=target_id)
        self.outcomes.succeeded(c.source_id)

    def finish_created(self, c: PendingCreate, record: dict[str, Any]) -> Outcome:
        """What follows a committed link: the crash point, the match index, the rule's checks."""
        target_id = self.tgt.record_id(c.entity, record)
        crashpoint("after_link")
        if self.planner.match is not None:
            self.planner.match.add(record)
        problem = self.after_write(c.source_id, c.source, c.entity, target_id, record)
        if problem is not None:
            return problem
        return self.outcomes.out(c.source_id, "create", entity=c.entity, target_id=target_id, reason=c.reason)

    def flush(self, *, updates: bool = True) -> None:
        """Send the queued creates as one batch request, then the queued updates (unless
        `updates` is false: a page boundary leaves them to fill their batch)."""
        queue, self.queue = self.queue, []
        if queue:
            self.flush_creates(queue)
        if updates:
            self.flush_updates()

    def flush_creates(self, queue: list[PendingCreate]) -> None:
        """The queued creates as one batch request, behind their intents."""
        batch_key = intent_key("batch", self.rule.flow, *[c.key for c in queue])
        entries: list[tuple[str, str, str | None]] = [(c.source_id, c.key, content_hash(c.payload)) for c in queue]
        self.state.begin_batch(
            self.rule.flow,
            entries,
            batch_key,
            action="create",
            target_system=self.tgt.system,
            target_entity=self.rule.target.entity,
        )
        crashpoint("after_intent")
        self.send_batch(queue, batch_key, [i + 1 for i in range(len(queue))])

    def send_batch(self, queue: list[PendingCreate], batch_key: str, bids: list[int]) -> None:
        """One batch request under `batch_key`; each item is linked, or fails alone."""
        ops = [BatchOp("create", c.entity, c.payload, bid=str(b)) for c, b in zip(queue, bids)]
        try:
            results = self.tgt.batch(ops, request_id=batch_key)
            crashpoint("after_write")
        except AuthError:
            raise
        except ConnectorError as exc:  # the whole request failed: intents stay pending, replayed next run
            for c in queue:
                self.outcomes.fail(c.source_id, exc)
            return
        with self.state.transaction():  # one commit (one fsync) for all the links of the batch
            for c, result in zip(queue, results):
                if result.ok and result.record is not None:
                    self.link_created(c, result.record)
        for c, result in zip(queue, results):
            if result.ok and result.record is not None:
                self.finish_created(c, result.record)
            else:
                self.state.abandon_intent(c.key)
                self.outcomes.fail(c.source_id, result.error or JoistError("no answer for this batch item"))

    def replay_batches(self, fetch: Fetch) -> set[str]:
        """Send again, whole and under the same key, the batches a dead run left in flight.

        Returns the source ids of their members. The target answers a replayed key with its
        first answer, so nothing is created twice."""
        handled: set[str] = set()
        batches: dict[str, list[Any]] = {}
        for intent in self.state.pending_intents(self.rule.flow):
            if intent.batch_key:
                batches.setdefault(intent.batch_key, []).append(intent)
        for batch_key, members in batches.items():
            members.sort(key=lambda i: i.batch_index or 0)
            queue, bids = [], []
            for intent in members:
                record = fetch(intent.source_id)
                handled.add(intent.source_id)
                if record is None:
                    self.state.abandon_intent(intent.key)
                    continue
                result = self.mapper.map(record, links=self.links.resolve)
                payload = result.payload if result.outcome == "mapped" else {}
                entity = intent.target_entity or self.rule.target.entity
                queue.append(
                    PendingCreate(
                        intent.source_id,
                        intent.key,
                        entity,
                        payload or {},
                        record_hash(self.src, self.rule.source.entity, record),
                        self.src.record_version(self.rule.source.entity, record),
                        record,
                    )
                )
                bids.append((intent.batch_index or 0) + 1)
            if queue:
                self.send_batch(queue, batch_key, bids)
        return handled

    # -- after a write ---------------------------------------------------------------------

    def after_write(
        self, sid: str, source: dict[str, Any] | None, entity: str, target_id: str, written: Mapping[str, Any]
    ) -> Outcome | None:
        """The rule's `checks` against what the target now holds, then its files. A failure outcome, or None."""
        if source is None:
            return None
        problem: JoistError | None = self.verify(source, written)
        if problem is None and self.rule.attachments:
            try:
                copy_files(
                    self.state,
                    self.rule.links,
                    self.src,
                    self.rule.source.entity,
                    source,
                    self.tgt,
                    entity,
                    target_id,
                    self.rule.flow,
                )
            except AuthError:
                raise
            except ConnectorError as exc:
                problem = exc
        return self.outcomes.fail(sid, problem) if problem is not None else None

    def follow_files(
        self, sid: str, record: dict[str, Any], entity: str, twin_id: str, twin: Any, *, quiet_when_frozen: bool = False
    ) -> Outcome | None:
        """Files attached at the source since the last sync, copied to a twin whose fields need
        no write (S18): an update outcome when some were copied, a lock outcome when the target
        refuses any change to the twin, a failure, or None when there was nothing to copy."""
        if not self.rule.attachments or self.dry_run or not twin_id:
            return None
        try:
            src, links, flow = self.src, self.rule.links, self.rule.flow
            args = (self.rule.source.entity, record, self.tgt, entity, twin_id, twin, flow)
            copied, refused = follow_files(self.state, links, src, *args)
        except AuthError:
            raise
        except ConnectorError as exc:
            return self.outcomes.fail(sid, exc)
        if refused and not quiet_when_frozen:
            system, names = self.tgt.system, ", ".join(f.filename for f in refused)
            reason = f"{system} refuses changes to this {entity}: added file(s) {names} stay at the source"
            return self.outcomes.out(sid, "lock", reason=reason, target_id=twin_id)
        if copied:
            return self.outcomes.out(
                sid, "update", entity=entity, target_id=twin_id, reason=f"{copied} file(s) attached"
            )
        return None

    def verify(self, source: dict[str, Any], written: Mapping[str, Any]) -> JoistError | None:
        """A `TotalMismatch` when a checked field of the written twin differs from the source's figure."""
        for path, expr in self.rule.checks.items():
            rt = self.mapper.runtime(self.links.resolve)
            expected = expr.evaluate(self.mapper.context(source), rt)
            actual: Any = written
            for step in path.split("."):
                actual = actual.get(step) if isinstance(actual, Mapping) else None
            if not same(expected, actual):
                try:
                    gap = f" (difference {Decimal(str(actual)) - Decimal(str(expected))})"
                except InvalidOperation:  # non-numbers have no difference to show
                    gap = ""
                return TotalMismatch(
                    f"{self.rule.target.system} holds {path} = {actual}, {self.rule.source.system} says {expected}{gap}",
                    hint="check the tax code and line amounts on both sides; the record is linked, fix it and `joist retry`",
                )
        return None
