"""Load YAML while keeping the line and column of every key and value.

Mappings come back as `PosDict` and sequences as `PosList`: ordinary `dict` and `list`
subclasses that also remember where each entry stood, so any later check (the schema,
the catalogue, an expression's compile) can point at `file:line:col`. Scalars are plain
Python values; their positions live in the container that holds them.

Hostile files are refused before they are built: a file of more than `MAX_FILE_BYTES`
(R122), aliases that would expand to more than `ALIAS_BUDGET` extra nodes or that refer to
their own anchor (R123, the "billion laughs"), nesting deeper than `MAX_DEPTH` (R124).
The check walks the composed node graph once, so it costs the size of the file, not of
its expansion.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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


class FileTooLarge(JoistError):
    """A YAML file larger than any rule, lookup or project file needs to be."""

    code = "R122"


class AliasBomb(JoistError):
    """YAML aliases that expand beyond the budget, or an alias inside its own anchor."""

    code = "R123"


class NestedTooDeep(JoistError):
    """YAML nested deeper than any rule needs (and than Python can build)."""

    code = "R124"


MAX_FILE_BYTES = 4 * 1024 * 1024
"""A rule, lookup table or joist.yaml larger than this is refused unread (a big table is a CSV)."""
ALIAS_BUDGET = 10_000
"""How many nodes aliases may add to a document beyond the ones written out."""
MAX_DEPTH = 100
"""How deeply mappings and lists may nest."""


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def check_expansion(root: yaml.Node, filename: str | None = None) -> None:
    """Refuse a composed document whose aliases expand too far, loop, or that nests too deeply.

    One iterative walk over the node graph: a node reached again (an alias) adds its whole
    expanded size to the count, which is computed once per node.
    """
    sizes: dict[int, int] = {}
    active = {id(root)}
    extra = 0
    stack: list[tuple[yaml.Node, Iterator[yaml.Node], int]] = [(root, iter(_children(root)), 1)]
    while stack:
        node, children, total = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            active.discard(id(node))
            sizes[id(node)] = total
            if stack:
                parent, rest, count = stack[-1]
                stack[-1] = (parent, rest, count + total)
            continue
        if id(child) in active:
            raise AliasBomb(
                "an alias refers to the anchor it stands in (a loop)",
                location=_mark(filename, node.start_mark),
                hint="an alias may only repeat a finished node",
            )
        if id(child) in sizes:
            extra += sizes[id(child)]
            if extra > ALIAS_BUDGET:
                raise AliasBomb(
                    f"aliases expand to more than {ALIAS_BUDGET:,} extra nodes",
                    location=_mark(filename, node.start_mark),
                    hint="write the values out, or repeat them fewer times",
                )
            stack[-1] = (node, children, total + sizes[id(child)])
            continue
        if len(stack) >= MAX_DEPTH:
            raise NestedTooDeep(
                f"nested more than {MAX_DEPTH} levels deep",
                location=_mark(filename, child.start_mark),
                hint="flatten the structure",
            )
        active.add(id(child))
        stack.append((child, iter(_children(child)), 1))


def loads(text: str, filename: str | None = None) -> Any:
    """Parse one YAML document from `text`; errors name `filename`, line and column."""
    if len(text) > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"{len(text):,} characters, more than the {MAX_FILE_BYTES:,} a YAML file may have",
            location=Location(filename),
            hint="a large lookup table belongs in a CSV file",
        )
    loader = _PositionLoader(text)
    loader.filename = filename
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node, filename)
        return loader.construct_document(node)
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
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileTooLarge(
                f"{size:,} bytes, more than the {MAX_FILE_BYTES:,} a YAML file may have",
                location=Location(str(path)),
                hint="a large lookup table belongs in a CSV file",
            )
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
