"""TikTok's hook implementations: the platform, its CLI commands and its request importer.

Kept light: ``crosspost --help`` loads this module, so everything heavy is imported inside the
hooks (and the commands import theirs only when they run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from crosspost.core.hookspecs import hookimpl
from crosspost.core.platform import RegisterPlatform

if TYPE_CHECKING:
    import click

    from crosspost.core.importers import RequestImporter


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    """Register the TikTok platform (imported here so loading the plugin stays cheap)."""
    from crosspost.plugins.tiktok.platform import TikTokPlatform

    register(TikTokPlatform())


@hookimpl
def register_commands(cli: click.Group) -> None:
    """``crosspost tiktok …`` (creator info, the emulator with TikTok's options) and the
    ``crosspost creator TARGET`` alias the docs use."""
    from crosspost.plugins.tiktok.cli import COMMANDS

    for command in COMMANDS:
        cli.add_command(command)


@hookimpl
def register_importers(register: Callable[[RequestImporter], None]) -> None:
    """The hosted posting services' request shapes (Zernio/SocialSyncerAPI, Late, PostPost)."""
    from crosspost.plugins.tiktok.importers import HostedServiceImporter

    register(HostedServiceImporter())
