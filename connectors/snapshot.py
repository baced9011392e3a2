"""`ReadSnapshot`: list pages read once and served again to later reads of the same list.

Onboarding looks at the same records four times in a row: matching, the plan preview,
the reconciliation and the first sync each read every project's lists. Procore allows a
company a few thousand requests an hour and has no company-wide list for most project
records, so reading them four times would stretch a one-hour onboarding into four.
A snapshot held by the onboarding keeps each list's pages (their raw JSON text, parsed
again for every reader, so one reader's changes never reach another) for `max_age`
seconds.

A write drops every kept list that shares a resource name with the written path
(`POST /rest/v1.0/vendors` drops `/rest/v1.0/vendors` and `/companies/7/vendors/inactive`),
so a read after a write sees it. Dropping more than needed costs a request; dropping less
could hide a record the run just made, so the names compared are generous.

Records changed by somebody else after a list was kept reach Joist with the next
incremental read: a read's cursor is the newest `updated_at` among the records it saw,
so it is never later than the snapshot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

#: Path segments that name no resource of their own (versions, scopes, actions).
SHARED_SEGMENTS = frozenset({"rest", "projects", "companies", "sync", "line_items", "v3", "company"})
_VERSION = re.compile(r"^v\d+(\.\d+)?$")
_PROJECT = re.compile(r"/projects/(\d+)(?:/|$)")

Key = tuple[str, tuple[tuple[str, str], ...]]


def snapshot_key(path: str, params: Mapping[str, Any]) -> Key:
    """The key of one list read: its path and its parameters (page and page size left out)."""
    kept = tuple(sorted((str(k), str(v)) for k, v in params.items() if k not in ("page", "per_page")))
    return path, kept


def resource_names(path: str) -> frozenset[str]:
    """The resource names of a path: its segments that are not ids, versions or shared words.

    A path made only of shared words (`/rest/v1.0/projects`) names its last one."""
    segments = [s for s in path.split("?")[0].split("/") if s and not s.isdigit() and not _VERSION.match(s)]
    names = frozenset(s for s in segments if s not in SHARED_SEGMENTS)
    return names or frozenset(segments[-1:])


def project_of(path: str) -> str | None:
    """The project id a path names (`/projects/5/direct_costs`: `5`), if any."""
    found = _PROJECT.search(path)
    return found.group(1) if found else None


class ReadSnapshot:
    """Kept list pages by `snapshot_key`, for `max_age` seconds; see the module docstring."""

    def __init__(self, max_age: float = 1800.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self.clock = clock
        self._kept: dict[Key, tuple[float, list[str]]] = {}
        self.served = 0  # list reads answered from the snapshot
        self.read = 0  # list reads that went to the API and were kept

    def pages(self, key: Key) -> list[str] | None:
        """The raw pages kept for `key`, or None when not kept or too old."""
        found = self._kept.get(key)
        if found is None:
            return None
        if self.clock() - found[0] > self.max_age:
            del self._kept[key]
            return None
        self.served += 1
        return found[1]

    def keep(self, key: Key, pages: list[str]) -> None:
        """Keep every page of one whole list read (a read stopped early is not kept)."""
        self._kept[key] = (self.clock(), list(pages))
        self.read += 1

    def forget(self, path: str) -> int:
        """Drop the lists sharing a resource name with the written `path` (in the same project,
        where both paths name one); how many were dropped."""
        written, project = resource_names(path), project_of(path)
        gone = [
            key
            for key in self._kept
            if resource_names(key[0]) & written and (project is None or project_of(key[0]) in (None, project))
        ]
        for key in gone:
            del self._kept[key]
        return len(gone)

    def clear(self) -> None:
        """Drop every kept list."""
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
