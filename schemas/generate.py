"""Write `rule.schema.json`, the schema editors use for rule files, from the strict rule schema and the catalogues.

    .venv/bin/python -m schemas.generate          # rewrite schemas/rule.schema.json
    .venv/bin/python -m schemas.generate --check  # exit 1 when the committed file is stale

`rule.core.schema.json` is the strict, hand-written schema the engine checks every
(merged) rule against. The generated `rule.schema.json` adds what an editor needs:

- `source.entity` and `target.entity` complete to the entities of the chosen system's
  catalogue (`catalog/<system>.yaml`);
- `fields` completes to the target entity's fields, dotted paths included
  (`BillAddr.City`), each with its type;
- an override layer (a customer pack that changes a few keys of a shipped flow: `flow`
  and, say, `fields`) is valid as it stands, where the strict schema wants a whole rule.

A test regenerates it and compares, so the catalogues and the file cannot drift apart.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CORE = HERE / "rule.core.schema.json"
TARGET = HERE / "rule.schema.json"
SYSTEMS = ("procore", "qbo")


def _entities(system: str) -> dict[str, Any]:
    text = (HERE / "catalog" / f"{system}.yaml").read_text(encoding="utf-8")
    return dict(yaml.safe_load(text)["entities"])


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object: " + ", ".join(value)
    if isinstance(value, list):
        inner = value[0] if value else None
        return "list of " + (("objects: " + ", ".join(inner)) if isinstance(inner, dict) else str(inner))
    return str(value)


def field_paths(fields: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Every field an expression can set, as `path -> type`: nested objects as dotted paths too."""
    found: dict[str, str] = {}
    for name, value in fields.items():
        path = f"{prefix}{name}"
        found[path] = _kind(value)
        if isinstance(value, dict):
            found.update(field_paths(value, f"{path}."))
    return found


def _entity_choices(side: dict[str, Any], catalogues: dict[str, dict[str, Any]]) -> dict[str, Any]:
    side = copy.deepcopy(side)
    side["allOf"] = [
        {
            "if": {"properties": {"system": {"const": system}}, "required": ["system"]},
            "then": {
                "properties": {
                    "entity": {
                        "enum": sorted(entities),
                        "description": f"An entity of the {system} catalogue (schemas/catalog/{system}.yaml).",
                    }
                }
            },
        }
        for system, entities in catalogues.items()
    ]
    return side


def _field_choices(catalogues: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rules = []
    for system, entities in catalogues.items():
        for name, entity in sorted(entities.items()):
            paths = field_paths(entity.get("fields") or {})
            rules.append(
                {
                    "if": {
                        "properties": {
                            "target": {
                                "properties": {"system": {"const": system}, "entity": {"const": name}},
                                "required": ["system", "entity"],
                            }
                        },
                        "required": ["target"],
                    },
                    "then": {
                        "properties": {
                            "fields": {
                                "properties": {
                                    path: {"$ref": "#/$defs/fieldValue", "description": kind}
                                    for path, kind in paths.items()
                                }
                            }
                        }
                    },
                }
            )
    return rules


def generate() -> dict[str, Any]:
    """The editor schema, as a JSON-ready document."""
    core = json.loads(CORE.read_text(encoding="utf-8"))
    catalogues = {system: _entities(system) for system in SYSTEMS}
    defs = copy.deepcopy(core["$defs"])
    defs["source"] = _entity_choices(defs["source"], catalogues)
    defs["target"] = _entity_choices(defs["target"], catalogues)
    rule = {
        key: copy.deepcopy(core[key])
        for key in ("type", "required", "additionalProperties", "properties")
        if key in core
    }
    rule["description"] = core.get("description", "")
    rule["allOf"] = _field_choices(catalogues)
    override = {key: copy.deepcopy(value) for key, value in rule.items() if key not in ("required", "allOf")}
    override["required"] = ["flow"]
    override["description"] = (
        "An override layer: a later pack's file that changes some keys of a flow an earlier pack "
        "defines (`fields: {Memo: ...}` replaces one field, `~` removes one, `replace: true` the whole flow)."
    )
    defs["rule"] = rule
    defs["override"] = override
    return {
        "$schema": core["$schema"],
        "$id": "urn:joist:schema:rule",
        "title": core.get("title", "Joist rule") + " (or an override layer)",
        "description": core.get("description", "")
        + " Generated by `python -m schemas.generate` from rule.core.schema.json and catalog/*.yaml: do not edit.",
        "anyOf": [{"$ref": "#/$defs/rule"}, {"$ref": "#/$defs/override"}],
        "$defs": defs,
    }


def render() -> str:
    """The file's text: stable key order, one-space indent, a final newline."""
    return json.dumps(generate(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run `python -m schemas.generate`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET} ({len(text) // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
