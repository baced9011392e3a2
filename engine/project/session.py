"""A project opened for one command: its rules, its state store and its connectors.

Every command that talks to the systems goes through here, so they agree on which rules,
which state file and which credentials are meant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.base import Connector
from engine.language.graph import build_graph, select
from engine.language.loading import load_rules
from engine.language.rules import RuleSet
from engine.state.store import SQLiteState
from engine.sync.outcomes import Listener
from engine.sync.report import RunReport
from engine.sync.run import Sync


@dataclass
class Session:
    project: Any  # engine.project.config.Project
    ruleset: RuleSet
    state: SQLiteState
    transports: Mapping[str, httpx.BaseTransport] = field(default_factory=dict)
    _connectors: dict[str, Connector] = field(default_factory=dict)

    @classmethod
    def open(
        cls, project_dir: str | Path | None = None, *, transports: Mapping[str, httpx.BaseTransport] | None = None
    ) -> Session:
        """Load joist.yaml (searching upward from `project_dir` or the working folder)."""
        from engine.project.config import load_project

        project = load_project(project_dir)
        ruleset = load_rules(project.layers())
        return cls(project, ruleset, project.open_state(), dict(transports or {}))

    def connectors(self, systems: set[str]) -> dict[str, Connector]:
        from engine.project.connections import open_connector

        for system in sorted(systems - set(self._connectors)):
            self._connectors[system] = open_connector(self.project, system, transport=self.transports.get(system))
        return {s: self._connectors[s] for s in systems}

    def flows(self, selector: str | None) -> list[str]:
        return select(build_graph(self.ruleset), selector, root=self.project.root)

    def systems_for(self, flows: list[str]) -> set[str]:
        return {s for f in flows for s in (self.ruleset.rules[f].source.system, self.ruleset.rules[f].target.system)}

    def run(
        self,
        selector: str | None = None,
        *,
        dry_run: bool = False,
        full: bool = False,
        retry_only: bool = False,
        listener: Listener | None = None,
        flows: list[str] | None = None,
    ) -> RunReport:
        """Plan (dry_run) or sync the selected flows."""
        chosen = flows if flows is not None else self.flows(selector)
        sync = Sync(
            self.ruleset,
            self.connectors(self.systems_for(chosen)),
            self.state,
            params=self.project.params,
            dry_run=dry_run,
            listener=listener,
        )
        command = "plan" if dry_run else ("retry" if retry_only else "sync")
        return sync.run(chosen, full=full, retry_only=retry_only, command=command, selection=selector or "")

    def run_records(self, targets: Mapping[str, Iterable[str]], *, listener: Listener | None = None) -> RunReport:
        """Sync only these source records of these flows (the service's webhook events)."""
        systems = self.systems_for(list(self.ruleset.rules))  # a waiting record may pull in any flow
        sync = Sync(self.ruleset, self.connectors(systems), self.state, params=self.project.params, listener=listener)
        return sync.run_records(targets)

    def close(self) -> None:
        for conn in self._connectors.values():
            conn.close()
        self.state.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def session_params(session: Any) -> dict[str, Any]:
    """Every rule's default params overlaid with the project's, as the sync uses them."""
    params: dict[str, Any] = {}
    for rule in session.ruleset.rules.values():
        params.update(rule.default_params())
    params.update(session.project.params)
    return params
