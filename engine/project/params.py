"""The params a project sets in joist.yaml, checked against the params its rules declare.

Two mistakes used to pass silently: a param a flow declares `required: true` left unset (the
flow then wrote a line without an item, an account, ...), and a param misspelt in joist.yaml
(ignored, so the rule's default applied). `check_params` finds both; `joist validate`,
`joist plan` and `joist sync` refuse to go on while either stands:

- `MissingParam` (S640) names the param, the flow that needs it, what it is for and where
  to set it (joist.yaml, `params:`). A flow that is switched off (`enabled`) needs nothing.
- `UnknownProjectParam` (S641) names a joist.yaml param no rule declares, with the nearest
  declared name. A param one of Joist's shipped packs declares is not an error even when the
  project does not load that pack (a pack taken out of `packs:` may keep its params).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from engine.errors import JoistError, Location, suggest
from engine.expressions.functions import Runtime
from engine.language.rules import Rule, RuleSet
from engine.language.tree import truthy
from engine.project.config import shipped_packs
from engine.state.migrations import StateError


class MissingParam(StateError):
    """A param a flow declares `required: true` has no value in joist.yaml."""

    code = "S640"


class UnknownProjectParam(StateError):
    """joist.yaml sets a param that no rule declares (a misspelling, usually)."""

    code = "S641"


@cache
def shipped_params() -> dict[str, dict[str, Any]]:
    """Every param a rule of Joist's shipped packs declares, with its declaration (read from the
    files, not compiled; the first declaration of a name wins, and it is required where any
    flow declares it required)."""
    found: dict[str, dict[str, Any]] = {}
    for folder in shipped_packs().values():
        for path in sorted(Path(folder).rglob("*.yaml")):
            if path.name.endswith(".test.yaml") or path.name.startswith("_"):
                continue
            try:
                doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get("params"), dict):
                for name, spec in doc["params"].items():
                    declared = found.setdefault(str(name), dict(spec) if isinstance(spec, dict) else {})
                    if isinstance(spec, dict) and spec.get("required"):
                        declared["required"] = True  # required where any flow needs it
    return found


def shipped_param_names() -> frozenset[str]:
    """The names of `shipped_params`."""
    return frozenset(shipped_params())


def shipped_required_params() -> dict[str, str]:
    """The shipped packs' `required: true` params, with their descriptions (what `joist init` lists)."""
    return {
        name: " ".join(str(spec.get("description") or "").split())
        for name, spec in sorted(shipped_params().items())
        if spec.get("required")
    }


def flow_is_on(rule: Rule, params: Mapping[str, Any]) -> bool:
    """Whether the flow runs with these params (its `enabled`)."""
    if rule.enabled is True or rule.enabled is False:
        return bool(rule.enabled)
    values = {**rule.default_params(), **params}
    return truthy(rule.enabled.evaluate({"params": values}, Runtime()))


def _unset(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_params(
    ruleset: RuleSet,
    params: Mapping[str, Any],
    file: Path | str,
    *,
    flows: Iterable[str] | None = None,
    locations: Mapping[str, Location] | None = None,
) -> list[JoistError]:
    """What is wrong with the project's `params` for these rules (every flow, or only `flows`)."""
    shown = str(file)
    where = dict(locations or {})
    problems: list[JoistError] = []
    chosen = list(ruleset.rules) if flows is None else [f for f in flows if f in ruleset.rules]
    for flow in sorted(chosen):
        rule = ruleset.rules[flow]
        if not flow_is_on(rule, params):
            continue
        for name, spec in rule.params.items():
            if not spec.get("required") or not _unset(params.get(name, spec.get("default"))):
                continue
            what = str(spec.get("description") or "").strip()
            problems.append(
                MissingParam(
                    f"flow {flow} needs param {name!r}, which is not set" + (f": {what}" if what else ""),
                    location=where.get(name, Location(shown)),
                    path=f"params.{name}",
                    hint=f"set it in {shown} under `params:` ({name}: <value>), or switch the flow off",
                )
            )
    declared = {name for rule in ruleset.rules.values() for name in rule.params}
    for name in params:
        if name in declared or name in shipped_param_names():  # the shipped packs are read only when needed
            continue
        near = suggest(name, declared) or suggest(name, shipped_param_names())
        problems.append(
            UnknownProjectParam(
                f"params.{name} is set, but no rule declares a param {name!r}",
                location=where.get(name, Location(shown)),
                path=f"params.{name}",
                hint=f"did you mean {near[0]!r}?" if near else "remove it, or declare it in the rule that reads it",
                allowed=sorted(declared)[:25],
            )
        )
    return problems
