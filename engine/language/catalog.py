"""The entity catalogues: which entities each system has and the shape of their fields.

`schemas/catalog/qbo.yaml` and `schemas/catalog/procore.yaml` describe entities as the APIs
serve them. Rules are checked against them at load time, so a typo in an entity or field
name is an error with a suggestion, not a null at run time.

Beside `fields`, an entity may list `read_only` paths (computed or assigned by the API:
`TotalAmt`, `Id`, `MetaData`...; a rule may read them but not write them, R119) and
`write_only` paths, each mapped to the field it is served back as (`vendor_id: vendor`:
Procore takes a commitment's `vendor_id` and serves a `vendor` object; a rule may write
them but an expression may not read them from `target`, R120). A path is dotted, `[]`
stepping into a list's items: `line_items[].wbs_code_id`. `needs_items` names the lists the
entity cannot be saved without (a QBO Bill's `Line`), and a system's `id_values: string`
says its ids (every field typed `id`) travel as JSON strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine.errors import JoistError, Location, suggest
from schemas import catalog_document, catalog_entities

OPEN = frozenset({"any", "object"})
Shape = Any  # dict (object) | list (one-element: the item shape) | str (a type name)


class UnknownEntity(JoistError):
    """An entity that the system's catalogue does not list."""

    code = "R106"


class UnknownField(JoistError):
    """A field path that the entity does not have."""

    code = "R107"


class ReadOnlyField(JoistError):
    """A rule's `fields:` writes a field the API computes or assigns itself."""

    code = "R119"


class WriteOnlyField(JoistError):
    """An expression reads from `target` a field the API accepts on write but never serves."""

    code = "R120"


@dataclass(frozen=True)
class Entity:
    """One entity of a system: its id and version fields and the shape of its records."""

    system: str
    name: str
    id_field: str
    version_field: str | None
    fields: dict[str, Shape]
    description: str = ""
    read_only: frozenset[tuple[str, ...]] = frozenset()
    write_only: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)
    needs_items: tuple[str, ...] = ()  # top-level lists that must hold at least one item
    ids_as_text: bool = False  # fields typed `id` are sent as strings (QBO)

    def read_only_at(self, path: Sequence[str]) -> tuple[str, ...] | None:
        """The read-only field that `path` (steps, `[]` for list items) writes into, if any."""
        return _prefix_in(self.read_only, path)

    def write_only_at(self, path: Sequence[str]) -> tuple[str, ...] | None:
        """The write-only field that reading `path` would reach into, if any."""
        return _prefix_in(self.write_only, path)


def _prefix_in(paths: Iterable[tuple[str, ...]], path: Sequence[str]) -> tuple[str, ...] | None:
    steps = tuple(path)
    return next((p for p in paths if steps[: len(p)] == p), None)


def steps_of(path: str) -> tuple[str, ...]:
    """`line_items[].wbs_code_id` -> `("line_items", "[]", "wbs_code_id")`."""
    out: list[str] = []
    for part in path.split("."):
        name, brackets = part.split("[", 1) if "[" in part else (part, "")
        out.append(name)
        out.extend("[]" for _ in range(brackets.count("]")))
    return tuple(out)


def dotted(steps: Sequence[str]) -> str:
    """`("line_items", "[]", "wbs_code_id")` -> `line_items[].wbs_code_id`."""
    return ".".join(steps).replace(".[]", "[]")


def _read_only(system: str, name: str, spec: dict[str, Any]) -> frozenset[tuple[str, ...]]:
    """The `read_only` paths of one entity, each checked against its fields."""
    paths = frozenset(steps_of(str(p)) for p in spec.get("read_only") or ())
    for steps in paths:
        walk(spec.get("fields") or {}, steps, what=f"{system} {name} read_only")
    return paths


def _write_only(system: str, name: str, spec: dict[str, Any]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """The `write_only` paths of one entity and what each is served back as, checked against its fields."""
    out = {steps_of(str(k)): steps_of(str(v)) for k, v in (spec.get("write_only") or {}).items()}
    for steps in (*out, *out.values()):
        walk(spec.get("fields") or {}, steps, what=f"{system} {name} write_only")
    return out


@cache
def load(system: str) -> dict[str, Entity]:
    """Every entity of `system` (`qbo` or `procore`), from the shipped catalogue."""
    ids_as_text = catalog_document(system).get("id_values") == "string"
    return {
        name: Entity(
            system,
            name,
            spec.get("id", "id"),
            spec.get("version"),
            spec.get("fields") or {},
            spec.get("description", ""),
            _read_only(system, name, spec),
            _write_only(system, name, spec),
            tuple(_needs_items(system, name, spec)),
            ids_as_text,
        )
        for name, spec in catalog_entities(system).items()
    }


def _needs_items(system: str, name: str, spec: dict[str, Any]) -> list[str]:
    """The `needs_items` lists of one entity, each checked to be a list field."""
    out = [str(p) for p in spec.get("needs_items") or ()]
    for path in out:
        if not isinstance(walk(spec.get("fields") or {}, [path], what=f"{system} {name} needs_items"), list):
            raise ValueError(f"{system} {name} needs_items: {path} is not a list")
    return out


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
