"""Project-level flow switches: joist.yaml's `flows: {NAME: {enabled: false}}`.

A rule's own `enabled:` (true, false or an expression over params) says whether the flow
runs in every project; the switch here turns any flow off in this project only, whatever
its rule says. `plan`, `sync`, `retry` and the service all honour it (the session hands the
switched-off flows to `engine.sync.run.Sync`). A switch naming no flow of the project's
rule set is an error (with a "did you mean"); a flow that depends on a switched-off one
still runs, and its records that need the off flow's links wait (the run report says so).

`set_switch` rewrites only the `flows:` block of joist.yaml, so comments elsewhere stay.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

import networkx as nx
import yaml

from engine.errors import ErrorGroup, JoistError, Location, suggest
from engine.language import yamlload
from engine.language.graph import build_graph
from engine.language.rules import RuleSet
from engine.project.yamltext import block_span, replace_block
from engine.state.migrations import StateError

__all__ = ["UnknownFlowSwitch", "check_switches", "switched_off", "set_switch", "dependents", "switch_block"]


class UnknownFlowSwitch(StateError):
    """joist.yaml's `flows:` (or `joist flow enable|disable`) names a flow the project's rules do not have."""

    code = "S661"


def switched_off(flows: Mapping[str, Any]) -> frozenset[str]:
    """The flows joist.yaml's `flows:` section turns off."""
    return frozenset(name for name, setting in flows.items() if (setting or {}).get("enabled", True) is False)


def _unknown(name: str, flows: Collection[str], location: Location | None, path: str) -> UnknownFlowSwitch:
    near = suggest(name, flows)
    return UnknownFlowSwitch(
        f"there is no flow {name!r} in this project's rule packs",
        location=location,
        path=path,
        hint=f"did you mean {near[0]!r}?" if near else "`joist ls` lists the flows",
    )


def check_switches(project: Any, flows: Collection[str]) -> None:
    """Raise `UnknownFlowSwitch` (one, or an `ErrorGroup`) for each `flows:` entry naming none of `flows`."""
    unknown = [name for name in project.flows if name not in flows]
    if not unknown:
        return
    shown = str(project.file)
    try:
        data = yamlload.load(shown)
    except JoistError:
        data = None
    errors: list[JoistError] = []
    for name in unknown:
        at = (yamlload.locate(data, ["flows", name]) if data is not None else None) or Location(shown)
        errors.append(_unknown(name, flows, at, f"flows.{name}"))
    raise errors[0] if len(errors) == 1 else ErrorGroup(errors)


def dependents(ruleset: RuleSet, flow: str) -> list[str]:
    """The flows that depend on `flow`, directly or through others, sorted."""
    return sorted(nx.descendants(build_graph(ruleset), flow))


def switch_block(flows: Mapping[str, Any]) -> list[str]:
    """The `flows:` block of joist.yaml for these settings (none at all when empty)."""
    if not flows:
        return []
    body = yaml.safe_dump({k: dict(v or {}) for k, v in sorted(flows.items())}, sort_keys=True)
    return ["flows:"] + ["  " + line for line in body.splitlines()]


def set_switch(project: Any, ruleset: RuleSet, flow: str, on: bool) -> bool:
    """Switch `flow` on or off in joist.yaml (and in `project.flows`); whether anything changed.

    Switching on removes the flow's entry; the rule's own `enabled:` decides again.
    """
    if flow not in ruleset.rules:
        raise _unknown(flow, ruleset.rules, Location(str(project.file)), "flow")
    flows = {k: dict(v or {}) for k, v in project.flows.items()}
    if on:
        if flow not in flows or flows[flow].get("enabled", True) is not False:
            return False
        flows[flow].pop("enabled", None)
        if not flows[flow]:
            del flows[flow]
    else:
        if flows.get(flow, {}).get("enabled", True) is False:
            return False
        flows.setdefault(flow, {})["enabled"] = False
    text = project.file.read_text(encoding="utf-8")
    block = switch_block(flows)
    new = replace_block(text, "flows", block) if block else _drop_block(text)
    temp = project.file.with_name(f".{project.file.name}.{os.getpid()}.new")
    temp.write_text(new, encoding="utf-8")
    os.replace(temp, project.file)
    project.flows.clear()
    project.flows.update(flows)
    return True


def _drop_block(text: str) -> str:
    """`text` without its top-level `flows:` block."""
    lines = text.splitlines()
    span = block_span(lines, "flows")
    if span is None:
        return text
    del lines[span[0] : span[1]]
    return "\n".join(lines) + "\n"
