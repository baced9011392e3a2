"""`joist user`: the dashboard's users (add, list, remove), kept in the project's state store."""

from __future__ import annotations

import sys

import click

from engine.project.config import load_project
from web.accounts import ROLES, Accounts


@click.group("user")
def user_group() -> None:
    """Who may sign in to the dashboard of `joist serve`, and with which role.

    An admin changes things (settings, retry, users); a viewer only reads.

    \b
    Examples:
      joist user add maria --role admin
      printf '%s' "$PASS" | joist user add ops --role viewer --password-stdin
      joist user list
    """


@user_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of asking.")
@click.pass_context
def add_user(ctx: click.Context, name: str, role: str, password_stdin: bool) -> None:
    """Add a user (the password is asked twice, never given as an argument)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with load_project(ctx.find_root().meta.get("joist.project")).open_state() as state:
        user = Accounts(state).add_user(name, password, role, by="joist user add")
    click.echo(f"added {user.name} ({user.role})")


@user_group.command("list")
@click.pass_context
def list_users(ctx: click.Context) -> None:
    """List the users and their roles."""
    with load_project(ctx.find_root().meta.get("joist.project")).open_state() as state:
        users = Accounts(state).users()
    if not users:
        click.echo("no users: open the dashboard to create the admin, or `joist user add NAME --role admin`")
    for user in users:
        click.echo(f"{user.name}  {user.role}  {user.language or '-'}  {user.created_at}")


@user_group.command("remove")
@click.argument("name")
@click.pass_context
def remove_user(ctx: click.Context, name: str) -> None:
    """Remove a user (their sessions end at their next request)."""
    with load_project(ctx.find_root().meta.get("joist.project")).open_state() as state:
        Accounts(state).remove_user(name, by="joist user remove")
    click.echo(f"removed {name}")
