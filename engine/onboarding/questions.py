"""The wizard's questions: the params of the chosen flows, with choices read live from both systems.

A param's choices come from the system and entity its name says it holds: a QBO account
(`..._account`), item (`..._item`), customer, vendor, class, department/location, tax code
or term; a Procore company (`..._company_id`) or project. A param the
rule marks `required: true` must be answered (or already set in joist.yaml); an answer
given for a param with choices must be one of them. Answers are written into joist.yaml's
`params:`, keeping the rest of the file as its owner wrote it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Connector
from engine.errors import JoistError, suggest
from engine.language.rules import RuleSet
from engine.project.yamltext import add_entries, block_span

# Name ending -> (system, entity, label fields) the choices are read from.
SOURCES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("_account", "qbo", "Account", ("FullyQualifiedName", "Name")),
    ("_item", "qbo", "Item", ("FullyQualifiedName", "Name")),
    ("_customer", "qbo", "Customer", ("FullyQualifiedName", "DisplayName")),
    ("_vendor", "qbo", "Vendor", ("DisplayName",)),
    ("_class", "qbo", "Class", ("FullyQualifiedName", "Name")),
    ("_department", "qbo", "Department", ("Name",)),
    ("_location", "qbo", "Department", ("Name",)),
    ("_tax_code", "qbo", "TaxCode", ("Name",)),
    ("_term", "qbo", "Term", ("Name",)),
    ("_company_id", "procore", "vendors", ("name",)),
    ("_project_id", "procore", "projects", ("display_name", "name")),
)


class AnswerNotAChoice(JoistError):
    """An answer to a param names no record among the choices read from the system."""

    code = "M430"


class RequiredParamMissing(JoistError):
    """A param the rules mark required has no answer and no value in joist.yaml."""

    code = "M431"


class UnknownParamAnswer(JoistError):
    """An answer names a param no chosen flow reads."""

    code = "M432"


@dataclass
class Question:
    """One param to answer: what it is for, its current value, and the records it may name."""

    name: str
    flows: list[str]
    description: str
    current: Any
    required: bool
    source: str | None = None  # "qbo Account", "procore vendors"
    choices: list[tuple[str, str]] = field(default_factory=list)  # (id, label)

    @property
    def answered(self) -> bool:
        return self.current not in (None, "", [])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "flows": self.flows,
            "description": self.description,
            "current": self.current,
            "required": self.required,
            "source": self.source,
            "choices": [{"id": i, "label": label} for i, label in self.choices],
        }


def _source(name: str) -> tuple[str, str, tuple[str, ...]] | None:
    for ending, system, entity, labels in SOURCES:
        if name.endswith(ending):
            return system, entity, labels
    return None


def questions(
    ruleset: RuleSet, flows: list[str], params: Mapping[str, Any], connectors: Mapping[str, Connector]
) -> list[Question]:
    """Every param of `flows` (enable switches left out), with its choices read live, in name order."""
    found: dict[str, Question] = {}
    for flow in flows:
        for name, spec in ruleset.rules[flow].params.items():
            held = found.get(name)
            if held is not None:
                held.flows.append(flow)
                held.required = held.required or bool(spec.get("required"))
                continue
            current = params.get(name, spec.get("default"))
            found[name] = Question(
                name, [flow], str(spec.get("description") or ""), current, bool(spec.get("required"))
            )
    cache: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for q in found.values():
        source = _source(q.name)
        if source is None or source[0] not in connectors:
            continue
        system, entity, labels = source
        if (system, entity) not in cache:
            conn = connectors[system]
            rows: list[tuple[str, str]] = []
            for page in conn.read(entity):
                for record in page.records:
                    if conn.is_deleted(entity, record):
                        continue
                    label = next((str(record[k]) for k in labels if record.get(k)), "")
                    rows.append((conn.record_id(entity, record), label))
            cache[(system, entity)] = rows
        q.source, q.choices = f"{system} {entity}", cache[(system, entity)]
    return [found[n] for n in sorted(found)]


def region_defaults(region: str, asked: list[Question]) -> dict[str, Any]:
    """What the QBO company's region implies for the params asked (the region's column of the
    tax-code lookups; outside the US, Procore's tax-exclusive amounts sent as TaxExcluded)."""
    out: dict[str, Any] = {}
    for q in asked:
        if q.name == "qbo_region" and region in ("US", "AU"):
            out[q.name] = region
        elif q.name.endswith("_tax_calculation"):
            out[q.name] = None if region == "US" else "TaxExcluded"
    return {k: v for k, v in out.items() if v != next(q.current for q in asked if q.name == k)}


def _scalar(value: Any) -> str:
    """A value as YAML text: JSON is valid flow-style YAML (strings quoted, lists and null as they are)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, list, dict)):
        return json.dumps(value, default=str)
    return json.dumps(str(value))


def _ids(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [] if value in (None, "") else [str(value)]


def check_answers(asked: list[Question], answers: Mapping[str, Any]) -> list[JoistError]:
    """Errors of the answers: unknown params, values not among the choices, required ones left empty."""
    by_name = {q.name: q for q in asked}
    errors: list[JoistError] = []
    for name, value in answers.items():
        q = by_name.get(name)
        if q is None:
            near = suggest(name, by_name)
            errors.append(
                UnknownParamAnswer(
                    f"no chosen flow reads a param {name!r}",
                    path=f"params.{name}",
                    hint=f"did you mean {near[0]!r}?" if near else None,
                )
            )
            continue
        ids = {i for i, _ in q.choices}
        wrong = [v for v in _ids(value) if q.choices and v not in ids]
        if wrong:
            labels = {label.casefold(): i for i, label in q.choices}
            near_ids = [labels[w.casefold()] for w in wrong if w.casefold() in labels]
            errors.append(
                AnswerNotAChoice(
                    f"param {name}: {', '.join(wrong)} is not the id of a {q.source} record",
                    path=f"params.{name}",
                    hint=(f"that is the name of id {near_ids[0]}; answer the id" if near_ids else None)
                    or "answer one of: " + ", ".join(f"{i} ({label})" for i, label in q.choices[:8]),
                )
            )
    for q in asked:
        if q.required and not q.answered and answers.get(q.name) in (None, "", []):
            errors.append(
                RequiredParamMissing(
                    f"param {q.name} is required (flows {', '.join(q.flows)}) and has no answer",
                    path=f"params.{q.name}",
                    hint=q.description or None,
                )
            )
    return errors


def write_params(file: Any, answers: Mapping[str, Any]) -> list[str]:
    """Set the answers in joist.yaml's `params:` (a line replaced or added); returns what changed."""
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines()
    span = block_span(lines, "params")
    changed: list[str] = []
    new: dict[str, str] = {}
    for name, value in answers.items():
        rendered = _scalar(value)
        pattern = re.compile(rf"^(\s+){re.escape(name)}:.*$")
        hit = None
        if span is not None:
            hit = next((i for i in range(span[0] + 1, span[1]) if pattern.match(lines[i])), None)
        if hit is not None:
            indent = pattern.match(lines[hit]).group(1)  # type: ignore[union-attr]
            if lines[hit].strip() != f"{name}: {rendered}":
                lines[hit] = f"{indent}{name}: {rendered}"
                changed.append(f"params.{name} set to {rendered}")
        else:
            new[name] = rendered
            changed.append(f"params.{name} added: {rendered}")
    text = "\n".join(lines) + "\n"
    file.write_text(add_entries(text, "params", new), encoding="utf-8")
    return changed
