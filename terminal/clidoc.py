"""Write docs/cli.md from the commands' own help, so the reference never drifts.

    .venv/bin/python -m terminal.clidoc > docs/cli.md

A test regenerates it and compares: a command whose help changed without the doc fails.
"""

from __future__ import annotations

import sys

import click


def _section(ctx: click.Context, command: click.Command, name: str, level: int) -> list[str]:
    sub = click.Context(command, info_name=name, parent=ctx, terminal_width=100, max_content_width=100)
    lines = [f"{'#' * level} `{sub.command_path}`", "", "```text", command.get_help(sub).rstrip(), "```", ""]
    if isinstance(command, click.Group):
        for child in command.list_commands(sub):
            found = command.get_command(sub, child)
            if found is not None and not found.hidden:
                lines += _section(sub, found, child, level + 1)
    return lines


def render() -> str:
    """The whole CLI reference as Markdown."""
    from cli import main

    # main's own settings (help_option_names: -h too), as when the command line runs: the
    # help shown is then the same whether or not a command was invoked in this process.
    root = click.Context(
        main, info_name="joist", terminal_width=100, max_content_width=100, **dict(main.context_settings)
    )
    lines = [
        "# The joist command line",
        "",
        "Generated from the commands' help (`python -m terminal.clidoc > docs/cli.md`). Every",
        "command also answers `--help`; reading commands take `--json`. Exit codes: 0 ok, 1 a",
        "user error or a failed record, 2 an internal error (`--debug` shows the traceback).",
        "",
    ]
    for name in main.list_commands(root):
        command = main.get_command(root, name)
        if command is not None:
            lines += _section(root, command, name, 2)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
