"""Rule tests: `*.test.yaml` files beside the rules, collected by pytest.

This module is a pytest plugin (registered through the `pytest11` entry point, so plain
`pytest` finds it). Each case of a test file is one test item named `file::case`. A case
maps its input record through the rule with the links, lookups, params and existing twin it
gives, decides the action as `joist plan` would, and checks the expectations: `action`,
`entity`, `contains`, `equals`, `absent`, `changes`, `missing`, `error_code`, `reason`, and
`snapshot` (the whole outcome as a readable JSON file under `__snapshots__/`, through
syrupy: `pytest --snapshot-update` or `joist test --update` writes them).

Which rules a test file sees: the packs of the nearest `joist.yaml` above it; without one,
the outermost folder named `rules` above it (the shipped pack), else its own folder.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ErrorGroup, JoistError, Location, suggest
from engine.language import jsonio, schema_check, yamlload
from engine.language.loading import load_rules
from engine.language.rules import Layer, RuleSet, UnknownFlow
from engine.mapping.diff import Decision, plan_record, same
from engine.mapping.mapper import Mapper

TEST_SUFFIXES = (".test.yaml", ".test.yml")


class RuleTestError(JoistError):
    """A rule test file that is malformed (schema, missing input file, unknown flow)."""

    code = "R116"


@dataclass
class Mismatch:
    path: str
    expected: Any
    actual: Any


class CaseFailed(Exception):
    def __init__(self, mismatches: list[Mismatch], decision: Decision) -> None:
        super().__init__(f"{len(mismatches)} expectation(s) not met")
        self.mismatches, self.decision = mismatches, decision


def layers_for(test_file: Path) -> list[Layer]:
    """The rule layers a test file is run against (see the module docstring)."""
    from engine.project.config import ProjectNotFound, load_project

    try:
        project = load_project(test_file.parent)
        return project.layers()
    except ProjectNotFound:
        pass
    folder = test_file.resolve().parent
    named = [p for p in (folder, *folder.parents) if p.name == "rules"]
    return [("rules", [named[-1] if named else folder])]


@lru_cache(maxsize=32)
def _ruleset(key: tuple[tuple[str, tuple[str, ...]], ...]) -> RuleSet:
    return load_rules([(name, [Path(p) for p in paths]) for name, paths in key])


def ruleset_for(test_file: Path) -> RuleSet:
    layers = layers_for(test_file)
    return _ruleset(tuple((name, tuple(str(p) for p in paths)) for name, paths in layers))


def _merge_links(*sources: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, str]]:
    """Later sources replace a whole link set: a case's `vendors: {}` means no vendor links."""
    merged: dict[str, dict[str, str]] = {}
    for links in sources:
        for link_set, pairs in (links or {}).items():
            merged[link_set] = {str(k): str(v) for k, v in pairs.items()}
    return merged


def _merge_lookups(
    base: Mapping[str, Mapping[str, Any]], *overrides: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    merged = {name: dict(rows) for name, rows in base.items()}
    for over in overrides:
        for name, rows in (over or {}).items():
            merged.setdefault(name, {}).update({str(k): v for k, v in rows.items()})
    return merged


def load_fixture(path: Path) -> Any:
    """A case's `input_file`: JSON (numbers with a fraction become Decimal) or YAML.

    A file that does not parse is a `RuleTestError` at its line and column, never a
    traceback; JSON has no comments, which is what a leading `//` line is told.
    """
    if path.suffix != ".json":
        return yamlload.load(path)
    text = path.read_text(encoding="utf-8")
    try:
        return jsonio.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if 0 < exc.lineno <= len(text.splitlines()) else ""
        comment = line.lstrip().startswith(("//", "#", "/*"))
        raise RuleTestError(
            f"fixture is not valid JSON: {exc.msg}",
            location=Location(str(path), exc.lineno, exc.colno),
            hint="JSON has no comments: remove this line" if comment else "fix the JSON at this place",
        ) from None


def check_test_files(folders: list[Path], flows: Collection[str]) -> tuple[int, list[JoistError]]:
    """`joist validate` for rule tests: every `*.test.yaml` under `folders` and the fixtures it reads.

    Checks each file's schema, that its rule is one of `flows`, and that each case's
    `input_file` exists and parses. Returns how many test files there are and the problems.
    """
    files = sorted(
        {f for folder in folders for f in (folder.rglob("*") if folder.is_dir() else [folder]) if f.is_file()}
    )
    tests = [f for f in files if f.name.endswith(TEST_SUFFIXES)]
    problems: list[JoistError] = []
    for path in tests:
        try:
            doc = yamlload.load(path)
            found = schema_check.check(doc, "ruletest.schema.json", prefix=f"rule test {path.name}")
            if found:
                problems.extend(found)
                continue
            if doc["rule"] not in flows:
                near = suggest(str(doc["rule"]), flows)
                raise UnknownFlow(f"no flow named {doc['rule']!r}", hint=f"did you mean {near[0]!r}?" if near else None)
        except ErrorGroup as group:
            problems.extend(group.errors)
            continue
        except JoistError as exc:
            if not exc.location.file:
                exc.location = yamlload.locate(doc, ["rule"]) or Location(str(path))
            problems.append(exc)
            continue
        for index, case in enumerate(doc["cases"]):
            if "input_file" not in case:
                continue
            fixture = path.parent / case["input_file"]
            if not fixture.is_file():
                problems.append(
                    RuleTestError(
                        f"input_file {case['input_file']!r} does not exist",
                        location=yamlload.locate(doc, ["cases", index, "input_file"]) or Location(str(path)),
                        hint=f"looked for {fixture}",
                    )
                )
                continue
            try:
                load_fixture(fixture)
            except JoistError as exc:
                problems.append(exc)
    unique = {(str(e.location), e.code, e.message): e for e in problems}
    return len(tests), list(unique.values())


def run_case(ruleset: RuleSet, doc: Mapping[str, Any], case: Mapping[str, Any], base_dir: Path) -> Decision:
    """Map a case's input through its rule and decide the action, as `joist plan` would."""
    rule = ruleset[doc["rule"]]
    record = case.get("input")
    if record is None:
        path = base_dir / case["input_file"]
        if not path.is_file():
            raise RuleTestError(f"input_file {case['input_file']!r} does not exist", location=Location(str(path)))
        record = load_fixture(path)
    params = {**(doc.get("params") or {}), **(case.get("params") or {})}
    lookups = _merge_lookups(ruleset.lookups, doc.get("lookups"), case.get("lookups"))
    links = _merge_links(doc.get("links"), case.get("links"))
    twin = case.get("target")
    mapper = Mapper(rule, params, lookups)
    records = {**(doc.get("records") or {}), **(case.get("records") or {})}
    mapper.records = lambda entity, record_id: (records.get(entity) or {}).get(record_id)
    group_keys: list[str] = []
    if rule.source.split is not None:
        from engine.mapping.split import NO_GROUP, SEPARATOR, groups

        rid = str(record.get(rule.source_entity.id_field, "record"))
        parts = list(groups(rule, record, rid, lookups=lookups, params=mapper.params))
        keys = [
            gid.split(SEPARATOR, 1)[1] if SEPARATOR in gid else _only_key(rule, p, lookups, mapper.params)
            for gid, p in parts
        ]
        group_keys = keys
        wanted = case.get("group")
        chosen = [p for key, (_, p) in zip(keys, parts) if wanted is None or key == str(wanted)]
        if not parts:
            return Decision("skip", reason=NO_GROUP)
        if not chosen:
            raise RuleTestError(f"the input has no group {wanted!r}", hint=f"its groups: {', '.join(group_keys)}")
        record = chosen[0]
    decision = plan_record(mapper, record, twin, links=lambda link_set, key: links.get(link_set, {}).get(key))
    decision.groups = group_keys
    return decision


def _only_key(rule: Any, part: Mapping[str, Any], lookups: Any, params: Any) -> str:
    """The group key of a record that splits into one group (its id carries no key)."""
    from engine.expressions.functions import Runtime

    split = rule.source.split
    item = (split.each.evaluate({"source": part, "params": params}, Runtime(lookups=lookups)) or [None])[0]
    key = split.key.evaluate({"source": part, "params": params, "item": item, "index": 0}, Runtime(lookups=lookups))
    return "" if key is None else str(key)


def _contains(expected: Any, actual: Any, path: str, out: list[Mismatch]) -> None:
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            out.append(Mismatch(path or "payload", expected, actual))
            return
        for key, value in expected.items():
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(Mismatch(sub, value, "<absent>"))
            else:
                _contains(value, actual[key], sub, out)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            out.append(Mismatch(path, expected, actual))
            return
        for i, value in enumerate(expected):
            _contains(value, actual[i], f"{path}[{i}]", out)
    elif not same(expected, actual):
        out.append(Mismatch(path, expected, actual))


def _equals(expected: Any, actual: Any, path: str, out: list[Mismatch]) -> None:
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(Mismatch(sub, expected[key], "<absent>"))
            elif key not in expected:
                out.append(Mismatch(sub, "<absent>", actual[key]))
            else:
                _equals(expected[key], actual[key], sub, out)
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            _equals(e, a, f"{path}[{i}]", out)
    elif isinstance(expected, (Mapping, list)) or isinstance(actual, (Mapping, list)) or not same(expected, actual):
        if expected != actual:
            out.append(Mismatch(path or "payload", expected, actual))


def _has_path(payload: Any, dotted: str) -> bool:
    cur = payload
    for step in dotted.split("."):
        if not isinstance(cur, Mapping) or step not in cur:
            return False
        cur = cur[step]
    return True


def check_expectations(decision: Decision, expect: Mapping[str, Any]) -> list[Mismatch]:
    """Every expectation of a case that the decision does not meet."""
    out: list[Mismatch] = []
    payload = decision.payload
    result = decision.result
    if "action" in expect and expect["action"] != decision.action:
        out.append(
            Mismatch(
                "action",
                expect["action"],
                f"{decision.action} ({decision.reason})" if decision.reason else decision.action,
            )
        )
    if "entity" in expect and (result is None or result.entity != expect["entity"]):
        out.append(Mismatch("entity", expect["entity"], result.entity if result else None))
    if "contains" in expect:
        _contains(expect["contains"], payload, "", out)
    if "equals" in expect:
        _equals(expect["equals"], payload, "", out)
    for dotted in expect.get("absent", []):
        if _has_path(payload, dotted):
            out.append(Mismatch(dotted, "<absent>", "present"))
    if "changes" in expect:
        actual = sorted(c.path for c in decision.changes or [])
        if sorted(expect["changes"]) != actual:
            out.append(Mismatch("changes", sorted(expect["changes"]), actual))
    if "missing" in expect:
        actual = sorted(f"{s}:{i}" for s, i in (result.missing if result else []))
        if sorted(expect["missing"]) != actual:
            out.append(Mismatch("missing", sorted(expect["missing"]), actual))
    if "error_code" in expect:
        code = result.error.code if result and result.error else None
        if code != expect["error_code"]:
            out.append(Mismatch("error_code", expect["error_code"], code))
    if "groups" in expect and list(expect["groups"]) != decision.groups:
        out.append(Mismatch("groups", list(expect["groups"]), decision.groups))
    if "reason" in expect and expect["reason"] not in (decision.reason or ""):
        out.append(Mismatch("reason", f"... {expect['reason']} ...", decision.reason))
    return out


def outcome_document(decision: Decision) -> str:
    """The readable JSON a snapshot stores for a case."""
    doc: dict[str, Any] = {"action": decision.action}
    if decision.result is not None and decision.result.entity:
        doc["entity"] = decision.result.entity
    if decision.reason:
        doc["reason"] = decision.reason
    if decision.payload is not None:
        doc["payload"] = decision.payload
    if decision.changes:
        doc["changes"] = [{"path": c.path, "from": c.old, "to": c.new} for c in decision.changes]
    return jsonio.dumps(doc, indent=2) + "\n"


def _show(value: Any) -> str:
    text = jsonio.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:197] + "..."


try:
    from syrupy.assertion import SnapshotAssertion
    from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
    from syrupy.location import PyTestLocation

    class OutcomeSnapshot(SingleFileSnapshotExtension):
        """One readable JSON file per case."""

        _write_mode = WriteMode.TEXT
        file_extension = "json"
except ImportError:  # syrupy is a test extra; without it snapshot cases fail clearly
    SnapshotAssertion = None  # type: ignore[assignment,misc]


class RuleTestFile(pytest.File):
    """A `*.test.yaml` file: one item per case."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            doc = yamlload.load(self.path)
            problems = schema_check.check(doc, "ruletest.schema.json", prefix=f"rule test {self.path.name}")
            if problems:
                raise ErrorGroup(problems)
            ruleset = ruleset_for(self.path)
            ruleset[doc["rule"]]
        except JoistError as exc:
            yield BrokenTestFile.from_parent(self, name="<file>", error=exc)
            return
        for index, case in enumerate(doc["cases"]):
            yield RuleCase.from_parent(
                self,
                name=str(case["name"]),
                doc=doc,
                case=case,
                ruleset=ruleset,
                line=(yamlload.locate(doc, ["cases", index]) or Location()).line or 0,
            )


class BrokenTestFile(pytest.Item):
    def __init__(self, *, error: JoistError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error

    def runtest(self) -> None:
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return self.error.format()

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"{self.path.name} (unreadable)"


class RuleCase(pytest.Item):
    """One case of a rule test."""

    def __init__(
        self, *, doc: Mapping[str, Any], case: Mapping[str, Any], ruleset: RuleSet, line: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.doc, self.case, self.ruleset, self.line = doc, case, ruleset, line

        def case_function() -> None:
            """Stands for the case where syrupy expects a test function."""

        case_function.__module__ = self.path.name.split(".")[0]
        case_function.__name__ = self.name
        self.obj = case_function

    def runtest(self) -> None:
        decision = run_case(self.ruleset, self.doc, self.case, self.path.parent)
        expect = self.case["expect"]
        mismatches = check_expectations(decision, expect)
        if mismatches:
            raise CaseFailed(mismatches, decision)
        if expect.get("snapshot"):
            if SnapshotAssertion is None:
                raise RuleTestError("snapshot: true needs syrupy (pip install 'joist[test]')")
            snapshot = SnapshotAssertion(
                session=getattr(self.config, "_syrupy"),  # noqa: B009 - syrupy's session, set by its plugin
                extension_class=OutcomeSnapshot,
                test_location=PyTestLocation(self),
                update_snapshots=self.config.option.update_snapshots,
            )
            assert snapshot == outcome_document(decision)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        exc = excinfo.value
        head = f"{self.path.name}:{self.line}  rule {self.doc['rule']} :: case {self.name!r}"
        if isinstance(exc, CaseFailed):
            lines = [head]
            width = max(len(m.path) for m in exc.mismatches)
            for m in exc.mismatches:
                lines.append(f"  {m.path:<{width}}  expected {_show(m.expected)}")
                lines.append(f"  {'':<{width}}  actual   {_show(m.actual)}")
            if exc.decision.result is not None and exc.decision.result.error is not None:
                lines.append("  error: " + exc.decision.result.error.format().replace("\n", "\n  "))
            return "\n".join(lines)
        if isinstance(exc, JoistError):
            return head + "\n" + exc.format()
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.line, f"{self.doc['rule']}::{self.name}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect `*.test.yaml` rule tests wherever pytest looks."""
    if file_path.name.endswith(TEST_SUFFIXES):
        return RuleTestFile.from_parent(parent, path=file_path)
    return None


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Keep the snapshots of rule-test cases left out by `-k` (or any deselection) on `--snapshot-update`.

    syrupy tracks deselection only for plain test functions; for our case items it would
    take every snapshot not asserted in this run as unused and delete it. Turning on its
    `--snapshot-no-cleanup` writes the selected cases' snapshots and removes nothing.
    """
    cases = [item for item in items if isinstance(item, RuleCase | BrokenTestFile)]
    if cases and getattr(cases[0].config.option, "update_snapshots", False):
        cases[0].config.option.no_cleanup = True
