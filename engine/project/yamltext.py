"""Edit a joist.yaml as text, so the comments and keys a person wrote stay where they were.

PyYAML drops comments on a round trip. These helpers work on the top-level blocks of the
file instead: a block is a line `key:` at column 0 and the indented lines under it. A
comment at column 0 ends a block, so the comment above the next key stays with that key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["block_span", "replace_block", "add_entries"]

_KEY = re.compile(r"^(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")


def block_span(lines: Sequence[str], key: str) -> tuple[int, int] | None:
    """The lines `[start, end)` of the top-level block `key`, trailing blank lines left out."""
    start = next((i for i, line in enumerate(lines) if (m := _KEY.match(line)) and m["key"] == key), None)
    if start is None:
        return None
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end


def replace_block(text: str, key: str, block: Sequence[str]) -> str:
    """`text` with the top-level block `key` replaced by `block` (appended when there was none)."""
    lines = text.splitlines()
    span = block_span(lines, key)
    if span is None:
        lines += list(block)
    else:
        lines[span[0] : span[1]] = list(block)
    return "\n".join(lines) + "\n"


def _inline_value(rest: str) -> str:
    """What follows `key:` on its line, without a trailing comment."""
    value = rest.strip()
    if value.startswith("#"):
        return ""
    return re.sub(r"\s+#.*$", "", value)


def add_entries(text: str, key: str, entries: Mapping[str, str]) -> str:
    """Add `name: value` lines (values already YAML text) to the top-level mapping `key`.

    Entries go after the last line of the block, indented as its first entry is; an empty
    `key: {}` becomes a block; a missing block is appended at the end of the file. A flow
    mapping with entries (`key: {a: 1}`) is kept and the new entries go into its braces.
    """
    if not entries:
        return text
    lines = text.splitlines()
    span = block_span(lines, key)
    if span is None:
        return "\n".join([*lines, f"{key}:", *(f"  {k}: {v}" for k, v in entries.items())]) + "\n"
    start, end = span
    match = _KEY.match(lines[start])
    assert match is not None
    inline = _inline_value(match["rest"])
    if inline.startswith("{") and inline.endswith("}"):
        inner = inline[1:-1].strip()
        added = ", ".join(f"{k}: {v}" for k, v in entries.items())
        lines[start] = f"{key}: {{{inner + ', ' if inner else ''}{added}}}"
        if not inner:
            lines[start] = f"{key}:"
            lines[start + 1 : start + 1] = [f"  {k}: {v}" for k, v in entries.items()]
        return "\n".join(lines) + "\n"
    body = [line for line in lines[start + 1 : end] if line.strip() and not line.lstrip().startswith("#")]
    indent = re.match(r"^\s*", body[0]).group(0) if body else "  "  # type: ignore[union-attr]
    lines[end:end] = [f"{indent}{k}: {v}" for k, v in entries.items()]
    return "\n".join(lines) + "\n"
