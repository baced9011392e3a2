"""A flow's view of its link set: which twin a source record has, and what Joist wrote there.

A link row holds both sides (`procore_*` and `qbo_*` columns); a flow reads and writes the
columns of its source side and of its target side. Besides the ids it keeps each side's
content hash (an echo is recognised by it), version, and the payload Joist last wrote to
each side: the base of the three-way merge (`engine.mapping.diff.three_way`).
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
from engine.sync.twins import record_hash

_OTHER_COLUMN = {"procore": "qbo", "qbo": "procore"}


def link_columns(source_system: str, target_system: str) -> tuple[str, str]:
    """The link columns (`procore` or `qbo`, for `*_id`, `*_hash`, `*_version`) that hold a
    flow's source and its target. A flow inside one system keeps its target in the other column."""
    return source_system, target_system if target_system != source_system else _OTHER_COLUMN[source_system]


class FlowLinks:
    """The links of one flow's link set, seen from its source side (see the module docstring)."""

    def __init__(self, rule: Rule, state: State, tgt: Connector, reverse: Mapper | None) -> None:
        self.rule, self.state, self.tgt, self.reverse = rule, state, tgt, reverse
        self.src_side, self.tgt_side = rule.source.system, rule.target.system
        self.src_col, self.tgt_col = link_columns(self.src_side, self.tgt_side)
        self._resolvers: dict[str, Callable[[str], str | None]] = {}

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
    ) -> Link:
        """Write the link of `sid` (a new one when `link` is None); None arguments leave a column as it is."""
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
        if source_base is not None:
            fields[f"{self.src_col}_payload"] = jsonio.dumps(source_base)
        if origin and link is None:
            fields["origin"] = origin
        return self.state.put_link(dataclasses.replace(base, **fields))
