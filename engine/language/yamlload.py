"""Load YAML while keeping the line and column of every key and value.

Mappings come back as `PosDict` and sequences as `PosList`: ordinary `dict` and `list`
subclasses that also remember where each entry stood, so any later check (the schema,
the catalogue, an expression's compile) can point at `file:line:col`. Scalars are plain
Python values; their positions live in the container that holds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from engine.errors import JoistError, Location


class YamlSyntaxError(JoistError):
    """The file is not valid YAML."""

    code = "R101"


class DuplicateKey(JoistError):
    """The same key twice in one mapping: YAML would silently keep the last one."""

    code = "R102"


class UnreadableFile(JoistError):
    """The file does not exist or cannot be read."""

    code = "R109"


class PosDict(dict):
    """A dict that knows where it, each of its keys and each of its values stand."""

    location: Location
    key_locations: dict[Any, Location]
    value_locations: dict[Any, Location]
    value_styles: dict[Any, str | None]


class PosList(list):
    """A list that knows where it and each of its items stand."""

    location: Location
    item_locations: list[Location]
    item_styles: list[str | None]


def _mark(filename: str | None, mark: yaml.Mark) -> Location:
    return Location(filename, mark.line + 1, mark.column + 1)


def _style(node: yaml.Node) -> str | None:
    return getattr(node, "style", None)


class _PositionLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    filename: str | None = None


def _construct_mapping(loader: _PositionLoader, node: yaml.MappingNode) -> PosDict:
    loader.flatten_mapping(node)
    result = PosDict()
    result.location = _mark(loader.filename, node.start_mark)
    result.key_locations, result.value_locations, result.value_styles = {}, {}, {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key_at = _mark(loader.filename, key_node.start_mark)
        if key in result:
            first = result.key_locations[key]
            raise DuplicateKey(
                f"duplicate key {key!r} (first at line {first.line})",
                location=key_at,
                hint="keep one of them: YAML would silently use the last",
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_locations[key] = key_at
        result.value_locations[key] = _mark(loader.filename, value_node.start_mark)
        result.value_styles[key] = _style(value_node)
    return result


def _construct_sequence(loader: _PositionLoader, node: yaml.SequenceNode) -> PosList:
    result = PosList(loader.construct_object(child, deep=True) for child in node.value)
    result.location = _mark(loader.filename, node.start_mark)
    result.item_locations = [_mark(loader.filename, child.start_mark) for child in node.value]
    result.item_styles = [_style(child) for child in node.value]
    return result


def _construct_decimal(loader: _PositionLoader, node: yaml.ScalarNode) -> Decimal | float:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:  # .inf, .nan and friends
        return loader.construct_yaml_float(node)


_PositionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
# Numbers with a fraction are money far more often than not: never let them become floats.
_PositionLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_PositionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay ISO strings: a rule or fixture that says 2026-01-31 means the string.
_PositionLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def loads(text: str, filename: str | None = None) -> Any:
    """Parse one YAML document from `text`; errors name `filename`, line and column."""
    loader = _PositionLoader(text)
    loader.filename = filename
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = _mark(filename, mark) if mark else Location(filename)
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(
            f"invalid YAML: {problem}", location=where, hint="check the indentation and quoting on this line"
        ) from None
    finally:
        loader.dispose()


def load(path: str | Path) -> Any:
    """Parse the YAML file at `path` (positions name the path as given)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableFile(
            f"cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}", location=Location(str(path))
        ) from None
    return loads(text, str(path))


def locate(data: Any, path: Iterable[Any], *, key: bool = False) -> Location | None:
    """Where the node at `path` (keys and indexes from the root) stands.

    With `key=True` the position of the last key itself rather than its value. Falls back
    to the nearest enclosing node that has a position.
    """
    node, best = data, getattr(data, "location", None)
    steps = list(path)
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(node, PosDict) and step in node:
            best = (node.key_locations if key and last else node.value_locations).get(step, best)
            node = node[step]
        elif isinstance(node, PosList) and isinstance(step, int) and 0 <= step < len(node):
            best = node.item_locations[step]
            node = node[step]
        else:
            break
        inner = getattr(node, "location", None)
        if inner is not None and not (key and last):
            best = inner
    return best


def style_at(data: Any, path: Iterable[Any]) -> str | None:
    """The YAML scalar style (None plain, `'`, `"`, `|`, `>`) of the value at `path`."""
    steps = list(path)
    if not steps:
        return None
    *parents, last = steps
    node = data
    for step in parents:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, PosDict):
        return node.value_styles.get(last)
    if isinstance(node, PosList) and isinstance(last, int) and 0 <= last < len(node):
        return node.item_styles[last]
    return None
