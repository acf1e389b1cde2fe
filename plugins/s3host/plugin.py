"""Hook implementation: host local media on S3 when ``CROSSPOST_S3_BUCKET`` is set."""

from __future__ import annotations

from pathlib import Path

from crosspost.core.hookspecs import hookimpl
from crosspost.core.models import Target
from crosspost.core.settings import Settings

SETTINGS_NAME = "s3"
"""Settings under ``CROSSPOST_S3_*`` (the host module, and aiobotocore with it, is imported only
when a file is hosted: ``crosspost --help`` must not pay for it)."""


@hookimpl
def media_host_ready(settings: Settings) -> bool:
    """Whether a bucket is configured (crosspost asks before relying on this host)."""
    return bool(settings.platform(SETTINGS_NAME).get("bucket"))


@hookimpl
async def host_media(path: str, target: Target, settings: Settings) -> str | None:
    """Upload ``path`` to the configured bucket; decline (None) when S3 is not configured."""
    from crosspost.plugins.s3host.host import S3HostConfig, upload

    del target
    config = S3HostConfig.from_settings(settings.platform(SETTINGS_NAME))
    if config is None:
        return None
    return await upload(Path(path), config)
