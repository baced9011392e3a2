"""Loading a rule set: every rule file of every layer read, merged, checked and compiled.

`load_rules` is the one entry point: it reads each layer's rule files (YAML with
positions), merges later layers over earlier ones, checks each merged rule against the
schema, compiles its expressions, loads the lookup tables beside the packs, and builds the
dependency graph so a cycle or an unknown dependency is found at load time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import ErrorGroup, JoistError, Location
from engine.language import schema_check, yamlload
from engine.language.lookups import load_lookups
from engine.language.rules import (
    RULE_SCHEMA,
    DuplicateFlow,
    Layer,
    Rule,
    RuleCompiler,
    RuleSet,
    merge_layer,
    rule_files,
)
from engine.language.yamlload import PosDict


@dataclass
class Documents:
    """Every rule file of the layers read and merged, before any check or compile."""

    docs: dict[str, PosDict]
    layer_of: dict[str, str]
    lookups: dict[str, dict[str, Any]]
    errors: list[JoistError]


def lookup_dirs(layers: Sequence[Layer]) -> list[Path]:
    """The lookup folders of the layers: a pack's own lookups/, and the one beside it."""
    found_dirs: list[Path] = []
    for _layer_name, paths in layers:
        for p in paths:
            p = Path(p)
            folder = p if p.is_dir() else p.parent
            # a pack's own lookups/, and the one beside it (rules/lookups for rules/master)
            for found in (folder.parent / "lookups", folder / "lookups"):
                if found.is_dir() and found not in found_dirs:
                    found_dirs.append(found)
    return found_dirs


def read_documents(layers: Sequence[Layer]) -> Documents:
    """Read every rule file of the layers (earliest first), merging later layers over earlier."""
    errors: list[JoistError] = []
    docs: dict[str, PosDict] = {}
    layer_of: dict[str, str] = {}
    first_file: dict[tuple[str, str], str] = {}
    for layer_name, paths in layers:
        for f in rule_files(paths):
            layer_of[str(f)] = layer_name
            try:
                doc = yamlload.load(f)
            except JoistError as exc:
                errors.append(exc)
                continue
            flow = doc.get("flow") if isinstance(doc, PosDict) else None
            if not isinstance(flow, str):
                errors.extend(
                    schema_check.check(doc, RULE_SCHEMA, file=str(f))
                    or [schema_check.WrongType("a rule file holds one mapping", location=Location(str(f), 1, 1))]
                )
                continue
            if (layer_name, flow) in first_file:
                errors.append(
                    DuplicateFlow(
                        f"flow {flow!r} is defined twice in layer {layer_name!r}",
                        location=doc.key_locations["flow"],
                        hint=f"the other one is {first_file[(layer_name, flow)]}; rename one",
                    )
                )
                continue
            first_file[(layer_name, flow)] = str(f)
            docs[flow] = merge_layer(docs[flow], doc) if flow in docs else doc
    try:
        lookups = load_lookups(lookup_dirs(layers))
    except JoistError as exc:
        errors.append(exc)
        lookups = {}
    return Documents(docs, layer_of, lookups, errors)


def compile_document(
    doc: PosDict, layer_of: dict[str, str], lookups: dict[str, dict[str, Any]], *, check_schema: bool = True
) -> tuple[Rule | None, list[JoistError]]:
    """One merged rule document checked against the schema (unless already) and compiled."""
    if check_schema:
        problems = schema_check.check(doc, RULE_SCHEMA, prefix=f"flow {doc.get('flow')}")
        if problems:
            return None, problems
    compiler = RuleCompiler(doc, layer_of, lookups)
    rule = compiler.compile()
    return rule, compiler.errors


def load_rules(layers: Sequence[Layer], *, check_graph: bool = True) -> RuleSet:
    """Load, merge, validate and compile every rule of the given layers (earliest first).

    Raises `ErrorGroup` with every problem found; warnings (e.g. a `depends_on` that
    `ref()` implies but the rule does not list) are on the returned `RuleSet`.
    """
    read = read_documents(layers)
    errors, docs, layer_of, lookups = read.errors, read.docs, read.layer_of, read.lookups
    rules: dict[str, Rule] = {}
    for flow, doc in docs.items():
        rule, problems = compile_document(doc, layer_of, lookups)
        errors.extend(problems)
        if rule is not None:
            rules[flow] = rule
    ruleset = RuleSet(rules, lookups)
    if check_graph and not errors:
        from engine.language.graph import build_graph  # networkx: only when the graph is checked

        try:
            build_graph(ruleset)
        except ErrorGroup as group:
            errors.extend(group.errors)
        except JoistError as exc:
            errors.append(exc)
    if errors:
        raise ErrorGroup(errors)
    return ruleset
