"""Loading a rule set: every rule file of every layer read, merged, checked and compiled.

`load_rules` is the one entry point: it reads each layer's rule files (YAML with
positions), merges later layers over earlier ones, checks each merged rule against the
schema, compiles its expressions, loads the lookup tables beside the packs, and builds the
dependency graph so a cycle or an unknown dependency is found at load time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.errors import ErrorGroup, JoistError, Location
from engine.language import schema_check, yamlload
from engine.language.graph import build_graph
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


def load_rules(layers: Sequence[Layer], *, check_graph: bool = True) -> RuleSet:
    """Load, merge, validate and compile every rule of the given layers (earliest first).

    Raises `ErrorGroup` with every problem found; warnings (e.g. a `depends_on` that
    `ref()` implies but the rule does not list) are on the returned `RuleSet`.
    """
    errors: list[JoistError] = []
    docs: dict[str, PosDict] = {}
    layer_of: dict[str, str] = {}
    first_file: dict[tuple[str, str], str] = {}
    lookup_dirs: list[Path] = []
    for layer_name, paths in layers:
        for p in paths:
            p = Path(p)
            folder = p if p.is_dir() else p.parent
            # a pack's own lookups/, and the one beside it (rules/lookups for rules/master)
            for found in (folder.parent / "lookups", folder / "lookups"):
                if found.is_dir() and found not in lookup_dirs:
                    lookup_dirs.append(found)
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
        lookups = load_lookups(lookup_dirs)
    except JoistError as exc:
        errors.append(exc)
        lookups = {}
    rules: dict[str, Rule] = {}
    for flow, doc in docs.items():
        problems = schema_check.check(doc, RULE_SCHEMA, prefix=f"flow {flow}")
        if problems:
            errors.extend(problems)
            continue
        compiler = RuleCompiler(doc, layer_of, lookups)
        rule = compiler.compile()
        errors.extend(compiler.errors)
        if rule is not None:
            rules[flow] = rule
    ruleset = RuleSet(rules, lookups)
    if check_graph and not errors:
        try:
            build_graph(ruleset)
        except ErrorGroup as group:
            errors.extend(group.errors)
        except JoistError as exc:
            errors.append(exc)
    if errors:
        raise ErrorGroup(errors)
    return ruleset
