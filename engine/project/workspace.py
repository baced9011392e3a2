"""Which rules a command works on: `--rules` folders, else the project's packs, else `./rules`.

Shared by every command that reads rules, so they all agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import JoistError
from engine.language.loading import load_rules
from engine.language.rules import Layer, RuleSet


class NoRules(JoistError):
    """No rules were found to work on."""

    code = "R117"


@dataclass
class Workspace:
    layers: list[Layer]
    project: Any | None  # engine.project.config.Project when a joist.yaml was found
    ruleset: RuleSet

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.project.params) if self.project is not None else {}


def layers_from(paths: Sequence[str | Path]) -> list[Layer]:
    """Each given path is one layer, earliest first."""
    return [(str(p), [Path(p)]) for p in paths]


def resolve(rule_paths: Sequence[str | Path] = (), project_dir: str | Path | None = None) -> Workspace:
    """Load the rules a command should see (errors as one `ErrorGroup`).

    `rule_paths` win; else the project at `project_dir` (a joist.yaml or a folder, searched
    upward from it: `--project`), else the one found from the working folder, else `./rules`.
    """
    layers, project = resolve_layers(rule_paths, project_dir)
    return Workspace(layers, project, load_rules(layers))


def resolve_flow(flow: str, rule_paths: Sequence[str | Path] = (), project_dir: str | Path | None = None) -> Workspace:
    """Like `resolve`, but load and check only what `flow` needs (engine.language.flowcache)."""
    from engine.language.flowcache import load_flow

    layers, project = resolve_layers(rule_paths, project_dir)
    return Workspace(layers, project, load_flow(layers, flow))


def resolve_layers(
    rule_paths: Sequence[str | Path] = (), project_dir: str | Path | None = None
) -> tuple[list[Layer], Any | None]:
    """The layers a command works on, and the project (None with `--rules` or without a joist.yaml)."""
    from engine.project.config import ProjectNotFound, load_project

    project = None
    if rule_paths:
        for p in rule_paths:
            if not Path(p).exists():
                raise NoRules(f"{p} does not exist", hint="give a rules folder or file")
        layers = layers_from(rule_paths)
    elif project_dir is not None:  # named by the user: that project or an error, never ./rules
        project = load_project(project_dir)
        layers = project.layers()
    else:
        try:
            project = load_project(None)
            layers = project.layers()
        except ProjectNotFound:
            if Path("rules").is_dir():
                layers = layers_from(["rules"])
            else:
                raise NoRules(
                    "no joist.yaml here and no ./rules folder",
                    hint="run joist in a project folder (`joist init` makes one), or name the rule folders: "
                    "`joist validate FOLDER...` and `joist test FOLDER...` take them as arguments, the other "
                    "commands with --rules FOLDER",
                ) from None
    return layers, project
