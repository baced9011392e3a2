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
) -> int:
    """Copy the record's files that its twin does not have yet; returns how many were copied."""
    files_set = f"{link_set}.files"
    copied = 0
    for f in src.files(src_entity, dict(record)):
        if state.find_link(files_set, **{f"{src.system}_id": f.id}) is not None:
            continue  # a file that came from the other side (or a copy made before per-twin keys)
        mine = file_key(f.id, target_id)
        if state.find_link(files_set, **{f"{src.system}_id": mine}) is not None:
            continue
        key = intent_key(flow, "file", f.id, target_id)
        new_id = tgt.attach_file(tgt_entity, target_id, f, f.fetch(), idempotency_key=key)
        ids: dict[str, Any] = {f"{src.system}_id": mine, f"{tgt.system}_id": new_id}
        state.put_link(Link(files_set, **ids, origin=src.system, flow=flow))
        copied += 1
    return copied


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
