"""A flow's view of its link set: which twin a source record has, and what Joist wrote there.

A link row holds both sides (`procore_*` and `qbo_*` columns); a flow reads and writes the
columns of its source side and of its target side. Besides the ids it keeps each side's
content hash (an echo is recognised by it), version, and the payload Joist last wrote to
each side: the base of the three-way merge (`engine.mapping.diff.three_way`), and the
fingerprint of the rule and params behind that write (`twins.rule_fingerprint`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import Connector
from engine.language import jsonio
from engine.language.rules import Rule
from engine.mapping.mapper import Mapper
from engine.state.records import Link
from engine.state.store import State
from engine.sync.twins import record_hash, rule_fingerprint

_OTHER_COLUMN = {"procore": "qbo", "qbo": "procore"}


def link_columns(source_system: str, target_system: str) -> tuple[str, str]:
    """The link columns (`procore` or `qbo`, for `*_id`, `*_hash`, `*_version`) that hold a
    flow's source and its target. A flow inside one system keeps its target in the other column."""
    return source_system, target_system if target_system != source_system else _OTHER_COLUMN[source_system]


class FlowLinks:
    """The links of one flow's link set, seen from its source side (see the module docstring)."""

    def __init__(
        self,
        rule: Rule,
        state: State,
        tgt: Connector,
        reverse: Mapper | None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.rule, self.state, self.tgt, self.reverse = rule, state, tgt, reverse
        self.src_side, self.tgt_side = rule.source.system, rule.target.system
        self.src_col, self.tgt_col = link_columns(self.src_side, self.tgt_side)
        self._resolvers: dict[str, Callable[[str], str | None]] = {}
        # What produces this flow's writes (the rule and the params it reads), kept with each write.
        self.fingerprint = rule_fingerprint(rule, params if params is not None else rule.default_params())
        # The reverse flow's: what the agreed state of the source side (`reverse_base`) was mapped by.
        self.reverse_fingerprint = rule_fingerprint(reverse.rule, reverse.params) if reverse is not None else None

    def resolve(self, link_set: str, key: str) -> str | None:
        """The id on the target side linked to `key` in `link_set` (what `ref()` returns)."""
        if link_set not in self._resolvers:
            self._resolvers[link_set] = self.state.resolver(link_set, toward=self.tgt_side)
        return self._resolvers[link_set](key)

    def find(self, sid: str) -> Link | None:
        """The link of the source record `sid`, if it has one."""
        return self.state.find_link(self.rule.links, **{f"{self.src_col}_id": sid})

    def holder_of(self, target_id: str) -> Link | None:
        """The link that already holds the target record `target_id`, if any."""
        return self.state.find_link(self.rule.links, **{f"{self.tgt_col}_id": target_id})

    def target_id(self, link: Link | None) -> str | None:
        return getattr(link, f"{self.tgt_col}_id") if link is not None else None

    def source_hash(self, link: Link | None) -> str | None:
        return getattr(link, f"{self.src_col}_hash") if link is not None else None

    def target_hash(self, link: Link | None) -> str | None:
        return getattr(link, f"{self.tgt_col}_hash", None) if link is not None else None

    def rule_changed(self, link: Link | None) -> bool | None:
        """Whether the rule or params changed since the last write to this record's twin
        (None: the link predates fingerprints, so nothing is known)."""
        stored = getattr(link, f"{self.tgt_col}_rule", None) if link is not None else None
        return None if stored is None else stored != self.fingerprint

    def adopt_fingerprint(self, link: Link) -> Link:
        """Take the current fingerprint for a link written before Joist kept one (no write)."""
        fields: dict[str, Any] = {f"{self.tgt_col}_rule": self.fingerprint}
        return self.state.put_link(dataclasses.replace(link, **fields))

    def remove(self, sid: str) -> None:
        self.state.remove_link(self.rule.links, **{f"{self.src_col}_id": sid})

    def base(self, link: Link | None) -> dict[str, Any] | None:
        """What Joist last wrote to this record's twin (None when unknown)."""
        text = getattr(link, f"{self.tgt_col}_payload", None) if link is not None else None
        return jsonio.loads(text) if text else None

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

    def save(
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
        refresh_rule: bool = False,
    ) -> Link:
        """Write the link of `sid` (a new one when `link` is None); None arguments leave a column as it is.

        With a `payload` (what was written) or `refresh_rule` (mapped by the current rule, nothing
        to write) the link takes the flow's current fingerprint."""
        base = link or Link(self.rule.links, None, None, origin=origin or self.src_side, flow=self.rule.flow)
        fields: dict[str, Any] = {f"{self.src_col}_id": sid, f"{self.tgt_col}_id": str(target_id)}
        if source_hash is not None:
            fields[f"{self.src_col}_hash"] = source_hash
        if source_version is not None:
            fields[f"{self.src_col}_version"] = source_version
        if target is not None:
            entity = self.rule.target.entity
            fields[f"{self.tgt_col}_hash"] = record_hash(self.tgt, entity, target)
            fields[f"{self.tgt_col}_version"] = self.tgt.record_version(entity, dict(target))
        if locked is not None:
            fields.update(locked=locked, lock_reason=lock_reason)
        if payload is not None:
            fields[f"{self.tgt_col}_payload"] = jsonio.dumps(payload)
        if payload is not None or refresh_rule:
            fields[f"{self.tgt_col}_rule"] = self.fingerprint
        if source_base is not None:
            fields[f"{self.src_col}_payload"] = jsonio.dumps(source_base)
            # The reverse flow treats this base as its own last write: a later change of its rule reaches it.
            fields[f"{self.src_col}_rule"] = self.reverse_fingerprint
        if origin and link is None:
            fields["origin"] = origin
        return self.state.put_link(dataclasses.replace(base, **fields))
