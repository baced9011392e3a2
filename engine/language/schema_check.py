"""Check a loaded YAML document against a JSON Schema, one clear error per problem.

jsonschema reports `oneOf` failures as a pile of branch errors; users want one line that
says what is wrong where. `check()` walks to the most relevant leaf of each failure, turns
it into a `JoistError` subclass with the `file:line:col` of the node (from
`engine.language.yamlload`), the path inside the document, what is allowed, and a "did you mean".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from engine.errors import JoistError, suggest
from engine.language.yamlload import locate

if TYPE_CHECKING:  # jsonschema is imported when a document is first checked, not at start-up
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError


class MissingKey(JoistError):
    """A required key is absent."""

    code = "R103"


class UnknownKey(JoistError):
    """A key the schema does not allow here (most often a typo)."""

    code = "R104"


class WrongType(JoistError):
    """A value of the wrong kind (a list where a mapping belongs, a number for a string...)."""

    code = "R105"


class InvalidValue(JoistError):
    """A value of the right kind that is not allowed (not in the choices, bad pattern...)."""

    code = "R110"


def render_path(steps: Iterable[Any]) -> str:
    """`["fields", "Line", 0, "when"]` -> `fields.Line[0].when` (dotted keys quoted)."""
    out = ""
    for step in steps:
        if isinstance(step, int):
            out += f"[{step}]"
        elif "." in str(step) or " " in str(step):
            out += f'["{step}"]'
        else:
            out += ("." if out else "") + str(step)
    return out


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in the `schemas` package (found from an installed package too)."""
    text = resources.files("schemas").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_TYPE_NAMES = {
    dict: "mapping",
    list: "list",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def type_name(value: Any) -> str:
    """The YAML-facing name of a value's kind."""
    for cls, name in _TYPE_NAMES.items():
        if isinstance(value, cls):
            return name
    return "number" if hasattr(value, "as_tuple") else type(value).__name__


def _leaf(error: ValidationError) -> ValidationError:
    from jsonschema.exceptions import best_match

    while error.context:
        # Prefer the branch that fits the value's kind: it is the one the author meant.
        fitting = [e for e in error.context if e.validator != "type"]
        chosen = best_match(fitting or error.context)
        if chosen is None or chosen is error:
            break
        error = chosen
    return error


def _describe_expected(schema: dict[str, Any]) -> str:
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " or ".join(_yaml_kind(k) for k in kinds)
    if isinstance(kinds, str):
        return _yaml_kind(kinds)
    return "a different value"


def _yaml_kind(json_kind: str) -> str:
    return {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "boolean": "true or false",
        "integer": "a whole number",
        "number": "a number",
        "null": "nothing (~)",
    }.get(json_kind, json_kind)


def _convert(error: ValidationError, data: Any, file: str | None, prefix: str) -> list[JoistError]:
    steps = list(error.absolute_path)
    where = render_path(steps)
    path = ", ".join(p for p in (prefix, where) if p) or None
    location = locate(data, steps)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(schema.get("properties", {}))
        out: list[JoistError] = []
        for key in error.instance:
            if key in allowed or any(re.fullmatch(p, str(key)) for p in schema.get("patternProperties", {})):
                continue
            near = suggest(str(key), allowed)
            out.append(
                UnknownKey(
                    f"unknown key {key!r}",
                    location=locate(data, steps + [key], key=True),
                    path=", ".join(p for p in (prefix, render_path(steps + [key])) if p),
                    hint=f"did you mean {near[0]!r}?" if near else None,
                    allowed=allowed,
                )
            )
        return out
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return [
            MissingKey(f"missing required key {missing!r}", location=location, path=path, hint=f"add `{missing}:` here")
        ]
    if error.validator == "type":
        return [
            WrongType(
                f"expected {_describe_expected(schema)}, got {type_name(error.instance)}", location=location, path=path
            )
        ]
    if error.validator in ("enum", "const"):
        choices = [str(c) for c in schema.get("enum", [schema.get("const")])]
        near = suggest(str(error.instance), choices)
        return [
            InvalidValue(
                f"{error.instance!r} is not allowed here",
                location=location,
                path=path,
                hint=f"did you mean {near[0]!r}?" if near else None,
                allowed=choices,
            )
        ]
    if error.validator == "pattern":
        described = schema.get("description") or f"a value matching {schema.get('pattern')}"
        return [
            InvalidValue(
                f"{error.instance!r} is not valid here", location=location, path=path, hint=f"expected {described}"
            )
        ]
    if error.validator in ("minItems", "minProperties", "minLength"):
        return [
            InvalidValue(
                f"{type_name(error.instance)} is empty", location=location, path=path, hint="give at least one entry"
            )
        ]
    if error.validator == "not":
        return [InvalidValue(schema.get("description", "this value is not allowed here"), location=location, path=path)]
    return [InvalidValue(error.message, location=location, path=path)]


def check(data: Any, schema_name: str, *, file: str | None = None, prefix: str = "") -> list[JoistError]:
    """Every schema problem in `data` (loaded by engine.language.yamlload), sorted by position.

    `schema_name` is a file in the `schemas` package; `prefix` starts each error's path
    (e.g. `flow companies_to_vendors`).
    """
    found: list[JoistError] = []
    seen: set[tuple[str, str | None, str]] = set()
    for error in _validator(schema_name).iter_errors(data):
        for converted in _convert(_leaf(error), data, file, prefix):
            key = (converted.code, converted.path, converted.message)
            if key not in seen:
                seen.add(key)
                found.append(converted)
    return sorted(found, key=lambda e: e.sort_key())
