"""`joist connections`: the connections of a deployment (engine.state.registry), from the terminal.

The deployment's database is `--database` or `JOIST_DATABASE_URL`. `add` stores the
refresh tokens found in `JOIST_PROCORE_REFRESH_TOKEN` and `JOIST_QBO_REFRESH_TOKEN`
(never on the command line, where `ps` shows them), encrypted with `JOIST_TOKEN_KEYS`.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from engine.state.registry import Registry, database_url
from engine.state.secrets import EncryptedTokenStore, TokenCipher

TOKEN_ENV = {"procore": "JOIST_PROCORE_REFRESH_TOKEN", "qbo": "JOIST_QBO_REFRESH_TOKEN"}

_database = click.option(
    "--database",
    metavar="URL",
    help="The deployment's PostgreSQL database (postgresql://user@host:5432/db). Default: $JOIST_DATABASE_URL.",
)


def _registry(database: str | None) -> Registry:
    return Registry(database_url(database, os.environ))


def _params(pairs: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    params: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        key, value = pair.split("=", 1)
        params[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return params


@click.group("connections")
def connections_group() -> None:
    """The connections of a deployment: one Procore company and one QBO realm each, state in PostgreSQL.

    Each connection's state lives in a PostgreSQL schema of its own (c_NAME), its tokens
    encrypted with JOIST_TOKEN_KEYS. Rotation and the rest: docs/deploy.md.

    \b
    Examples:
      export JOIST_DATABASE_URL=postgresql://joist@db:5432/joist
      joist connections add acme --procore-company 562949953421 --qbo-realm 9341452 --pack joist:master
      joist connections list
    """


@connections_group.command("add")
@click.argument("name")
@click.option("--procore-company", required=True, metavar="ID", help="The Procore company id.")
@click.option("--qbo-realm", required=True, metavar="ID", help="The QBO realm (company) id.")
@click.option("--pack", "packs", multiple=True, metavar="PACK", help="A rule pack (joist:NAME or a folder); repeat.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A rule param (YAML value); repeat.")
@_database
def add_command(
    name: str,
    procore_company: str,
    qbo_realm: str,
    packs: tuple[str, ...],
    params: tuple[str, ...],
    database: str | None,
) -> None:
    """Add connection NAME and its empty state; store the refresh tokens from the environment, encrypted.

    \b
    Example:
      JOIST_QBO_REFRESH_TOKEN=... joist connections add acme --procore-company 562949953421 \\
        --qbo-realm 9341452 --pack joist:master --param retention_payable_account=77
    """
    values = _params(params)
    tokens = {system: os.environ[env] for system, env in TOKEN_ENV.items() if os.environ.get(env)}
    cipher = TokenCipher.from_env() if tokens else None  # no key, no connection: checked before adding
    with _registry(database) as registry:
        entry = registry.add(name, procore_company, qbo_realm, list(packs), values)
        if cipher is not None:
            with registry.open_state(name) as state:
                store = EncryptedTokenStore(state, cipher)
                for system, token in sorted(tokens.items()):
                    account = entry.procore_company if system == "procore" else entry.qbo_realm
                    store.save(f"{system}:{account}", {"refresh_token": token})
    saved = f"; tokens saved for {', '.join(sorted(tokens))}" if tokens else ""
    click.echo(f"added {entry.name}: Procore company {entry.procore_company} <-> QBO realm {entry.qbo_realm}{saved}")


@connections_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_database
def list_command(as_json: bool, database: str | None) -> None:
    """List the deployment's connections.

    \b
    Example:
      joist connections list --json
    """
    with _registry(database) as registry:
        entries = registry.entries()
    if as_json:
        click.echo(json.dumps([vars(e) for e in entries], indent=2, sort_keys=True))
        return
    if not entries:
        click.echo("no connections (add one with `joist connections add`)")
        return
    rows = [("NAME", "PROCORE", "QBO", "PACKS")] + [
        (e.name, e.procore_company, e.qbo_realm, ", ".join(e.packs) or "-") for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])


@connections_group.command("remove")
@click.argument("name")
@_database
def remove_command(name: str, database: str | None) -> None:
    """Remove connection NAME and drop its state (links, failures, tokens). The records in Procore and QBO stay.

    \b
    Example:
      joist connections remove acme
    """
    with _registry(database) as registry:
        entry = registry.remove(name)
    click.echo(f"removed {entry.name} and its state")


@connections_group.command("rekey")
@_database
def rekey_command(database: str | None) -> None:
    """Re-encrypt every connection's tokens with the first key of JOIST_TOKEN_KEYS (the key rotation step).

    \b
    Example:
      JOIST_TOKEN_KEYS=NEWKEY,OLDKEY joist connections rekey
    """
    cipher = TokenCipher.from_env()
    count = 0
    with _registry(database) as registry:
        for entry in registry.entries():
            with registry.open_state(entry.name) as state:
                count += EncryptedTokenStore(state, cipher).rekey()
    click.echo(f"re-encrypted {count} token documents")


def _poll() -> click.Command:
    from terminal.worker_cli import poll_command  # celery only when it is used

    return poll_command


connections_group.add_command(_poll())
