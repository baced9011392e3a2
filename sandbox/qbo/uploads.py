"""Attachments: a tolerant multipart reader for `/upload`, and signed download links.

python-quickbooks sends its upload with LF-only line endings, a leading newline and the
file as base64 text (`Content-Transfer-Encoding: base64`); strict multipart parsers
refuse that body. `parse_multipart` accepts CRLF or LF, decodes base64 and quoted-printable
parts, and keys the parts by their form name (`file_metadata_01`, `file_content_01`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import quopri
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import HTTP

from sandbox.qbo import faults

MAX_UPLOAD = 100 * 1024 * 1024
ALLOWED_TYPES = {
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "image/gif",
    "image/tiff",
    "image/bmp",
    "text/plain",
    "text/csv",
    "text/xml",
    "application/xml",
    "application/msword",
    "application/rtf",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text",
    "message/rfc822",
    "application/octet-stream",
}


@dataclass
class Part:
    """One form part: its name, filename, declared type and decoded bytes."""

    name: str
    filename: str | None
    content_type: str
    data: bytes


def boundary_of(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.I)
    if not match:
        raise faults.validation(
            "2010", "Request has invalid or unsupported property", "multipart/form-data without a boundary"
        )
    return match.group(1)


def parse_multipart(body: bytes, content_type: str) -> dict[str, Part]:
    """The parts of a multipart body, tolerant of LF-only line endings and base64 parts."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    parts: dict[str, Part] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk[1:] if chunk.startswith(b"\n") else chunk
        split = re.search(rb"\r?\n\r?\n", chunk)
        if split is None:
            continue
        head, data = chunk[: split.start()], chunk[split.end() :]
        if data.endswith(b"\r\n"):
            data = data[:-2]
        elif data.endswith(b"\n"):
            data = data[:-1]
        headers = BytesHeaderParser(policy=HTTP).parsebytes(head + b"\n\n")
        disposition = headers.get("Content-Disposition", "")
        name = re.search(r'\bname="?([^";]+)"?', disposition)
        filename = re.search(r'filename="?([^";]+)"?', disposition)
        encoding = headers.get("Content-Transfer-Encoding", "").strip().lower()
        if encoding == "base64":
            try:
                data = base64.b64decode(b"".join(data.split()), validate=False)
            except (binascii.Error, ValueError):
                raise faults.validation(
                    "2010", "Request has invalid or unsupported property", "file content is not valid base64"
                ) from None
        elif encoding == "quoted-printable":
            data = quopri.decodestring(data)
        key = name.group(1) if name else f"part{len(parts)}"
        parts[key] = Part(
            key,
            filename.group(1) if filename else None,
            headers.get("Content-Type", "application/octet-stream").split(";")[0].strip(),
            data,
        )
    return parts


def pairs(parts: dict[str, Part]) -> list[tuple[str, Part | None, Part | None]]:
    """(`NN`, metadata part, content part) for every numbered pair, in order."""
    numbers = sorted({m.group(2) for k in parts if (m := re.match(r"file_(metadata|content)_(\w+)$", k))})
    return [(n, parts.get(f"file_metadata_{n}"), parts.get(f"file_content_{n}")) for n in numbers]


def check_file(content_type: str, size: int) -> None:
    if size > MAX_UPLOAD:
        raise faults.validation("6030", "File too large", "The file is larger than 100 MB.", "file_content")
    if content_type.lower() not in ALLOWED_TYPES:
        raise faults.validation(
            "6041", "Unsupported file type", f"Files of type {content_type} cannot be attached.", "ContentType"
        )


def sign(secret: bytes, realm_id: str, attachable_id: str, expires: int) -> str:
    message = f"{realm_id}/{attachable_id}/{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def verify(secret: bytes, realm_id: str, attachable_id: str, expires: int, signature: str, now: float) -> bool:
    return expires > now and hmac.compare_digest(sign(secret, realm_id, attachable_id, expires), signature)
