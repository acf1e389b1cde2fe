"""Bluesky's hook implementations: the platform and its ``crosspost bluesky`` commands."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crosspost.core.hookspecs import hookimpl
from crosspost.core.platform import RegisterPlatform

if TYPE_CHECKING:
    import click


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    """Register the Bluesky platform (imported here so loading the plugin stays cheap)."""
    from crosspost.plugins.bluesky.platform import BlueskyPlatform

    register(BlueskyPlatform())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """Add ``crosspost bluesky emulator`` (the command module imports aiohttp only when run)."""
    from crosspost.plugins.bluesky.cli import bluesky

    cli.add_command(bluesky)
