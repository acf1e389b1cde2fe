"""TikTok's ``CROSSPOST_TIKTOK_*`` variables, declared once (``crosspost config`` lists them,
docs/tiktok.md's table follows them). :class:`~crosspost.plugins.tiktok.config.TikTokConfig` and
:class:`~crosspost.plugins.tiktok.oauth.OAuthApp` read them."""

from __future__ import annotations

from crosspost.core.options import SettingSpec
from crosspost.plugins.tiktok.chunks import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE
from crosspost.plugins.tiktok.oauth import DEFAULT_AUTH_BASE
from crosspost.plugins.tiktok.requests import DEFAULT_API_BASE

SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(name="client_key", help="Your TikTok app's client key (developer portal); needed to log in, "
                                        "refresh tokens and verify webhooks."),
    SettingSpec(name="client_secret", secret=True,
                help="Your TikTok app's client secret; signs webhooks and authenticates token requests."),
    SettingSpec(name="api_base", default=DEFAULT_API_BASE,
                help="Base URL of TikTok's API (an emulator's URL for tests and the demo)."),
    SettingSpec(name="auth_base", default=DEFAULT_AUTH_BASE, help="Base URL of TikTok's login page."),
    SettingSpec(name="chunk_size", default=str(DEFAULT_CHUNK_SIZE),
                help=f"Bytes per uploaded video chunk, {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE}."),
    SettingSpec(name="verified_url_prefixes", default="",
                help="Comma-separated URL prefixes verified for the app: media on them is pulled by TikTok "
                     "(PULL_FROM_URL)."),
    SettingSpec(name="verified_domains", default="",
                help="Comma-separated domains verified for the app (PULL_FROM_URL)."),
    SettingSpec(name="client_limits", default="on",
                help="`off` lifts crosspost's own pacing of TikTok's limits (6 inits a minute per token, "
                     "~15 posts a day per creator): accepted only while API_BASE is an emulator on "
                     "loopback, for test suites and benchmarks; `on` otherwise."),
    SettingSpec(name="poll_seconds", default="",
                help="Fixed seconds between status polls instead of TikTok's backoff (3 s growing to 30 s); "
                     "the bundled emulator sets it low."),
)
