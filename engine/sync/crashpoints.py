"""Named points where a test can make the sync process die on the spot.

Crash tests set `JOIST_CRASH_AT=<point>:<n>` (for example `after_write:7`) in a child
`joist sync`; the n-th time the engine passes that point the process sends itself
SIGKILL, exactly as a power cut or an OOM kill would stop it. Unset, a point costs one
dictionary lookup.

Points: `after_read` (a page was read), `after_intent` (intents are on disk, nothing
sent), `after_write` (the target has the record, the link is not recorded yet),
`after_link` (the link and the intent's completion are committed).
"""

from __future__ import annotations

import os
import signal

POINTS = ("after_read", "after_intent", "after_write", "after_link")
_target: tuple[str, int] | None = None
_counts: dict[str, int] = {}


def _parse() -> tuple[str, int] | None:
    spec = os.environ.get("JOIST_CRASH_AT", "")
    if ":" not in spec:
        return None
    name, _, n = spec.partition(":")
    return (name, int(n)) if name in POINTS and n.isdigit() else None


_target = _parse()


def crashpoint(name: str) -> None:
    """Die here if the environment asks for it (see the module docstring)."""
    if _target is None or _target[0] != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] == _target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
