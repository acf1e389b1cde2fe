"""``CROSSPOST_BLUESKY_*`` settings, declared once and read in one place (pure)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from crosspost.core.errors import ConfigError
from crosspost.core.options import SettingSpec
from crosspost.plugins.bluesky.session import service_url

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_VIDEO_SERVICE = "https://video.bsky.app"
DEFAULT_VIDEO_SERVICE_DID = "did:web:video.bsky.app"

SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(name="service", default=DEFAULT_SERVICE,
                help="PDS for accounts stored without one (each account keeps the --service it was added with)."),
    SettingSpec(name="video_service", default=DEFAULT_VIDEO_SERVICE,
                help="Bluesky's video service: uploads, transcoding jobs and daily upload limits."),
    SettingSpec(name="video_service_did", default=DEFAULT_VIDEO_SERVICE_DID,
                help="The video service's DID (the audience of its service-auth tokens)."),
    SettingSpec(name="poll_interval", default="2",
                help="Seconds between video job status checks."),
    SettingSpec(name="poll_timeout", default="600",
                help="Seconds one publish attempt waits for a video job before the engine retries it later."),
)


@attrs.frozen(kw_only=True)
class BlueskyConfig:
    service: str = DEFAULT_SERVICE
    video_service: str = DEFAULT_VIDEO_SERVICE
    video_service_did: str = DEFAULT_VIDEO_SERVICE_DID
    poll_interval: float = 2.0
    poll_timeout: float = 600.0

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> BlueskyConfig:
        """Read the settings; a bad value raises ConfigError naming the variable and the fix."""
        urls = {}
        for key, default in (("service", DEFAULT_SERVICE), ("video_service", DEFAULT_VIDEO_SERVICE)):
            try:
                urls[key] = service_url(values.get(key) or default)
            except ValueError as exc:
                raise ConfigError(f"CROSSPOST_BLUESKY_{key.upper()}: {exc}") from None
        numbers = {}
        for key, default_number in (("poll_interval", 2.0), ("poll_timeout", 600.0)):
            raw = values.get(key)
            try:
                number = float(raw) if raw else default_number
            except ValueError:
                number = -1.0
            if number <= 0:
                raise ConfigError(f"CROSSPOST_BLUESKY_{key.upper()} must be a positive number of seconds, got {raw!r}")
            numbers[key] = number
        return cls(service=urls["service"], video_service=urls["video_service"],
                   video_service_did=values.get("video_service_did") or DEFAULT_VIDEO_SERVICE_DID, **numbers)
