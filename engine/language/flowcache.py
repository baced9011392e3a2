"""Start-up for one flow: load and check only what it needs, cached by file content.

`joist map FLOW` needs FLOW itself (merged over its layers), the flows its `depends_on`
names and the flows that make the link sets its `ref()` calls read; `load_flow` reads the
rule files, checks and compiles just those, and keeps their merged documents and the lookup
tables in a cache entry keyed by a hash of the content of every file that could change the
answer (the rule files and lookup tables of every layer, the schemas and entity catalogues,
and the engine's own language and expression code). Any change gives a new key; the next
start with the same files only compiles FLOW from the cached document (no YAML parsing, no
schema or graph check, none of the other flows).

`validation` does the same for `joist validate`: a successful check of a rule set is
remembered under its key, with its warnings.

Entries are pickles written to a temporary file and renamed into place, so two processes
sharing the cache never see half an entry; an unreadable entry is a miss. The cache lives
in `$JOIST_CACHE_DIR`, else `$XDG_CACHE_HOME/joist`, else `~/.cache/joist`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.errors import ErrorGroup, JoistError, suggest
from engine.language import loading
from engine.language.rules import Layer, Rule, RuleSet, UnknownFlow, rule_files

FORMAT = 1
_CODE = [Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "expressions"]


def cache_dir() -> Path:
    """Where cache entries live (see the module docstring)."""
    if os.environ.get("JOIST_CACHE_DIR"):
        return Path(os.environ["JOIST_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "joist"


def _inputs(layers: Sequence[Layer]) -> list[Path]:
    import schemas

    files = [f for _name, paths in layers for f in rule_files(paths)]
    for folder in loading.lookup_dirs(layers):
        files += sorted(p for p in folder.iterdir() if p.is_file())
    schema_root = Path(schemas.__file__).resolve().parent
    files += sorted(schema_root.glob("*.json")) + sorted(schema_root.glob("catalog/*.yaml"))
    for folder in _CODE:
        files += sorted(folder.glob("*.py"))
    return files


def content_key(layers: Sequence[Layer], purpose: str) -> str:
    """A hash of everything that decides what loading `layers` gives, for `purpose`."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version} {purpose}\0".encode())
    for name, paths in layers:
        digest.update(f"layer {name} {[str(p) for p in paths]}\0".encode())
    for f in _inputs(layers):
        digest.update(f"{f}\0".encode())
        digest.update(f.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def read_entry(key: str) -> Any | None:
    """The cached value under `key`, or None (missing, half-written or unreadable: a miss)."""
    try:
        with (cache_dir() / f"{key}.pickle").open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - our own cache, under the user's own directory
    except Exception:  # noqa: BLE001 - any unreadable entry is only a miss
        return None


def write_entry(key: str, value: Any) -> None:
    """Store `value` under `key` atomically (temp file, then rename); a cache that cannot be written is skipped."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / f"{key}.pickle")
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        return


def _needed(flow: str, rule: Rule, docs: dict[str, Any]) -> tuple[list[str], list[JoistError]]:
    """The flows `flow` depends on or reads links from, and errors for names that do not exist."""
    from engine.language.graph import UnknownDependency, UnknownLinkSet

    link_sets = {name: str(doc.get("links") or name) for name, doc in docs.items()}
    needed: list[str] = []
    errors: list[JoistError] = []
    for dep in rule.depends_on:
        if dep in docs:
            needed.append(dep)
        else:
            near = suggest(dep, docs)
            errors.append(
                UnknownDependency(
                    f"depends_on names {dep!r}, which is not a flow",
                    location=rule.depends_on_at.get(dep, rule.location),
                    path=f"flow {flow}, depends_on",
                    hint=f"did you mean {near[0]!r}?" if near else None,
                )
            )
    for link_set in rule.refs():
        producers = [name for name, made in link_sets.items() if made == link_set and name != flow]
        if not producers and link_set != rule.links:
            near = suggest(link_set, set(link_sets.values()))
            errors.append(
                UnknownLinkSet(
                    f"ref() reads link set {link_set!r}, which no flow produces",
                    location=rule.location,
                    path=f"flow {flow}",
                    hint=f"did you mean {near[0]!r}?"
                    if near
                    else "add the flow that links these records, or fix the name",
                )
            )
        needed += producers
    return list(dict.fromkeys(n for n in needed if n != flow)), errors


def load_flow(layers: Sequence[Layer], flow: str) -> RuleSet:
    """A RuleSet holding `flow` compiled, after checking it and the flows it needs (cached)."""
    key = content_key(layers, f"flow {flow}")
    hit = read_entry(key)
    if hit is not None:
        rule, problems = loading.compile_document(hit["doc"], hit["layer_of"], hit["lookups"], check_schema=False)
        if rule is not None and not problems:
            return RuleSet({flow: rule}, hit["lookups"])
    read = loading.read_documents(layers)
    if read.errors:
        raise ErrorGroup(read.errors)
    if flow not in read.docs:
        near = suggest(flow, read.docs)
        raise UnknownFlow(
            f"no flow named {flow!r}", hint=f"did you mean {near[0]!r}?" if near else None, allowed=sorted(read.docs)
        )
    rule, errors = loading.compile_document(read.docs[flow], read.layer_of, read.lookups)
    if rule is None:
        raise ErrorGroup(errors)
    needed, errors = _needed(flow, rule, read.docs)
    rules = {flow: rule}
    for name in needed:
        other, problems = loading.compile_document(read.docs[name], read.layer_of, read.lookups)
        errors += problems
        if other is not None:
            rules[name] = other
    if errors:
        raise ErrorGroup(errors)
    write_entry(key, {"doc": read.docs[flow], "layer_of": read.layer_of, "lookups": read.lookups})
    return RuleSet(rules, read.lookups)


def validation(layers: Sequence[Layer]) -> tuple[dict[str, Any], RuleSet | None]:
    """`joist validate`'s finding for the layers: flows, lookup count and warnings (cached).

    Returns the summary and, when it was not cached, the RuleSet it was made from.
    Raises `ErrorGroup` (never cached) when the rules have errors.
    """
    key = content_key(layers, "validate")
    hit = read_entry(key)
    if hit is not None:
        return hit, None
    ruleset = loading.load_rules(layers)
    summary = {
        "flows": sorted(ruleset.rules),
        "lookups": len(ruleset.lookups),
        "warnings": [(w.format(), w.to_dict()) for w in ruleset.warnings],
    }
    write_entry(key, summary)
    return summary, ruleset
