"""Hook implementation: host local media with an HTTP PUT when ``CROSSPOST_MEDIA_PUT_URL`` is set."""

from __future__ import annotations

from pathlib import Path

from crosspost.core.hookspecs import hookimpl
from crosspost.core.models import Target
from crosspost.core.settings import Settings

SETTINGS_NAME = "media"
"""Settings under ``CROSSPOST_MEDIA_*`` (the host module is imported only when a file is hosted:
it pulls in asyncio and TLS, which ``crosspost --help`` must not pay for)."""


@hookimpl
def media_host_ready(settings: Settings) -> bool:
    """Whether a PUT URL is configured (crosspost asks before relying on this host)."""
    return bool(settings.platform(SETTINGS_NAME).get("put_url"))


@hookimpl
async def host_media(path: str, target: Target, settings: Settings) -> str | None:
    """PUT ``path`` to the configured host; decline (None) when none is configured."""
    from crosspost.plugins.puthost.host import PutHostConfig, upload

    del target
    config = PutHostConfig.from_settings(settings.platform(SETTINGS_NAME))
    if config is None:
        return None
    return await upload(Path(path), config)
