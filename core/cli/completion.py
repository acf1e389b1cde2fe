"""``crosspost completion SHELL``: click's shell completion script."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL.

    \b
    bash:  eval "$(crosspost completion bash)"   (or add it to ~/.bashrc)
    zsh:   eval "$(crosspost completion zsh)"
    fish:  crosspost completion fish > ~/.config/fish/completions/crosspost.fish
    Same as click's own: eval "$(_CROSSPOST_COMPLETE=bash_source crosspost)".
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # every name in SHELLS is one click ships
    click.echo(cls(ctx.find_root().command, {}, "crosspost", "_CROSSPOST_COMPLETE").source())


COMMANDS = [completion]
