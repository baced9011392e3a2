"""Files attached to a record travel with it (S18): each file once, never back again.

Every copied file is linked in the link set `<flow links>.files` (source file id ⇄ target
file id), so a re-sync does not copy it again and the reverse flow recognises it as one
it already has. Procore lists a record's files in the record itself (`attachments`); QBO
keeps them as Attachable records pointing at the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import Connector
from engine.state.records import Link, intent_key
from engine.state.store import SQLiteState


@dataclass
class FileRef:
    id: str
    filename: str
    content_type: str
    fetch: Callable[[], bytes]


def files_of(conn: Connector, entity: str, record: Mapping[str, Any]) -> list[FileRef]:
    """The files attached to a record, as either system keeps them."""
    if conn.system == "procore":
        return [
            FileRef(
                str(a["id"]),
                a.get("filename") or a.get("name") or f"file-{a['id']}",
                a.get("content_type") or "application/octet-stream",
                lambda url=a.get("url"): conn.download(url),  # noqa: B008 - bind this file's url now
            )  # type: ignore[attr-defined]
            for a in record.get("attachments") or []
            if a.get("url")
        ]
    record_id = conn.record_id(entity, dict(record))
    return [
        FileRef(
            str(a["Id"]),
            a.get("FileName") or f"file-{a['Id']}",
            a.get("ContentType") or "application/octet-stream",
            lambda aid=str(a["Id"]): conn.download(aid),
        )  # type: ignore[attr-defined]
        for a in conn.attachments(entity, record_id)
    ]  # type: ignore[attr-defined]


def _attach(conn: Connector, entity: str, target_id: str, f: FileRef, content: bytes, key: str) -> str:
    if conn.system == "qbo":
        made = conn.upload(
            entity,
            target_id,
            f.filename,
            content,
            f.content_type,  # type: ignore[attr-defined]
            idempotency_key=key,
        )
        return str(made["Id"])
    current = conn.get(entity, target_id) or {}
    before = {str(a["id"]) for a in current.get("attachments") or []}
    scope = {"project_id": current["project_id"]} if current.get("project_id") else None
    after = conn.attach(entity, target_id, [(f.filename, content, f.content_type)], scope=scope)  # type: ignore[attr-defined]
    new = [str(a["id"]) for a in after.get("attachments") or [] if str(a["id"]) not in before]
    return new[0] if new else key


def file_key(file_id: str, target_id: str) -> str:
    """A copied file's source-side key: one file may go to several twins (a split record)."""
    return f"{file_id}@{target_id}"


def copy_files(
    state: SQLiteState,
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
    for f in files_of(src, src_entity, record):
        if state.find_link(files_set, **{f"{src.system}_id": f.id}) is not None:
            continue  # a file that came from the other side (or a copy made before per-twin keys)
        mine = file_key(f.id, target_id)
        if state.find_link(files_set, **{f"{src.system}_id": mine}) is not None:
            continue
        key = intent_key(flow, "file", f.id, target_id)
        new_id = _attach(tgt, tgt_entity, target_id, f, f.fetch(), key)
        state.put_link(
            Link(files_set, **{f"{src.system}_id": mine, f"{tgt.system}_id": new_id}, origin=src.system, flow=flow)
        )
        copied += 1
    return copied


def link_sent_files(
    state: SQLiteState,
    link_set: str,
    src_system: str,
    tgt_system: str,
    files: list[FileRef],
    created: Mapping[str, Any],
    flow: str,
) -> None:
    """Link files sent along with a create to the attachments the new record came back with (by name, in order)."""
    waiting: dict[str, list[str]] = {}
    for a in created.get("attachments") or []:
        waiting.setdefault(a.get("filename") or a.get("name") or "", []).append(str(a["id"]))
    for f in files:
        ids = waiting.get(f.filename) or []
        if ids:
            target_id = str(created.get("id") or created.get("Id") or "")
            state.put_link(
                Link(
                    f"{link_set}.files",
                    **{f"{src_system}_id": file_key(f.id, target_id), f"{tgt_system}_id": ids.pop(0)},
                    origin=src_system,
                    flow=flow,
                )
            )
