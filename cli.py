"""`joist`: the command line. Thin: parses, calls the engine, prints.

Exit codes: 0 ok, 1 a user error (bad rule, failed records), 2 an internal error.
A user mistake never shows a traceback; `--debug` shows it.
"""
from __future__ import annotations

import sys
from typing import Any

import click

from engine.errors import JoistError
from sandbox.cli import sandbox_group


class JoistGroup(click.Group):
    """Turns JoistErrors into their formatted message and exit code 1; anything else is exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JoistError as exc:
            if ctx.meta.get("joist.debug"):
                raise
            click.echo(exc.format(), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:  # an internal error: say so, and how to see more
            if ctx.meta.get("joist.debug"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}\n  run again with --debug for the traceback", err=True)
            ctx.exit(2)


@click.group(cls=JoistGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks.")
@click.version_option(package_name="joist")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Joist keeps Procore and QuickBooks Online in sync, one YAML rule per flow."""
    ctx.meta["joist.debug"] = debug


main.add_command(sandbox_group)


if __name__ == "__main__":
    sys.exit(main())
