"""Mastodon's hook implementations (the ``mastodon`` entry point names this module).

Imports stay inside the hooks so loading the plugin costs nothing until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crosspost.core.hookspecs import hookimpl
from crosspost.core.platform import RegisterPlatform

if TYPE_CHECKING:
    import click


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    """Register the Mastodon platform (one instance serves every job)."""
    from crosspost.plugins.mastodon.platform import MastodonPlatform

    register(MastodonPlatform())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``crosspost mastodon emulator``."""
    from crosspost.plugins.mastodon.cli import mastodon

    cli.add_command(mastodon)
