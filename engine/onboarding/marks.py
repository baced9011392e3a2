"""What tells two records are the same: another connector's marks, and names made comparable.

Procore's own QuickBooks connector (which runs on Procore's ERP Integrations tool) stores
the QBO id of every record it synced in the Procore record's `origin_id`; integrators
also keep free text in `origin_data`. Connectors writing into QBO commonly leave the
Procore id in a transaction's private note or memo ("Procore ID: 5000000021",
"Procore #5000000021"). Both are read here as exact evidence that two records are twins.

Names are compared after `name_key`: case, punctuation, spacing and the legal-form
suffix (Inc, LLC, Ltd, Pty Ltd, Corp, Co) are left out, so "ACME Concrete, Inc." and
"Acme Concrete" compare equal; the digits of a name must agree exactly ("Lot 12" is never
"Lot 13").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.sync.twins import value_at

__all__ = ["SUFFIXES", "name_key", "digits", "procore_origin_qbo_id", "qbo_note_procore_id", "email_of"]

SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "pty",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "lp",
        "llp",
        "gmbh",
    }
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")
_ORIGIN_DATA = re.compile(r"(?:qbo|quickbooks)[\s_\-]*(?:online[\s_\-]*)?(?:id)?\s*[:=#]?\s*(\d+)", re.IGNORECASE)
_NOTE = re.compile(r"procore[\s_\-]*(?:id\s*[:=#]?|#)\s*(\d+)", re.IGNORECASE)
# Where each system keeps a record's e-mail address.
_EMAIL_PATHS = {"procore": ("email_address",), "qbo": ("PrimaryEmailAddr.Address",)}


def name_key(text: Any) -> str:
    """A name as compared: lower case words without punctuation and without a trailing legal-form suffix."""
    words = [w.casefold() for w in _WORD.findall("" if text is None else str(text))]
    while len(words) > 1 and words[-1] in SUFFIXES:
        words.pop()
    return " ".join(words)


def digits(text: str) -> tuple[str, ...]:
    """The numbers in a name, in order (two names whose numbers differ are never the same record)."""
    return tuple(_DIGITS.findall(text))


def procore_origin_qbo_id(record: Mapping[str, Any]) -> str | None:
    """The QBO id another connector stored on a Procore record (`origin_id`, else found in `origin_data`)."""
    origin = record.get("origin_id")
    if origin is not None and str(origin).strip().isdigit():
        return str(origin).strip()
    data = record.get("origin_data")
    if isinstance(data, str):
        found = _ORIGIN_DATA.search(data)
        if found:
            return found.group(1)
    return None


def qbo_note_procore_id(record: Mapping[str, Any]) -> str | None:
    """The Procore id another connector wrote into a QBO record's private note or memo."""
    for key in ("PrivateNote", "Memo"):
        value = record.get(key)
        if isinstance(value, str):
            found = _NOTE.search(value)
            if found:
                return found.group(1)
    return None


def email_of(system: str, record: Mapping[str, Any]) -> str | None:
    """The record's e-mail address, lower case (None when it has none)."""
    for path in _EMAIL_PATHS.get(system, ()):
        value = value_at(record, path)
        if isinstance(value, str) and "@" in value:
            return value.strip().casefold()
    return None
