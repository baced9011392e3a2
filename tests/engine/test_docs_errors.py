"""docs/errors.md documents every error code of engine/, connectors/, serve/ and web/, and no stale one.

Codes are found twice: from the JoistError classes (with the class named in its section),
and by reading the source for `code = "X123"`, so a class no import reaches counts too.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import connectors
import engine
import serve
import web
from engine.errors import JoistError

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "errors.md"
DOCUMENTED = re.compile(r"^### (?P<code>[A-Z]\d{3}) ", re.M)
IN_SCOPE = re.compile(r"^(R[123]\d\d|M4\d\d|C5\d\d|S6\d\d)$")
CODE_IN_SOURCE = re.compile(r'^\s+code = "(?P<code>[A-Z]\d{3})"', re.M)


def engine_error_classes() -> dict[str, list[type[JoistError]]]:
    """Every JoistError subclass defined in an engine, connectors or serve module, by code."""
    for package in (engine, connectors, serve, web):
        for module in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            importlib.import_module(module.name)
    found: dict[str, list[type[JoistError]]] = {}
    pending = list(JoistError.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith(("engine.", "connectors.", "serve.", "web.")) and "code" in vars(cls):
            found.setdefault(cls.code, []).append(cls)
    return found


CLASSES = engine_error_classes()
SECTIONS = {m["code"]: m.start() for m in DOCUMENTED.finditer(DOC.read_text(encoding="utf-8"))}


def test_every_engine_error_code_is_documented() -> None:
    wanted = {code for code in CLASSES if IN_SCOPE.match(code)}
    missing = sorted(wanted - set(SECTIONS))
    assert not missing, "docs/errors.md has no `### CODE` section for: " + ", ".join(
        f"{code} ({CLASSES[code][0].__module__}.{CLASSES[code][0].__name__})" for code in missing
    )


def test_every_code_in_the_source_is_documented() -> None:
    """`code = "X123"` anywhere in engine/, connectors/ or serve/ has its `### X123` section."""
    raised = {
        m["code"]: path.relative_to(ROOT)
        for top in ("engine", "connectors", "serve", "web")
        for path in sorted((ROOT / top).rglob("*.py"))
        for m in CODE_IN_SOURCE.finditer(path.read_text(encoding="utf-8"))
    }
    assert len(raised) > 80
    missing = sorted(set(raised) - set(SECTIONS))
    assert not missing, "docs/errors.md has no `### CODE` section for: " + ", ".join(
        f"{code} ({raised[code]})" for code in missing
    )


def test_no_section_for_a_code_that_does_not_exist() -> None:
    stale = sorted(set(SECTIONS) - set(CLASSES))
    assert not stale, f"docs/errors.md documents codes no engine class has: {stale}"


def test_each_class_is_named_in_its_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    order = sorted(SECTIONS.items(), key=lambda kv: kv[1])
    for i, (code, start) in enumerate(order):
        end = order[i + 1][1] if i + 1 < len(order) else len(text)
        body = text[start:end]
        for cls in CLASSES.get(code, []):
            assert f"`{cls.__name__}`" in body, f"{code}: the section should name {cls.__name__}"
        if code != "R100":
            assert "Fix:" in body, f"{code}: the section should say how to fix it"


def test_one_class_per_code() -> None:
    shared = {code: [c.__name__ for c in classes] for code, classes in CLASSES.items() if len(classes) > 1}
    assert not shared, f"codes used by more than one class: {shared}"


def test_sections_are_in_code_order() -> None:
    codes = [code for code, _ in sorted(SECTIONS.items(), key=lambda kv: kv[1])]
    assert codes == sorted(codes, key=lambda c: ("RMCS".index(c[0]), c))  # R1xx-R3xx, M4xx, C5xx, S6xx


CORE = (
    [f"R{n}" for n in range(101, 116)]
    + [f"R{n}" for n in range(201, 208)]
    + [f"R{n}" for n in range(301, 307)]
    + [f"M{n}" for n in range(401, 405)]
)


def test_every_core_code_is_exercised_by_a_test() -> None:
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "tests" / "engine").glob("test_*.py")]
    texts.append((ROOT / "tests" / "broken_rules" / "_expected.yaml").read_text(encoding="utf-8"))
    blob = "\n".join(texts)
    untested = [code for code in CORE if f'"{code}"' not in blob and f"code: {code}" not in blob]
    assert not untested, f"no test checks {untested}"
    assert set(CORE) <= set(CLASSES), sorted(set(CORE) - set(CLASSES))
