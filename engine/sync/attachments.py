"""Files attached to a record travel with it (S18): each file once, never back again.

Every copied file is linked in the link set `<flow links>.files` (source file id ⇄ target
file id), so a re-sync does not copy it again and the reverse flow recognises it as one
it already has. Where each system keeps a record's files (Procore in the record itself,
QBO as Attachables pointing at it) is the connectors' business (`files`, `attach_file`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Connector, FileRef
from engine.state.records import Link, intent_key
from engine.state.store import State


def file_key(file_id: str, target_id: str) -> str:
    """A copied file's source-side key: one file may go to several twins (a split record)."""
    return f"{file_id}@{target_id}"


def new_files(
    state: State, link_set: str, src: Connector, src_entity: str, record: Mapping[str, Any], target_id: str
) -> list[FileRef]:
    """The record's files that its twin `target_id` does not have yet (each file goes once)."""
    files_set = f"{link_set}.files"
    new = []
    for f in src.files(src_entity, dict(record)):
        if state.find_link(files_set, **{f"{src.system}_id": f.id}) is not None:
            continue  # a file that came from the other side (or a copy made before per-twin keys)
        if state.find_link(files_set, **{f"{src.system}_id": file_key(f.id, target_id)}) is None:
            new.append(f)
    return new


def copy_files(
    state: State,
    link_set: str,
    src: Connector,
    src_entity: str,
    record: Mapping[str, Any],
    tgt: Connector,
    tgt_entity: str,
    target_id: str,
    flow: str,
    files: list[FileRef] | None = None,
) -> int:
    """Copy the record's files that its twin does not have yet (or `files`, found so by
    `new_files`); returns how many were copied."""
    files_set = f"{link_set}.files"
    copied = 0
    to_copy = new_files(state, link_set, src, src_entity, record, target_id) if files is None else files
    for f in to_copy:
        mine = file_key(f.id, target_id)
        key = intent_key(flow, "file", f.id, target_id)
        new_id = tgt.attach_file(tgt_entity, target_id, f, f.fetch(), idempotency_key=key)
        ids: dict[str, Any] = {f"{src.system}_id": mine, f"{tgt.system}_id": new_id}
        state.put_link(Link(files_set, **ids, origin=src.system, flow=flow))
        copied += 1
    return copied


def follow_files(
    state: State,
    link_set: str,
    src: Connector,
    src_entity: str,
    record: Mapping[str, Any],
    tgt: Connector,
    tgt_entity: str,
    target_id: str,
    twin: Mapping[str, Any] | None,
    flow: str,
) -> tuple[int, list[FileRef]]:
    """Files attached at the source since the last sync, copied to a twin whose fields need no
    write: (how many were copied, the files its system refuses because the twin is frozen)."""
    files = new_files(state, link_set, src, src_entity, record, target_id)
    if not files:
        return 0, []
    current = twin if twin is not None else tgt.get(tgt_entity, target_id)
    if current is None:
        return 0, []
    if tgt.frozen(tgt_entity, dict(current)):
        return 0, files
    return copy_files(state, link_set, src, src_entity, record, tgt, tgt_entity, target_id, flow, files=files), []


def files_for_create(src: Connector, src_entity: str, record: Mapping[str, Any], tgt: Connector) -> list[FileRef]:
    """Files that must go with the create itself (where the target freezes a record once made)."""
    return src.files(src_entity, dict(record)) if tgt.files_go_with_create() else []


def link_sent_files(
    state: State,
    link_set: str,
    src: Connector,
    tgt: Connector,
    files: list[FileRef],
    created: Mapping[str, Any],
    target_id: str,
    flow: str,
) -> None:
    """Link the files sent with a create to the ids they got on the new record."""
    for f, new_id in tgt.sent_files(dict(created), files):
        ids: dict[str, Any] = {f"{src.system}_id": file_key(f.id, target_id), f"{tgt.system}_id": new_id}
        state.put_link(Link(f"{link_set}.files", **ids, origin=src.system, flow=flow))
