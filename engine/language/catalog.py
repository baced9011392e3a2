"""The entity catalogues: which entities each system has and the shape of their fields.

`schemas/catalog/qbo.yaml` and `schemas/catalog/procore.yaml` describe entities as the APIs
serve them. Rules are checked against them at load time, so a typo in an entity or field
name is an error with a suggestion, not a null at run time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from engine.errors import JoistError, Location, suggest
from schemas import catalog_entities

OPEN = frozenset({"any", "object"})
Shape = Any  # dict (object) | list (one-element: the item shape) | str (a type name)


class UnknownEntity(JoistError):
    """An entity that the system's catalogue does not list."""

    code = "R106"


class UnknownField(JoistError):
    """A field path that the entity does not have."""

    code = "R107"


@dataclass(frozen=True)
class Entity:
    """One entity of a system: its id and version fields and the shape of its records."""

    system: str
    name: str
    id_field: str
    version_field: str | None
    fields: dict[str, Shape]
    description: str = ""


@cache
def load(system: str) -> dict[str, Entity]:
    """Every entity of `system` (`qbo` or `procore`), from the shipped catalogue."""
    return {
        name: Entity(
            system,
            name,
            spec.get("id", "id"),
            spec.get("version"),
            spec.get("fields") or {},
            spec.get("description", ""),
        )
        for name, spec in catalog_entities(system).items()
    }


def entity(system: str, name: str, location: Location | None = None, path: str | None = None) -> Entity:
    """The named entity, or UnknownEntity with the closest names."""
    entities = load(system)
    if name in entities:
        return entities[name]
    near = suggest(name, entities) or suggest(name.lower(), {e.lower(): e for e in entities})
    raise UnknownEntity(
        f"{system} has no entity {name!r}",
        location=location,
        path=path,
        hint=f"did you mean {near[0]!r}?" if near else None,
        allowed=sorted(entities),
    )


def _describe(shape: Shape) -> str:
    if isinstance(shape, dict):
        return "an object"
    if isinstance(shape, list):
        return "a list"
    return f"a {shape}"


def walk(
    root: Shape, steps: Iterable[str], *, what: str, location: Location | None = None, path: str | None = None
) -> Shape:
    """Follow `steps` (field names, `[]` for a list element) through a shape.

    Returns the shape reached (`any` once the path enters a free-form part). Raises
    UnknownField naming the step that does not exist and the nearest names.
    """
    shape, walked = root, []
    for step in steps:
        if isinstance(shape, str) and shape in OPEN:
            return "any"
        if step == "[]":
            if isinstance(shape, list):
                shape = shape[0] if shape else "any"
            walked.append("[]")
            continue
        if isinstance(shape, list):
            at = ".".join([what, *walked])
            raise UnknownField(
                f"{at} is a list: {step!r} is a field of its items",
                location=location,
                path=path,
                hint=f"use {at}[*].{step}, or `each: {what}.{'.'.join(walked)}` and item.{step}",
            )
        if not isinstance(shape, dict):
            at = ".".join(walked)
            raise UnknownField(
                f"{what}.{at} is {_describe(shape)}: it has no field {step!r}", location=location, path=path
            )
        if step not in shape:
            near = suggest(step, shape)
            prefix = f"{what}." + ".".join(walked + [""]) if walked else f"{what}."
            raise UnknownField(
                f"{prefix}{step} is not a field of {what}",
                location=location,
                path=path,
                hint=f"did you mean {near[0]!r}?" if near else None,
                allowed=sorted(shape)[:25],
            )
        walked.append(step)
        shape = shape[step]
    return shape


def element(shape: Shape) -> Shape:
    """The item shape of a list shape (or `any`)."""
    if isinstance(shape, list) and shape:
        return shape[0]
    return "any"
