"""All mutable server state of one emulator, and the knobs that make it behave like TikTok.

One :class:`EmulatorState` is shared by the app's handlers and by the test that drives it, so a
test can add creators, script faults, move the clock and then assert on exactly what the server
saw (``published``, ``requests``, ``events``). Time comes only from the injected ``clock`` (plus
``advance_clock`` offsets): token expiry, upload-URL expiry, rate windows, daily caps and
``log_id`` timestamps all follow it, so tests never wait on wall time. Random choices (ids,
probabilistic faults) come from RNGs seeded with ``rng_seed``, so runs repeat exactly.

Publish lifecycle rules live in :mod:`.lifecycle`; this module holds the data and the token and
creator bookkeeping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Literal

from .faults import Faults
from .identifiers import IdFactory
from .lifecycle import Lifecycle
from .ratelimit import DEFAULT_LIMITS, SlidingWindows
from .records import (
    CAP_STATES,
    AccessToken,
    AuthCode,
    Creator,
    PublishRecord,
    RefreshToken,
    RequestRecord,
    UploadSession,
    WebhookDelivery,
)

PostIdFormat = Literal["list", "int", "string", "absent", "empty_list"]
DEFAULT_SCOPES = ("user.info.basic", "video.publish", "video.upload")


class EmulatorState:
    """Creators, tokens, publishes, the request record, rate windows, faults and the clock.

    Every constructor argument is also a public attribute that tests may change mid-run. The
    defaults are TikTok's as observed: 86400/31536000 s token lifetimes without rotation, 1 h
    upload URLs, 15 direct posts per creator per 24 h, 5 pending inbox shares, 5 active users
    for an unaudited client, per-token limits of 6 inits / 20 creator_info / 30 status per minute
    (``limits`` overrides them), ``invalid_params`` as the parameter error code, and
    ``publicaly_available_post_id`` as a list (``post_id_format`` changes its shape).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        rate_limits: bool = True,
        audited: bool = True,
        client_key: str = "emu-client-key",
        client_secret: str = "emu-client-secret",
        processing_polls: int = 1,
        rng_seed: int = 0,
        access_token_ttl: int = 86_400,
        refresh_token_ttl: int = 31_536_000,
        rotate_refresh_tokens: bool = False,
        auth_code_ttl: float = 600.0,
        redirect_uris: Iterable[str] = (),
        invalid_param_code: Literal["invalid_params", "invalid_param"] = "invalid_params",
        require_https_pull: bool = False,
        verified_url_prefixes: Iterable[str] = (),
        verified_domains: Iterable[str] = (),
        daily_post_cap: int = 15,
        pending_share_cap: int = 5,
        unaudited_user_cap: int = 5,
        post_id_format: PostIdFormat = "list",
        upload_url_ttl: float = 3600.0,
        max_video_bytes: int = 4 * 1024**3,
        webhook_url: str | None = None,
        webhook_attempts: int = 3,
        webhook_retry_delay_s: float = 0.1,
        allow_remote_fetch: bool = False,
        rate_limit_retry_after: bool = False,
        sniff_media: bool = False,
        limits: dict[str, int] | None = None,
        rate_window_s: float = 60.0,
        completed_put_status: int = 416,
    ) -> None:
        self.clock = clock
        self.clock_offset = 0.0
        self.rate_limits = rate_limits
        self.audited = audited
        self.client_key = client_key
        self.client_secret = client_secret
        self.processing_polls = processing_polls
        self.access_token_ttl = access_token_ttl
        self.refresh_token_ttl = refresh_token_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.auth_code_ttl = auth_code_ttl
        self.redirect_uris = tuple(redirect_uris)
        """Registered redirect URIs; empty accepts any (convenient for loopback callbacks)."""
        self.invalid_param_code: str = invalid_param_code
        self.require_https_pull = require_https_pull
        self.verified_url_prefixes = tuple(verified_url_prefixes)
        self.verified_domains = tuple(verified_domains)
        self.daily_post_cap = daily_post_cap
        self.pending_share_cap = pending_share_cap
        self.unaudited_user_cap = unaudited_user_cap
        self.post_id_format: PostIdFormat = post_id_format
        self.upload_url_ttl = upload_url_ttl
        self.max_video_bytes = max_video_bytes
        self.webhook_url = webhook_url
        self.webhook_attempts = webhook_attempts
        self.webhook_retry_delay_s = webhook_retry_delay_s
        """First retry delay (real seconds, doubling); TikTok itself retries for up to 72 h."""
        self.allow_remote_fetch = allow_remote_fetch
        """False keeps PULL_FROM_URL and webhooks on loopback hosts only."""
        self.rate_limit_retry_after = rate_limit_retry_after
        """TikTok documents no Retry-After on 429; True adds one to test clients that honour it."""
        self.sniff_media = sniff_media
        """True fails publishes whose bytes are not MP4/MOV/WebM (video) or JPEG/WebP (photo)
        with ``file_format_check_failed``, as TikTok does; off by default so tests and benchmarks
        may push arbitrary bytes."""
        self.rate_window_s = rate_window_s
        """TikTok's one-minute sliding window; tests of many processes shrink it to run in seconds."""
        self.completed_put_status = completed_put_status
        """The answer to a chunk PUT after the upload completed: 416 with the full range (the
        emulator's default, which tells the client it is done), or e.g. 400 as an independent
        stand-in answered, which tells the client nothing."""
        self.login_open_id: str | None = None
        """Who is "logged in" on the authorize page (default: the first creator)."""
        self._seed = rng_seed
        self._default_limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.pulls_open = asyncio.Event()
        self.pulls_open.set()
        self.event_sink: Callable[[dict[str, Any]], None] | None = None
        """Called with each webhook envelope; the app installs its webhook sender here."""
        self.lifecycle = Lifecycle(self)
        self.reset()

    def __repr__(self) -> str:
        return f"<EmulatorState creators={len(self.creators)} publishes={len(self.published)}>"

    def reset(self) -> None:
        """Forget everything the server learnt (creators, tokens, publishes, records, faults).

        Settings (the constructor's knobs) and the clock offset are kept; RNGs restart from the seed.
        """
        for task in self._tasks:
            task.cancel()
        self.ids = IdFactory(self._seed)
        self.faults = Faults(self._seed + 1)
        self.windows = SlidingWindows(self._default_limits, window_s=self.rate_window_s)
        self.creators: dict[str, Creator] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.publishes: dict[str, PublishRecord] = {}
        self.published: list[PublishRecord] = []
        """Every publish (successful init), oldest first; records update as the publish moves on."""
        self.uploads: dict[str, UploadSession] = {}
        self.pull_tasks: dict[str, asyncio.Task[None]] = {}
        self.requests: list[RequestRecord] = []
        self.events: list[dict[str, Any]] = []
        """Every webhook envelope emitted, whether or not ``webhook_url`` is set."""
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.fail_next: list[str] = []

    # -- time ------------------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the epoch on the injected clock, plus any ``advance_clock`` offset."""
        return self.clock() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's time forward without touching the injected clock."""
        self.clock_offset += seconds

    def log_id(self) -> str:
        return self.ids.log_id(self.now())

    # -- creators and tokens ---------------------------------------------------------------

    def add_creator(
        self,
        *,
        open_id: str | None = None,
        username: str = "creator",
        nickname: str = "Creator",
        private: bool = False,
        comment_disabled: bool = False,
        duet_disabled: bool = False,
        stitch_disabled: bool = False,
        max_video_post_duration_sec: int = 600,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        access_token: str | None = None,
        refresh_token: str | None = None,
        verified_url_prefixes: Iterable[str] = (),
        verified_domains: Iterable[str] = (),
        cap_state: str | None = None,
        deny_authorization: bool = False,
        outdated_app: bool = False,
        force_fail_reason: str | None = None,
    ) -> Creator:
        """Register an account that has already authorised the app, with a live token pair.

        A private account is offered the private options and has duet and stitch disabled
        (tiktok-api.md §2.1), whatever ``duet_disabled`` / ``stitch_disabled`` say.
        """
        if cap_state is not None and cap_state not in CAP_STATES:
            raise ValueError(f"cap_state must be one of {sorted(CAP_STATES)}")
        scope_tuple = tuple(scopes)
        creator = Creator(
            open_id=open_id or self.ids.open_id(),
            username=username,
            nickname=nickname,
            private=private,
            comment_disabled=comment_disabled,
            duet_disabled=duet_disabled or private,
            stitch_disabled=stitch_disabled or private,
            max_video_post_duration_sec=max_video_post_duration_sec,
            scopes=scope_tuple,
            access_token=access_token or self.ids.access_token(),
            refresh_token=refresh_token or self.ids.refresh_token(),
            verified_url_prefixes=tuple(verified_url_prefixes),
            verified_domains=tuple(verified_domains),
            cap_state=cap_state,
            deny_authorization=deny_authorization,
            outdated_app=outdated_app,
            force_fail_reason=force_fail_reason,
        )
        self.creators[creator.open_id] = creator
        now = self.now()
        self.access_tokens[creator.access_token] = AccessToken(
            open_id=creator.open_id, scopes=scope_tuple, expires_at=now + self.access_token_ttl)
        self.refresh_tokens[creator.refresh_token] = RefreshToken(
            open_id=creator.open_id, scopes=scope_tuple, expires_at=now + self.refresh_token_ttl)
        return creator

    def issue_access_token(self, open_id: str, scopes: tuple[str, ...]) -> str:
        token = self.ids.access_token()
        self.access_tokens[token] = AccessToken(open_id=open_id, scopes=scopes,
                                                expires_at=self.now() + self.access_token_ttl)
        return token

    def issue_refresh_token(self, open_id: str, scopes: tuple[str, ...]) -> str:
        token = self.ids.refresh_token()
        self.refresh_tokens[token] = RefreshToken(open_id=open_id, scopes=scopes,
                                                  expires_at=self.now() + self.refresh_token_ttl)
        return token

    def valid_access_token(self, token: str) -> AccessToken | None:
        """The token's grant if it exists, is unexpired and was not revoked."""
        grant = self.access_tokens.get(token)
        if grant is None or grant.expires_at <= self.now():
            return None
        return grant

    def valid_refresh_token(self, token: str) -> RefreshToken | None:
        grant = self.refresh_tokens.get(token)
        if grant is None or grant.expires_at <= self.now():
            return None
        return grant

    def revoke_tokens(self, open_id: str) -> None:
        """Drop every access and refresh token of this user: the app is no longer connected."""
        self.access_tokens = {t: g for t, g in self.access_tokens.items() if g.open_id != open_id}
        self.refresh_tokens = {t: g for t, g in self.refresh_tokens.items() if g.open_id != open_id}

    def remove_authorization(self, open_id: str, *, reason: int = 1) -> None:
        """The user disconnects the app in TikTok: tokens die, in-flight publishes fail.

        In-flight publishes end FAILED with ``auth_removed`` and an ``authorization.removed``
        webhook is emitted with ``reason`` (1 = user disconnected, 5 = developer revoked).
        """
        self.revoke_tokens(open_id)
        for publish in self.published:
            if publish.open_id == open_id and not publish.terminal:
                self.lifecycle.fail(publish, "auth_removed")
        self.lifecycle.emit("authorization.removed", open_id, {"reason": reason})

    # -- publishes (thin public wrappers over the lifecycle) --------------------------------

    def fail_next_publish(self, reason: str = "frame_rate_check_failed") -> None:
        """The next publish created ends FAILED with ``reason`` once its media is processed."""
        self.fail_next.append(reason)

    def settle(self, publish_id: str | None = None) -> None:
        """Finish processing now (one publish, or all whose media arrived), as if polled enough."""
        self.lifecycle.settle(publish_id)

    def complete_inbox(self, publish_id: str, *, public: bool = True) -> None:
        """The creator finishes an inbox draft in the TikTok app: SEND_TO_USER_INBOX -> PUBLISH_COMPLETE."""
        self.lifecycle.complete_inbox(self.publishes[publish_id], public=public)

    # -- background work -------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run server-side work (pulls, webhook deliveries) that ``drain`` can wait for."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until every pull and webhook delivery started so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel_background(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def pause_pulls(self) -> None:
        """Hold PULL_FROM_URL downloads before they start (so cancel can be tested)."""
        self.pulls_open.clear()

    def resume_pulls(self) -> None:
        self.pulls_open.set()
