"""Load rule files: parse with positions, merge layers, validate, compile, check.

`load_rules(layers)` reads every `*.yaml` rule under each layer's folders (test files
`*.test.yaml` and `lookups/` aside), merges a later layer's file into the earlier flow of
the same name (top-level keys replace, `fields` merge key by key, `~` removes a field,
`replace: true` swaps the whole flow), checks everything against the rule schema and the
entity catalogues, compiles every expression, and reports *all* problems at once as an
`ErrorGroup`, sorted by file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import JoistError, Location, suggest
from engine.expressions.base import Compiled
from engine.expressions.compiler import compile_expression, constant
from engine.language import catalog, schema_check, yamlload
from engine.language.tree import ItemNode, ListNode, Node, ObjectNode, Origin, ValueNode, expressions
from engine.language.yamlload import PosDict, PosList

RULE_SCHEMA = "rule.core.schema.json"  # strict; rule.schema.json is generated from it for editors
FIELD_ROOTS = ("source", "target", "params", "links")


class DuplicateFlow(JoistError):
    """Two rule files of one layer define the same flow."""

    code = "R108"


class DirectionMismatch(JoistError):
    """`direction` disagrees with the systems of `source` and `target`."""

    code = "R111"


class UnknownParam(JoistError):
    """An expression reads `params.X` that the rule does not declare."""

    code = "R112"


class UnknownLookup(JoistError):
    """`lookup()` names a table that no lookup file of the project defines."""

    code = "R113"


_ONE_SPELLING = (
    "write each field once, dotted (A.B:) or nested (A: {B: ...}); "
    "an override layer must use the spelling of the layer it overrides"
)


class BadSplit(JoistError):
    """`source.split.each` must name a list in the source record by a plain path."""

    code = "R118"


class ConflictingField(JoistError):
    """The same target field is set twice (e.g. `A.B` and `A: {B: ...}`)."""

    code = "R114"


@dataclass(frozen=True)
class Split:
    """`source.split`: one source record per group of the list at `path`."""

    each: Compiled
    key: Compiled
    path: tuple[str, ...]


@dataclass
class Endpoint:
    system: str
    entity: str
    where: Compiled | None = None
    entity_when: dict[str, Compiled] = field(default_factory=dict)
    split: Split | None = None


@dataclass
class Rule:
    """One compiled flow."""

    flow: str
    direction: str
    source: Endpoint
    target: Endpoint
    fields: ObjectNode
    file: str
    layer: str
    description: str = ""
    links: str = ""
    depends_on: list[str] = field(default_factory=list)
    match: dict[str, Compiled] = field(default_factory=dict)
    lock_when: Compiled | None = None
    on_delete: str = "ignore"
    update: str = "sparse"
    enabled: bool | Compiled = True
    tags: list[str] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    location: Location = field(default_factory=Location)
    checks: dict[str, Compiled] = field(default_factory=dict)
    attachments: bool = False
    depends_on_at: dict[str, Location] = field(default_factory=dict)

    @property
    def source_entity(self) -> catalog.Entity:
        return catalog.entity(self.source.system, self.source.entity)

    @property
    def target_entity(self) -> catalog.Entity:
        return catalog.entity(self.target.system, self.target.entity)

    def all_expressions(self) -> list[Compiled]:
        found = expressions(self.fields) + list(self.match.values())
        found += [e for e in (self.source.where, self.lock_when) if e is not None]
        found += list(self.target.entity_when.values()) + list(self.checks.values())
        if isinstance(self.enabled, Compiled):
            found.append(self.enabled)
        return found

    def refs(self) -> list[str]:
        """Link sets this rule's ref() calls read, in order of first use."""
        seen: dict[str, None] = {}
        for expr in self.all_expressions():
            for r in expr.refs:
                seen.setdefault(r, None)
        return list(seen)

    def default_params(self) -> dict[str, Any]:
        return {k: v.get("default") for k, v in self.params.items()}


class UnknownFlow(JoistError):
    """A flow name that the project does not have."""

    code = "R306"


@dataclass
class RuleSet:
    """Every rule of a project, the lookup tables, and where they came from."""

    rules: dict[str, Rule]
    lookups: dict[str, dict[str, Any]]
    warnings: list[JoistError] = field(default_factory=list)

    def __getitem__(self, flow: str) -> Rule:
        if flow not in self.rules:
            near = suggest(flow, self.rules)
            raise UnknownFlow(
                f"no flow named {flow!r}",
                hint=f"did you mean {near[0]!r}?" if near else None,
                allowed=sorted(self.rules),
            )
        return self.rules[flow]

    def producers(self, link_set: str) -> list[str]:
        return [r.flow for r in self.rules.values() if r.links == link_set]


Layer = tuple[str, Sequence[Path]]


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Rule files under `paths` (files or folders), sorted, without tests and lookups."""
    found: list[Path] = []
    for p in paths:
        p = Path(p)
        candidates = [p] if p.is_file() else sorted(p.rglob("*.yaml")) + sorted(p.rglob("*.yml"))
        for f in candidates:
            name = f.name
            if name.endswith((".test.yaml", ".test.yml")) or {"lookups", "fixtures", "__snapshots__"} & set(f.parts):
                continue
            if name.startswith(("joist.", "_")):
                continue
            found.append(f)
    return found


def _merge_fields(base: Any, over: Any) -> Any:
    if not (isinstance(base, PosDict) and isinstance(over, PosDict)) or "const" in over:
        return over
    merged = PosDict(base)
    merged.location = base.location
    merged.key_locations = dict(base.key_locations)
    merged.value_locations = dict(base.value_locations)
    merged.value_styles = dict(base.value_styles)
    for key, value in over.items():
        if value is None:
            merged.pop(key, None)
            continue
        merged[key] = _merge_fields(base.get(key), value) if key in base else value
        merged.key_locations[key] = over.key_locations[key]
        merged.value_locations[key] = over.value_locations[key]
        merged.value_styles[key] = over.value_styles[key]
    return merged


def merge_layer(base: PosDict, over: PosDict) -> PosDict:
    """A later layer's flow file applied on top of the earlier one."""
    if over.get("replace"):
        return over
    merged = PosDict(base)
    for attr in ("location", "key_locations", "value_locations", "value_styles"):
        setattr(merged, attr, dict(getattr(base, attr)) if attr != "location" else base.location)
    for key, value in over.items():
        if key == "fields" and isinstance(value, PosDict) and isinstance(base.get("fields"), PosDict):
            merged["fields"] = _merge_fields(base["fields"], value)
        elif value is None:
            merged.pop(key, None)
            continue
        else:
            merged[key] = value
        merged.key_locations[key] = over.key_locations[key]
        merged.value_locations[key] = over.value_locations[key]
        merged.value_styles[key] = over.value_styles[key]
    return merged


class RuleCompiler:
    """Turns one validated rule document into a `Rule`, collecting every error."""

    def __init__(self, doc: PosDict, layer_of: dict[str, str], lookups: dict[str, dict[str, Any]]) -> None:
        self.doc = doc
        self.errors: list[JoistError] = []
        self.flow = str(doc.get("flow"))
        self.prefix = f"flow {self.flow}"
        self.layer_of = layer_of
        self.lookups = lookups
        self.declared_params = set((doc.get("params") or {}).keys())
        self.target: catalog.Entity | None = None

    def where(self, *steps: Any, key: bool = False) -> Location:
        return yamlload.locate(self.doc, steps, key=key) or self.doc.location

    def path(self, *steps: Any) -> str:
        return f"{self.prefix}, {schema_check.render_path(steps)}"

    def origin(self, *steps: Any) -> Origin:
        loc = self.where(*steps)
        return Origin(loc, self.layer_of.get(loc.file or "", ""))

    def expr(
        self, value: Any, steps: tuple[Any, ...], roots: tuple[str, ...], shapes: dict[str, Any]
    ) -> Compiled | None:
        loc = self.where(*steps)
        try:
            if not isinstance(value, str):
                return constant(value, loc)
            compiled = compile_expression(value, loc, yamlload.style_at(self.doc, steps), roots)
            self._check_reads(compiled, shapes, steps)
            return compiled
        except JoistError as exc:
            exc.path = exc.path or self.path(*steps)
            self.errors.append(exc)
            return None

    def _check_reads(self, compiled: Compiled, shapes: dict[str, Any], steps: tuple[Any, ...]) -> None:
        for root, path in compiled.reads:
            if root == "params":
                if path and path[0] not in self.declared_params:
                    near = suggest(path[0], self.declared_params)
                    raise UnknownParam(
                        f"params.{path[0]} is not declared by this rule",
                        location=compiled.location,
                        hint=f"did you mean {near[0]!r}?"
                        if near
                        else f"declare it under `params: {{{path[0]}: {{default: ...}}}}`",
                        allowed=sorted(self.declared_params),
                    )
                continue
            shape = shapes.get(root)
            if shape is not None and path:
                catalog.walk(shape, path, what=root, location=compiled.location, path=self.path(*steps))
                if root == "target":
                    self._check_readable(path, compiled.location, self.path(*steps))
        for table in compiled.lookups:
            if table not in self.lookups:
                near = suggest(table, self.lookups)
                raise UnknownLookup(
                    f"no lookup table {table!r}",
                    location=compiled.location,
                    hint=f"did you mean {near[0]!r}?" if near else f"add rules/lookups/{table}.yaml (or .csv)",
                    allowed=sorted(self.lookups),
                )

    def _check_readable(self, path: Sequence[str], location: Location, where: str) -> None:
        """Raise WriteOnlyField if `target.<path>` reaches a field the API never serves back."""
        hidden = self.target.write_only_at(path) if self.target else None
        if self.target is None or hidden is None:
            return
        raise catalog.WriteOnlyField(
            f"target.{catalog.dotted(hidden)} is write-only: {self.target.system} accepts it on "
            f"{self.target.name} but never serves it back, so target never has it",
            location=location,
            path=where,
            hint=f"read target.{catalog.dotted(self.target.write_only[hidden])}, which is how it is served back",
        )

    def _check_writable(self, steps: tuple[Any, ...], parts: list[str], here: tuple[Any, ...]) -> None:
        """Record ReadOnlyField if the target field at `here` is one the API computes or assigns."""
        if self.target is None:
            return
        parent = _target_path(steps)
        fixed = self.target.read_only_at(parent + tuple(parts))
        if fixed is None or len(fixed) <= len(parent):  # reported once, where the read-only field is named
            return
        self.errors.append(
            catalog.ReadOnlyField(
                f"target.{catalog.dotted(fixed)} is read-only: {self.target.system} computes or assigns it "
                f"on {self.target.name}",
                location=self.where(*here, key=True),
                path=self.path(*here),
                hint="remove it from fields: (a rule may read it, e.g. in lock_when, but not write it)",
            )
        )

    def entity(self, side: str) -> catalog.Entity | None:
        spec = self.doc.get(side) or {}
        try:
            return catalog.entity(spec["system"], spec["entity"], self.where(side, "entity"), self.path(side, "entity"))
        except JoistError as exc:
            self.errors.append(exc)
            return None

    def fields(
        self, value: PosDict, steps: tuple[Any, ...], roots: tuple[str, ...], shapes: dict[str, Any], target_shape: Any
    ) -> ObjectNode:
        node = ObjectNode(origin=self.origin(*steps))
        for key, sub in value.items():
            parts = str(key).split(".")
            here = steps + (key,)
            shape = target_shape
            try:
                if target_shape is not None:
                    shape = catalog.walk(
                        target_shape, parts, what="target", location=self.where(*here, key=True), path=self.path(*here)
                    )
                    self._check_writable(steps, parts, here)
            except JoistError as exc:
                self.errors.append(exc)
                shape = None
            child = self.field_value(sub, here, roots, shapes, shape)
            if child is None:
                continue
            parent = node
            for part in parts[:-1]:
                existing = parent.children.get(part)
                if existing is None:
                    existing = parent.children[part] = ObjectNode(origin=self.origin(*here))
                if not isinstance(existing, ObjectNode):
                    self.errors.append(
                        ConflictingField(
                            f"{key!r} sets inside {part!r}, which is already a value",
                            location=self.where(*here, key=True),
                            path=self.path(*here),
                            hint=_ONE_SPELLING,
                        )
                    )
                    break
                parent = existing
            else:
                last = parts[-1]
                if last in parent.children:
                    self.errors.append(
                        ConflictingField(
                            f"target field {key!r} is set twice",
                            location=self.where(*here, key=True),
                            path=self.path(*here),
                            hint=_ONE_SPELLING,
                        )
                    )
                else:
                    parent.children[last] = child
        return node

    def field_value(
        self, value: Any, steps: tuple[Any, ...], roots: tuple[str, ...], shapes: dict[str, Any], target_shape: Any
    ) -> Node | None:
        if isinstance(value, PosDict) and "const" in value:
            return ValueNode(constant(value["const"], self.where(*steps)), self.origin(*steps))
        if isinstance(value, PosDict):
            return self.fields(value, steps, roots, shapes, target_shape)
        if isinstance(value, PosList):
            item_shape = (
                catalog.element(target_shape)
                if isinstance(target_shape, list)
                else (None if target_shape is None else "any")
            )
            items = [self.list_item(v, steps + (i,), roots, shapes, item_shape) for i, v in enumerate(value)]
            return ListNode([i for i in items if i is not None], origin=self.origin(*steps))
        compiled = self.expr(value, steps, roots, shapes)
        return ValueNode(compiled, self.origin(*steps)) if compiled else None

    def list_item(
        self, value: PosDict, steps: tuple[Any, ...], roots: tuple[str, ...], shapes: dict[str, Any], target_shape: Any
    ) -> ItemNode | None:
        if not ({"each", "when", "fields"} & set(value)):
            return ItemNode(self.fields(value, steps, roots, shapes, target_shape), origin=self.origin(*steps))
        each = when = None
        inner_roots, inner_shapes = roots, dict(shapes)
        if "each" in value:
            each = self.expr(value["each"], steps + ("each",), roots, shapes)
            inner_roots = tuple(dict.fromkeys(roots + ("item", "parent", "index")))
            inner_shapes["parent"] = shapes.get("item", shapes.get("source"))
            inner_shapes["item"] = self._item_shape(each, shapes)
        if "when" in value:
            when = self.expr(value["when"], steps + ("when",), inner_roots, inner_shapes)
        fields = self.fields(value["fields"], steps + ("fields",), inner_roots, inner_shapes, target_shape)
        return ItemNode(fields, each, when, self.origin(*steps))

    def split(self, spec: Any, shapes: dict[str, Any]) -> Split | None:
        if not spec:
            return None
        each = self.expr(spec["each"], ("source", "split", "each"), ("source", "params"), shapes)
        if each is None:
            return None
        reads = each.reads
        if (
            each.kind != "jmespath"
            or len(reads) != 1
            or reads[0][0] != "source"
            or not reads[0][1]
            or "[]" in reads[0][1]
            or each.text.strip() != "source." + ".".join(reads[0][1])
        ):
            self.errors.append(
                BadSplit(
                    f"split.each must be a path to a list in the source, not {each.text!r}",
                    location=each.location,
                    path=self.path("source", "split", "each"),
                    hint="for example: each: source.Line",
                )
            )
            return None
        inner = dict(shapes, item=self._item_shape(each, shapes), parent=shapes.get("source"))
        key = self.expr(spec["key"], ("source", "split", "key"), ("source", "item", "params"), inner)
        return Split(each, key, tuple(reads[0][1])) if key is not None else None

    @staticmethod
    def _item_shape(each: Compiled | None, shapes: dict[str, Any]) -> Any:
        if each is None or len(each.reads) != 1 or each.kind != "jmespath":
            return None
        root, path = each.reads[0]
        if shapes.get(root) is None:
            return None
        try:
            shape = catalog.walk(shapes[root], path, what=root)
        except JoistError:
            return None
        if path and path[-1] == "[]":
            return shape
        return catalog.element(shape) if isinstance(shape, list) else None

    def _depends_on_at(self) -> dict[str, Location]:
        """Where each `depends_on` entry is written, for graph errors."""
        entries = self.doc.get("depends_on") or []
        return {str(dep): self.where("depends_on", i) for i, dep in enumerate(entries)}

    def compile(self) -> Rule | None:
        doc = self.doc
        src, tgt = self.entity("source"), self.entity("target")
        self.target = tgt
        direction = str(doc["direction"])
        left, right = (s.strip() for s in direction.split(">"))
        if left != doc["source"]["system"] or right != doc["target"]["system"]:
            self.errors.append(
                DirectionMismatch(
                    f"direction {direction!r} but source is {doc['source']['system']} and target is {doc['target']['system']}",
                    location=self.where("direction"),
                    path=self.path("direction"),
                    hint=f"did you mean '{doc['source']['system']} > {doc['target']['system']}'?",
                )
            )
        shapes = {"source": src.fields if src else None, "target": tgt.fields if tgt else None}
        where = None
        if "where" in doc["source"]:
            where = self.expr(doc["source"]["where"], ("source", "where"), ("source", "params"), shapes)
        split = self.split(doc["source"].get("split"), shapes)
        entity_when: dict[str, Compiled] = {}
        for name, text in (doc["target"].get("entity_when") or {}).items():
            try:
                catalog.entity(doc["target"]["system"], name, self.where("target", "entity_when", name, key=True))
            except JoistError as exc:
                self.errors.append(exc)
            compiled = self.expr(text, ("target", "entity_when", name), ("source", "params"), shapes)
            if compiled:
                entity_when[name] = compiled
        match: dict[str, Compiled] = {}
        for key, text in (doc.get("match") or {}).items():
            if tgt:
                try:
                    catalog.walk(
                        tgt.fields,
                        str(key).split("."),
                        what="target",
                        location=self.where("match", key, key=True),
                        path=self.path("match", key),
                    )
                except JoistError as exc:
                    self.errors.append(exc)
            compiled = self.expr(text, ("match", key), ("source", "params", "links"), shapes)
            if compiled:
                match[key] = compiled
        checks: dict[str, Compiled] = {}
        for key, text in (doc.get("checks") or {}).items():
            if tgt:
                try:
                    catalog.walk(
                        tgt.fields,
                        str(key).split("."),
                        what="target",
                        location=self.where("checks", key, key=True),
                        path=self.path("checks", key),
                    )
                except JoistError as exc:
                    self.errors.append(exc)
            compiled = self.expr(text, ("checks", key), ("source", "params"), shapes)
            if compiled:
                checks[key] = compiled
        lock_when = None
        if "lock_when" in doc:
            lock_when = self.expr(doc["lock_when"], ("lock_when",), ("source", "target", "params"), shapes)
        enabled: bool | Compiled = True
        if isinstance(doc.get("enabled"), str):
            enabled = self.expr(doc["enabled"], ("enabled",), ("params",), shapes) or True
        elif "enabled" in doc:
            enabled = bool(doc["enabled"])
        fields = self.fields(doc["fields"], ("fields",), FIELD_ROOTS, shapes, shapes["target"])
        if self.errors:
            return None
        files = sorted({loc.file for loc in (doc.location, *doc.value_locations.values()) if loc.file})
        return Rule(
            flow=self.flow,
            direction=direction,
            description=str(doc.get("description", "")),
            source=Endpoint(doc["source"]["system"], doc["source"]["entity"], where, split=split),
            target=Endpoint(doc["target"]["system"], doc["target"]["entity"], entity_when=entity_when),
            fields=fields,
            file=doc.location.file or "",
            layer=self.layer_of.get(doc.location.file or "", ""),
            links=str(doc.get("links") or self.flow),
            depends_on=list(doc.get("depends_on") or []),
            match=match,
            lock_when=lock_when,
            on_delete=str(doc.get("on_delete", "ignore")),
            update=str(doc.get("update", "sparse")),
            enabled=enabled,
            tags=list(doc.get("tags") or []),
            params={k: dict(v or {}) for k, v in (doc.get("params") or {}).items()},
            files=files,
            location=doc.location,
            depends_on_at=self._depends_on_at(),
            checks=checks,
            attachments=bool(doc.get("attachments", False)),
        )


def _target_path(steps: tuple[Any, ...]) -> tuple[str, ...]:
    """The target field path of a place under `fields:` (`("fields", "Line", 0, "fields")` -> `("Line", "[]")`)."""
    out: list[str] = []
    previous: Any = None
    for step in steps[1:]:
        if isinstance(step, int):
            out.append("[]")
        elif not (step == "fields" and isinstance(previous, int)):
            out.extend(str(step).split("."))
        previous = step
    return tuple(out)
