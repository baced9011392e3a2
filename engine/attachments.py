"""Files attached to a record travel with it (S18): each file once, never back again.

Every copied file is linked in the link set `<flow links>.files` (source file id ⇄ target
file id), so a re-sync does not copy it again and the reverse flow recognises it as one
it already has. Procore lists a record's files in the record itself (`attachments`); QBO
keeps them as Attachable records pointing at the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from connectors.base import Connector
from engine.state import SQLiteState
from engine.state_records import Link, intent_key


@dataclass
class FileRef:
    id: str
    filename: str
    content_type: str
    fetch: Callable[[], bytes]


def files_of(conn: Connector, entity: str, record: Mapping[str, Any]) -> list[FileRef]:
    """The files attached to a record, as either system keeps them."""
    if conn.system == "procore":
        return [FileRef(str(a["id"]), a.get("filename") or a.get("name") or f"file-{a['id']}",
                        a.get("content_type") or "application/octet-stream",
                        lambda url=a.get("url"): conn.download(url))  # type: ignore[attr-defined]
                for a in record.get("attachments") or [] if a.get("url")]
    record_id = conn.record_id(entity, dict(record))
    return [FileRef(str(a["Id"]), a.get("FileName") or f"file-{a['Id']}", a.get("ContentType") or "application/octet-stream",
                    lambda aid=str(a["Id"]): conn.download(aid))  # type: ignore[attr-defined]
            for a in conn.attachments(entity, record_id)]  # type: ignore[attr-defined]


def _attach(conn: Connector, entity: str, target_id: str, f: FileRef, content: bytes, key: str) -> str:
    if conn.system == "qbo":
        made = conn.upload(entity, target_id, f.filename, content, f.content_type,  # type: ignore[attr-defined]
                           idempotency_key=key)
        return str(made["Id"])
    before = {str(a["id"]) for a in (conn.get(entity, target_id) or {}).get("attachments") or []}
    after = conn.attach(entity, target_id, [(f.filename, content, f.content_type)])  # type: ignore[attr-defined]
    new = [str(a["id"]) for a in after.get("attachments") or [] if str(a["id"]) not in before]
    return new[0] if new else key


def copy_files(state: SQLiteState, link_set: str, src: Connector, src_entity: str, record: Mapping[str, Any],
               tgt: Connector, tgt_entity: str, target_id: str, flow: str) -> int:
    """Copy the record's files that its twin does not have yet; returns how many were copied."""
    files_set = f"{link_set}.files"
    copied = 0
    for f in files_of(src, src_entity, record):
        if state.find_link(files_set, **{f"{src.system}_id": f.id}) is not None:
            continue
        key = intent_key(flow, "file", f.id)
        new_id = _attach(tgt, tgt_entity, target_id, f, f.fetch(), key)
        state.put_link(Link(files_set, **{f"{src.system}_id": f.id, f"{tgt.system}_id": new_id},
                            origin=src.system, flow=flow))
        copied += 1
    return copied
