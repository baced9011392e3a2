"""A project opened for one command: its rules, its state store and its connectors.

Every command that talks to the systems goes through here, so they agree on which rules,
which state file and which credentials are meant. A command that changes the project
(`sync`, `retry`, `link`, `unlink`, the service) holds its run lock (`Session.lock`,
`engine.state.lock`) while it does; `plan`, `status` and `explain` read without it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connectors.base import Connector
from engine.errors import ErrorGroup, JoistError
from engine.language.graph import build_graph, select
from engine.language.loading import load_rules
from engine.language.rules import RuleSet
from engine.state.lock import ProjectLock
from engine.state.store import State
from engine.sync.outcomes import Listener
from engine.sync.report import RunReport
from engine.sync.run import Sync
from engine.sync.twins import MatchIndex


@dataclass
class Session:
    project: Any  # engine.project.config.Project
    ruleset: RuleSet
    state: State
    transports: Mapping[str, httpx.BaseTransport] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # per system, for its connector (a shared bucket)
    _connectors: dict[str, Connector] = field(default_factory=dict)
    _match_cache: dict[str, MatchIndex] = field(default_factory=dict)  # the service's, across its runs

    @classmethod
    def open(
        cls, project_dir: str | Path | None = None, *, transports: Mapping[str, httpx.BaseTransport] | None = None
    ) -> Session:
        """Load joist.yaml (searching upward from `project_dir` or the working folder)."""
        from engine.project.config import load_project
        from engine.project.switches import check_switches

        project = load_project(project_dir)
        ruleset = load_rules(project.layers())
        check_switches(project, ruleset.rules)
        return cls(project, ruleset, project.open_state(), dict(transports or {}))

    def connectors(self, systems: set[str]) -> dict[str, Connector]:
        from engine.project.connections import open_connector

        for system in sorted(systems - set(self._connectors)):
            options = {**self.project.runs.connector_options(), **self.options.get(system, {})}
            self._connectors[system] = open_connector(
                self.project, system, transport=self.transports.get(system), **options
            )
        return {s: self._connectors[s] for s in systems}

    def flows(self, selector: str | None) -> list[str]:
        return select(build_graph(self.ruleset), selector, root=self.project.root)

    def systems_for(self, flows: list[str]) -> set[str]:
        return {s for f in flows for s in (self.ruleset.rules[f].source.system, self.ruleset.rules[f].target.system)}

    def check_params(self, flows: list[str] | None = None) -> None:
        """Refuse to run while a flow's required param is unset or joist.yaml names an unknown param
        (`engine.project.params`): one error, or an `ErrorGroup` of them."""
        from engine.project.config import display_path
        from engine.project.params import check_params

        problems = check_params(
            self.ruleset,
            self.project.params,
            display_path(self.project.file),
            flows=flows,
            locations=self.project.param_locations,
        )
        if problems:
            raise problems[0] if len(problems) == 1 else ErrorGroup(problems)

    def switched_off(self) -> frozenset[str]:
        """The flows joist.yaml's `flows:` turns off (read at each run: the dashboard may change them)."""
        from engine.project.switches import switched_off

        return switched_off(self.project.flows)

    def lock(self, command: str, *, wait: float | None = None) -> ProjectLock:
        """The project's run lock for `command`, not yet taken: use it as `with session.lock("link"):`.

        `wait` (seconds) overrides joist.yaml's `runs.lock_wait`.
        """
        runs = self.project.runs
        return ProjectLock(
            self.state,
            command,
            wait=runs.lock_wait if wait is None else wait,
            stale_after=runs.lock_stale_after,
        )

    def run(
        self,
        selector: str | None = None,
        *,
        dry_run: bool = False,
        full: bool = False,
        retry_only: bool = False,
        listener: Listener | None = None,
        flows: list[str] | None = None,
        lock_wait: float | None = None,
        command: str | None = None,
        stop: threading.Event | None = None,
    ) -> RunReport:
        """Plan (dry_run) or sync the selected flows; a sync holds the project's run lock throughout.

        `command` names the run in the runs table and the lock (default: plan, retry or sync);
        `stop`, once set, ends the run after the record in hand (the service shutting down).

        A system that stopped answering, or whose rate limit resets later than the cap, is
        named in the report's `halted`: the run stopped calling it, and its records wait
        for the next run.
        """
        chosen = flows if flows is not None else self.flows(selector)
        self.check_params(chosen)
        command = command or ("plan" if dry_run else ("retry" if retry_only else "sync"))
        if dry_run:
            return self._run(
                chosen, selector, command, dry_run=True, full=full, retry_only=retry_only, listener=listener
            )
        with self.lock(command, wait=lock_wait):
            return self._run(
                chosen, selector, command, dry_run=False, full=full, retry_only=retry_only, listener=listener, stop=stop
            )

    def _run(
        self,
        chosen: list[str],
        selector: str | None,
        command: str,
        *,
        dry_run: bool,
        full: bool,
        retry_only: bool,
        listener: Listener | None,
        stop: threading.Event | None = None,
    ) -> RunReport:
        connectors = self.connectors(self.systems_for(chosen))
        sync = Sync(
            self.ruleset,
            connectors,
            self.state,
            params=self.project.params,
            switched_off=self.switched_off(),
            dry_run=dry_run,
            listener=listener,
            stop=stop,
        )
        report = sync.run(chosen, full=full, retry_only=retry_only, command=command, selection=selector or "")
        report.halted = _halted(connectors)
        return report

    def run_records(
        self,
        targets: Mapping[str, Iterable[str]],
        *,
        listener: Listener | None = None,
        lock_wait: float | None = None,
        stop: threading.Event | None = None,
    ) -> RunReport:
        """Sync only these source records of these flows (the service's webhook events), under the run lock."""
        connectors = self.connectors(self.systems_for(list(self.ruleset.rules)))  # a waiting record may pull any flow
        with self.lock("serve", wait=lock_wait):
            sync = Sync(
                self.ruleset,
                connectors,
                self.state,
                params=self.project.params,
                switched_off=self.switched_off(),
                listener=listener,
                stop=stop,
                match_cache=self._match_cache,
            )
            report = sync.run_records(targets)
        report.halted = _halted(connectors)
        return report

    def fresh_connectors(self) -> None:
        """Close the open connectors, so the next run starts with closed circuit breakers (the service)."""
        for conn in self._connectors.values():
            conn.close()
        self._connectors.clear()

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


def _halted(connectors: Mapping[str, Connector]) -> list[JoistError]:
    """Why the run stopped calling each system it stopped calling (an outage, a long rate limit)."""
    return [conn.halted for conn in connectors.values() if conn.halted is not None]
