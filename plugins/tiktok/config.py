"""The TikTok platform's settings (``CROSSPOST_TIKTOK_*``) and its polling and cap constants."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import attrs

from crosspost.core.errors import ConfigError
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.chunks import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from crosspost.plugins.tiktok.requests import DEFAULT_API_BASE, VerifiedUrls, is_loopback

PLATFORM = "tiktok"
DAILY_POST_CAP = 15
"""TikTok: "typically around 15 posts per day / creator account" (Direct Post, rolling 24 h)."""
DAY_S = 86_400.0
CAP_RECHECK = timedelta(hours=1)
"""After TikTok itself reports a cap, when to look again (TikTok does not say when it frees)."""
CREATOR_CACHE_S = 60.0
"""How long one creator_info answer is reused for the same account."""


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _on_loopback(api_base: str) -> bool:
    """Whether the API base is an emulator on this machine (real TikTok is https on the internet)."""
    parts = urlsplit(api_base)
    return parts.scheme == "http" and is_loopback(parts.hostname or "")


@attrs.frozen(kw_only=True)
class TikTokConfig:
    """What the platform reads from ``settings.platform("tiktok")``."""

    api_base: str = DEFAULT_API_BASE
    client_key: str = ""
    client_secret: str = attrs.field(default="", repr=False)
    verified: VerifiedUrls = attrs.field(factory=VerifiedUrls)
    """``VERIFIED_URL_PREFIXES`` / ``VERIFIED_DOMAINS``: video URLs on them go PULL_FROM_URL."""
    chunk_size: int = DEFAULT_CHUNK_SIZE
    client_limits: bool = True
    """Whether crosspost paces TikTok's limits itself; off only against a loopback emulator."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TikTokConfig:
        """Raises ConfigError naming the variable when a setting is unusable.

        A job reads its config several times (validation, the run, the client): the last
        ``Settings`` object's answer is kept (``Settings`` is frozen; compared by identity)."""
        if _last_read and _last_read[0][0] is settings:
            return _last_read[0][1]
        config = cls._read(settings)
        _last_read[:] = [(settings, config)]
        return config

    @classmethod
    def _read(cls, settings: Settings) -> TikTokConfig:
        conf = settings.platform(PLATFORM)
        try:
            chunk_size = int(conf.get("chunk_size") or DEFAULT_CHUNK_SIZE)
        except ValueError:
            chunk_size = 0
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ConfigError(f"CROSSPOST_TIKTOK_CHUNK_SIZE must be a number of bytes from {MIN_CHUNK_SIZE} "
                              f"to {MAX_CHUNK_SIZE}")
        api_base = (conf.get("api_base") or DEFAULT_API_BASE).rstrip("/")
        return cls(
            api_base=api_base,
            client_key=conf.get("client_key", ""),
            client_secret=conf.get("client_secret", ""),
            verified=VerifiedUrls(prefixes=_split(conf.get("verified_url_prefixes", "")),
                                  domains=_split(conf.get("verified_domains", "")),
                                  loopback_http=_on_loopback(conf.get("api_base") or DEFAULT_API_BASE)),
            chunk_size=chunk_size,
            client_limits=_client_limits(conf.get("client_limits", ""), api_base),
        )


_last_read: list[tuple[Settings, TikTokConfig]] = []
"""The last ``from_settings`` answer and the object it was read from (at most one entry)."""


def _client_limits(raw: str, api_base: str) -> bool:
    """``CLIENT_LIMITS``: on unless ``off`` is asked for, which only an emulator on loopback allows
    (real TikTok enforces its limits whatever we do, and answers a burst with refusals)."""
    value = raw.strip().lower() or "on"
    if value not in ("on", "off"):
        raise ConfigError(f"CROSSPOST_TIKTOK_CLIENT_LIMITS must be `on` or `off`, got {raw!r}")
    if value == "on":
        return True
    if not _on_loopback(api_base):
        raise ConfigError("CROSSPOST_TIKTOK_CLIENT_LIMITS=off is accepted only while CROSSPOST_TIKTOK_API_BASE is "
                          "an http:// emulator on loopback (127.0.0.1, ::1, localhost); unset it for real TikTok")
    return False


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How status/fetch is polled: ``first`` s, growing by ``factor`` up to ``longest`` s.

    One run polls for at most ``per_run`` s, then hands the job back to the engine (still
    ``processing``) to poll again later; once ``give_up`` s have passed since the media reached
    TikTok the job is parked as uncertain (the post may still appear). Processing "takes
    minutes" for large videos; TikTok allows 30 status calls a minute per token.
    """

    first: float = 3.0
    factor: float = 1.5
    longest: float = 30.0
    per_run: float = 15 * 60.0
    give_up: float = DAY_S
