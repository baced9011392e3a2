"""One connection of a deployment as a project: the deployment's joist.yaml, the connection's accounts.

A deployment keeps one joist.yaml (the systems' base URLs, the OAuth app's environment
variables, run settings, default packs and params) and many connections in PostgreSQL
(engine.state.registry). `connection_project` makes the project one connection runs as:
its Procore company and QBO realm, its packs (the deployment's when it names none), the
deployment's params overlaid with its own, its state schema, and its encrypted tokens.
Everything that opens a session for a connection (the Celery tasks, the commands) goes
through here, so no path can mix one connection's accounts with another's state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.errors import ErrorGroup, JoistError, Location
from engine.project.config import ACCOUNT_KEY, Connection, Project, _resolve_pack
from engine.state.registry import ConnectionEntry, Registry
from engine.state.secrets import EncryptedTokenStore, TokenCipher


def connection_project(base: Project, entry: ConnectionEntry, state_url: str, tokens: Any) -> Project:
    """The project connection `entry` runs as (see the module docstring); `tokens` is its token store."""
    accounts = {"procore": entry.procore_company, "qbo": entry.qbo_realm}
    connections = {
        system: Connection(system, {**conn.settings, ACCOUNT_KEY[system]: accounts[system]}, conn.location)
        for system, conn in base.connections.items()
    }
    packs, specs = base.packs, base.pack_specs
    if entry.packs:
        resolved = [_resolve_pack(spec, base.root, Location(str(base.file))) for spec in entry.packs]
        errors = [r for r in resolved if isinstance(r, JoistError)]
        if errors:
            raise errors[0] if len(errors) == 1 else ErrorGroup(errors)
        packs, specs = [r for r in resolved if not isinstance(r, JoistError)], list(entry.packs)
    return replace(
        base,
        name=f"{base.name}/{entry.name}",
        connections=connections,
        packs=packs,
        pack_specs=specs,
        params={**base.params, **entry.params},
        state_url=state_url,
        tokens=tokens,
    )


def open_connection(registry: Registry, base: Project, name: str, cipher: TokenCipher, **state_options: Any) -> Any:
    """A `Session` for connection `name`: its project, rules, state and (encrypted) tokens. Close it after use."""
    from engine.language.loading import load_rules
    from engine.project.session import Session

    entry = registry.get(name)
    state = registry.open_state(name, **state_options)
    try:
        project = connection_project(base, entry, registry.state_url(name), EncryptedTokenStore(state, cipher))
        return Session(project, load_rules(project.layers()), state)
    except BaseException:
        state.close()
        raise
