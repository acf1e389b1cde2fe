"""TikTok's hook implementations: registers :class:`TikTokPlatform`."""

from __future__ import annotations

from crosspost.core.hookspecs import hookimpl
from crosspost.core.platform import RegisterPlatform


@hookimpl
def register_platforms(register: RegisterPlatform) -> None:
    """Register the TikTok platform (imported here so loading the plugin stays cheap)."""
    from crosspost.plugins.tiktok.platform import TikTokPlatform

    register(TikTokPlatform())
