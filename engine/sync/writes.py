"""How the sync engine writes: creates behind intents, QBO batches, recovery, after-write checks.

Mixed into `engine.sync.run.FlowRun`. A create is announced (an intent with a deterministic key,
on disk) before it is sent; QBO creates go thirty to a `/batch` under one requestid, and
each intent keeps its place in the batch, so a run that died mid-batch replays it whole
and reads the replayed answer item by item. After every write the rule's `checks` are
compared with what the target now holds, and its files are copied.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connectors.base import AuthError, ConnectorError
from engine.errors import JoistError
from engine.expressions.functions import Runtime
from engine.state.records import content_hash, intent_key
from engine.sync.crashpoints import crashpoint
from engine.sync.report import Outcome
from engine.sync.twins import record_hash

if TYPE_CHECKING:
    from engine.sync.run import FlowRun


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


class WriteSteps:
    """The write half of a flow run (see the module docstring)."""

    def create_one(self: FlowRun, c: PendingCreate) -> Outcome:
        intent = self.state.begin_intent(
            self.rule.flow,
            c.source_id,
            c.key,
            action="create",
            target_system=self.tgt_side,
            target_entity=c.entity,
            payload_hash=content_hash(c.payload),
        )
        crashpoint("after_intent")
        files: list[Any] = []
        try:
            created = self.tgt.find_created(c.entity, c.key) if intent.attempts > 1 else None
            if created is None:
                files = self.files_for_create(c)
                extra = {"attachments": [(f.filename, body, f.content_type) for f, body in files]} if files else {}
                created = self.tgt.create(c.entity, c.payload, idempotency_key=c.key, **extra)
            crashpoint("after_write")
        except AuthError:
            raise
        except ConnectorError as exc:
            if not exc.retryable:
                self.state.abandon_intent(c.key)
            return self.fail(c.source_id, exc)
        if files:
            from engine.sync.attachments import link_sent_files

            link_sent_files(
                self.state,
                self.rule.links,
                self.src.system,
                self.tgt.system,
                [f for f, _ in files],
                created,
                self.rule.flow,
            )
        return self.created(c, created)

    def files_for_create(self: FlowRun, c: PendingCreate) -> list[Any]:
        """Files that must go with the create itself: Procore freezes records once they carry an origin_id."""
        if not (self.rule.attachments and self.tgt.system == "procore" and c.source is not None):
            return []
        from engine.sync.attachments import files_of

        return [(f, f.fetch()) for f in files_of(self.src, self.rule.source.entity, c.source)]

    def created(self: FlowRun, c: PendingCreate, record: dict[str, Any]) -> Outcome:
        with self.state.transaction():
            self.link_created(c, record)
        return self.finish_created(c, record)

    def link_created(self: FlowRun, c: PendingCreate, record: dict[str, Any]) -> None:
        """Record the link of a create and complete its intent (call inside a transaction)."""
        target_id = self.tgt.record_id(c.entity, record)
        self.save_link(
            None,
            c.source_id,
            target_id,
            source_hash=c.source_hash,
            source_version=c.version,
            target=record,
            origin=self.src_side,
            payload=c.payload,
            source_base=self.reverse_base(record),
        )
        self.state.complete_intent(c.key, target_id=target_id)
        self.succeeded(c.source_id)

    def finish_created(self: FlowRun, c: PendingCreate, record: dict[str, Any]) -> Outcome:
        """What follows a committed link: the crash point, the match index, the rule's checks."""
        target_id = self.tgt.record_id(c.entity, record)
        crashpoint("after_link")
        if self.match is not None:
            self.match.add(record)
        problem = self.after_write(c.source_id, c.source, c.entity, target_id, record)
        if problem is not None:
            return problem
        return self.out(c.source_id, "create", entity=c.entity, target_id=target_id)

    def after_write(
        self: FlowRun,
        sid: str,
        source: dict[str, Any] | None,
        entity: str,
        target_id: str,
        written: Mapping[str, Any],
    ) -> Outcome | None:
        """The rule's `checks` against what the target now holds, then its files. A failure outcome, or None."""
        if source is None:
            return None
        problem = self.verify(source, written)
        if problem is None and self.rule.attachments:
            from engine.sync.attachments import copy_files

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
        return self.fail(sid, problem) if problem is not None else None

    def verify(self: FlowRun, source: dict[str, Any], written: Mapping[str, Any]) -> JoistError | None:
        """A `TotalMismatch` when a checked field of the written twin differs from the source's figure."""
        from engine.mapping.diff import same

        for path, expr in self.rule.checks.items():
            expected = expr.evaluate(
                self.mapper.context(source), Runtime(links=self.links, lookups=self.mapper.lookups)
            )
            actual: Any = written
            for step in path.split("."):
                actual = actual.get(step) if isinstance(actual, Mapping) else None
            if not same(expected, actual):
                gap = ""
                try:
                    from decimal import Decimal

                    gap = f" (difference {Decimal(str(actual)) - Decimal(str(expected))})"
                except Exception:  # noqa: BLE001 - non-numbers have no difference to show
                    pass
                return TotalMismatch(
                    f"{self.rule.target.system} holds {path} = {actual}, {self.rule.source.system} says {expected}{gap}",
                    hint="check the tax code and line amounts on both sides; the record is linked, fix it and `joist retry`",
                )
        return None

    def flush(self: FlowRun) -> None:
        """Send the queued creates as one batch request (QBO), or one by one."""
        queue, self.queue = self.queue, []
        if not queue:
            return
        batch_key = intent_key("batch", self.rule.flow, *[c.key for c in queue])
        entries = [(c.source_id, c.key, content_hash(c.payload)) for c in queue]
        self.state.begin_batch(
            self.rule.flow,
            entries,
            batch_key,
            action="create",
            target_system=self.tgt_side,
            target_entity=self.rule.target.entity,
        )
        crashpoint("after_intent")
        self.send_batch(queue, batch_key, [i + 1 for i in range(len(queue))])

    def send_batch(self: FlowRun, queue: list[PendingCreate], batch_key: str, bids: list[int]) -> None:
        from connectors.qbo.client import BatchOp

        ops = [BatchOp("create", c.entity, c.payload, bid=str(b)) for c, b in zip(queue, bids)]
        try:
            results = self.tgt.batch(ops, request_id=batch_key)  # type: ignore[attr-defined]
            crashpoint("after_write")
        except AuthError:
            raise
        except ConnectorError as exc:  # the whole request failed: intents stay pending, replayed next run
            for c in queue:
                self.fail(c.source_id, exc)
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
                self.fail(c.source_id, result.error or JoistError("no answer for this batch item"))

    # -- recovery and the whole flow ----------------------------------------------------------

    def recover(self: FlowRun) -> set[str]:
        """Finish the writes a dead run left in flight. Returns the source ids it handled."""
        handled: set[str] = set()
        pending = self.state.pending_intents(self.rule.flow)
        batches: dict[str, list[Any]] = {}
        for intent in pending:
            if intent.batch_key:
                batches.setdefault(intent.batch_key, []).append(intent)
        for batch_key, members in batches.items():
            members.sort(key=lambda i: i.batch_index or 0)
            queue, bids = [], []
            for intent in members:
                record = self.fetch(intent.source_id)
                handled.add(intent.source_id)
                if record is None:
                    self.state.abandon_intent(intent.key)
                    continue
                result = self.mapper.map(record, links=self.links)
                payload = result.payload if result.outcome == "mapped" else {}
                queue.append(
                    PendingCreate(
                        intent.source_id,
                        intent.key,
                        intent.target_entity or self.rule.target.entity,
                        payload or {},
                        record_hash(self.src_side, record),
                        self.src.record_version(self.rule.source.entity, record),
                        record,
                    )
                )
                bids.append((intent.batch_index or 0) + 1)
            if queue:
                self.send_batch(queue, batch_key, bids)
        for intent in pending:
            if intent.batch_key or intent.source_id in handled:
                continue
            record = self.fetch(intent.source_id)
            handled.add(intent.source_id)
            if record is None:
                self.state.abandon_intent(intent.key)
                continue
            self.process(record, intent.source_id, force=True)
        self.flush()
        return handled
