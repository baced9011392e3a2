"""The shipped schemas and entity catalogues, as data.

`rule.core.schema.json` (the strict rule schema the engine checks), `ruletest.schema.json`
and `project.schema.json` describe the files a user writes; `rule.schema.json`, the one
editors use, is generated from the strict one and the catalogues by `python -m
schemas.generate`. `catalog/<system>.yaml` describes each system's entities as its API
serves them. Both the engine (rule checks) and the connectors (field types) read the catalogues
through `catalog_entities`, so neither imports the other for it.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def catalog_document(system: str) -> dict[str, Any]:
    """The whole of `catalog/<system>.yaml` as written (parsed once per process)."""
    text = resources.files("schemas").joinpath("catalog", f"{system}.yaml").read_text(encoding="utf-8")
    return dict(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def catalog_entities(system: str) -> dict[str, Any]:
    """The `entities` mapping of `catalog/<system>.yaml` as written."""
    entities: dict[str, Any] = catalog_document(system)["entities"]
    return entities
