"""The CLI reference (``docs/cli.md``), rendered from the commands themselves.

``python -m crosspost.core.cli.docs > docs/cli.md`` regenerates it; a test fails when the file
and the CLI disagree, so the reference never drifts from the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from crosspost.core.plugins import Hooks

WIDTH = 88
"""Help is wrapped at a fixed width, so the output does not depend on the terminal."""

HEADER = """\
# CLI reference

Every `crosspost` command with its full help, generated from the CLI itself by
`python -m crosspost.core.cli.docs > docs/cli.md` (a test keeps this file in sync; do not
edit it by hand).

Shell completion: `eval "$(crosspost completion bash)"` (also `zsh` and `fish`), the same as
click's `eval "$(_CROSSPOST_COMPLETE=bash_source crosspost)"`.
"""


def _walk(command: click.Command, ctx: click.Context) -> Iterator[click.Context]:
    yield ctx
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx,
                                                terminal_width=WIDTH, max_content_width=WIDTH))


def builtin_hooks() -> Hooks:
    """crosspost's own plugins only: the reference must not depend on what else is installed."""
    from crosspost.core.cli import commands
    from crosspost.core.plugins import Hooks, make_plugin_manager

    return Hooks(make_plugin_manager(entry_points=False, extra=[commands]))


def render_markdown(root: click.Command | None = None) -> str:
    """Markdown with one section per command (root first, then depth-first by name), for the
    built-in plugins' commands and platforms."""
    from crosspost.core.cli.app import CrosspostGroup
    from crosspost.core.cli.context import CliState

    if root is None:
        from crosspost.core.cli.app import cli

        root = cli
    hooks = builtin_hooks()
    if isinstance(root, CrosspostGroup):
        root.install_plugins(hooks)
    top = click.Context(root, info_name="crosspost", terminal_width=WIDTH, max_content_width=WIDTH,
                        color=False, obj=CliState(hooks=hooks), **root.context_settings)
    parts = [HEADER]
    for ctx in _walk(root, top):
        title = ctx.command_path
        parts.append(f"## `{title}`\n\n```text\n{ctx.command.get_help(ctx).rstrip()}\n```\n")
    return "\n".join(parts)


def main() -> None:
    click.echo(render_markdown(), nl=False)


if __name__ == "__main__":
    main()
