"""``TikTokPlatform``: validation against the creator's live settings, dry runs, and publishing.

Publishing (:mod:`crosspost.plugins.tiktok.publish`) is resumable at every crash point of
RELIABILITY.md. The checkpoint records where the job stands, always saved *before* the step
that depends on it:

======================  ==================================================================
``phase``               what the next run does
======================  ==================================================================
(none) / ``failed``     start: validate, prepare media, count the daily post, init
``init_sent``           FILE_UPLOAD: init again (an unfinished upload never publishes);
                        PULL_FROM_URL (URL videos, every photo post): UncertainOutcome
``uploading``           resume at ``next_chunk`` while ``upload_url`` is valid; otherwise
                        ask the status first, then init again (FILE_UPLOAD only)
``processing``          poll status/fetch until PUBLISH_COMPLETE, SEND_TO_USER_INBOX or FAILED
======================  ==================================================================

A job holding a ``publish_id`` is never initialised again unless its upload URL died before the
upload completed, or TikTok's status says FAILED with a reason a retry can fix.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from crosspost.core.errors import ConfigError, DailyCapReached, InvalidPost, PlatformError
from crosspost.core.importers import ImportedOptions
from crosspost.core.media import MediaInfo
from crosspost.core.metrics import AccountMetrics, MetricRef, MetricsContext, MetricSnapshot, ResolvedPost
from crosspost.core.models import MediaKind, Post
from crosspost.core.platform import AccountAccess, JobContext, Outcome, PlannedRequest, Platform, Validation
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok import analytics, analytics_client, fetch_media
from crosspost.plugins.tiktok.accounts import TikTokAccounts
from crosspost.plugins.tiktok.auth import OAuthClient, TokenKeeper
from crosspost.plugins.tiktok.client import RetryPolicy, TikTokClient
from crosspost.plugins.tiktok.config import CAP_RECHECK, CREATOR_CACHE_S, PollPolicy, TikTokConfig
from crosspost.plugins.tiktok.creator import CreatorInfo
from crosspost.plugins.tiktok.options import OPTION_NAMES, OPTIONS, TikTokOptions, parse_options
from crosspost.plugins.tiktok.prepared import (
    TikTokPrepared,
    content_type_of,
    file_source,
    has_media_host,
    is_video_post,
    prepare,
    prepared_from,
    with_not_before,
)
from crosspost.plugins.tiktok.publish import PublishRun
from crosspost.plugins.tiktok.requests import (
    CREATOR_INFO_PATH,
    INBOX_VIDEO_INIT_PATH,
    STATUS_PATH,
    VIDEO_INIT_PATH,
    Route,
    UrlSource,
    photo_init_request,
    video_init_request,
)
from crosspost.plugins.tiktok.settings import SETTINGS
from crosspost.plugins.tiktok.text import utf16_len


class TikTokPlatform(TikTokAccounts, Platform):
    """TikTok Direct Post and drafts (inbox): one video or 1-35 photos per post.

    One instance serves every job; it keeps only a short per-account creator-info cache.
    ``retry``, ``poll`` and ``rng`` are injectable for tests.
    """

    name = "tiktok"
    display_name = "TikTok"
    media_kinds = frozenset({MediaKind.VIDEO, MediaKind.IMAGE})
    option_names = OPTION_NAMES
    options = OPTIONS
    settings = SETTINGS
    caption_limit = None
    """Checked per post kind by ``validate_for_tiktok`` (video caption 2,200, photo description
    4,000 UTF-16 units; a photo title is derived from the content and cut to 90)."""
    metrics = analytics.METRICS
    """Display API counters (needs the ``video.list`` scope; see :mod:`.analytics`)."""

    def __init__(self, *, retry: RetryPolicy | None = None, poll: PollPolicy | None = None,
                 rng: random.Random | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollPolicy()
        self.rng = rng or random.Random()
        self._creators: dict[str, tuple[float, CreatorInfo]] = {}

    def import_settings(self, service: str, block: Mapping[str, Any]) -> ImportedOptions | None:
        """A hosted service's TikTok block as ``target_options.tiktok`` (see ``service_settings``)."""
        from crosspost.plugins.tiktok.service_settings import import_settings

        return import_settings(service, block)

    def poll_policy(self, settings: Settings) -> PollPolicy:
        """``CROSSPOST_TIKTOK_POLL_SECONDS`` as a fixed interval when set (the emulator's demo),
        else the injected policy."""
        raw = settings.platform(self.name).get("poll_seconds", "")
        try:
            seconds = float(raw) if raw else 0.0
        except ValueError:
            raise ConfigError(f"CROSSPOST_TIKTOK_POLL_SECONDS must be a number of seconds, got {raw!r}") from None
        if seconds <= 0:
            return self.poll
        return attrs.evolve(self.poll, first=seconds, factor=1.0, longest=seconds)

    def caption_length(self, text: str) -> int:
        """TikTok counts UTF-16 code units: an emoji outside the BMP counts 2."""
        return utf16_len(text)

    def client(self, ctx: JobContext, config: TikTokConfig) -> TikTokClient:
        """A client for the job's account; tokens are refreshed through ``ctx.account``."""
        if ctx.account is None:
            raise ConfigError("a TikTok job needs an account: run `crosspost accounts login tiktok NAME`")
        app = OAuthClient(api_base=config.api_base, client_key=config.client_key, client_secret=config.client_secret)
        tokens = TokenKeeper(ctx.account, http=ctx.http, app=app, clock=ctx.clock)
        return TikTokClient(ctx.http, api_base=config.api_base, tokens=tokens, rate=ctx.rate, clock=ctx.clock,
                            policy=self.retry, rng=self.rng, paced=config.client_limits)

    async def creator_info(self, ctx: JobContext, client: TikTokClient) -> CreatorInfo:
        """The creator's live settings, reused for a minute per account. A spam/cap answer raises
        :class:`DailyCapReached` with a time to look again."""
        key = (await ctx.account.get()).key if ctx.account is not None else str(ctx.target)
        now = ctx.clock.monotonic()
        cached = self._creators.get(key)
        if cached is not None and now - cached[0] < CREATOR_CACHE_S:
            return cached[1]
        try:
            info = await client.creator_info()
        except DailyCapReached as err:
            raise with_not_before(err, ctx.clock.now() + CAP_RECHECK) from None
        self._creators[key] = (now, info)
        return info

    async def _creator_for(self, ctx: JobContext, config: TikTokConfig, options: TikTokOptions) -> CreatorInfo | None:
        """Creator info for a direct post; drafts need none (the creator decides in the app)."""
        if options.draft:
            return None
        return await self.creator_info(ctx, self.client(ctx, config))

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        """Every problem with ``post`` for TikTok, checked against the creator's live settings.

        ``post`` is already narrowed to TikTok (the engine applies ``target_options.tiktok``).
        Unknown option names are reported with the closest name and other services' spellings
        (the engine keeps one problem per field, so :meth:`Platform.generic_problems`' report of
        the same key gives way). The accepted post's
        :class:`TikTokPrepared` (media probed, creator asked, routes chosen) is the result's
        ``value``: ``plan`` and ``publish`` of the same attempt reuse it. Raises
        :class:`DailyCapReached` when TikTok says the creator cannot post right now (the engine
        stores the job deferred), and the client's errors when TikTok cannot be asked.
        """
        config = TikTokConfig.from_settings(ctx.settings)
        options, _ = parse_options(post.options_for(self.name), report_unknown=False)
        infos = await fetch_media.probe_local(post.media)
        creator = await self._creator_for(ctx, config, options)
        return prepare(post, creator, infos, config=config, has_host=has_media_host(ctx),
                       report_unknown=True)

    async def plan(self, post: Post, ctx: JobContext) -> Sequence[PlannedRequest]:
        """The requests ``publish`` would send, without tokens or upload URLs. Only the read-only
        creator_info query is actually sent (direct posts, and only when the engine did not
        validate first); nothing is uploaded or hosted."""
        config = TikTokConfig.from_settings(ctx.settings)
        prepared = prepared_from(ctx)
        if prepared is None:
            result = await self.validate(post, ctx)
            if result.problems:
                raise InvalidPost(result.problems)
            assert isinstance(result.value, TikTokPrepared)
            prepared = result.value
        planned: list[PlannedRequest] = []
        if not prepared.options.draft:
            planned.append(PlannedRequest(method="POST", url=config.api_base + CREATOR_INFO_PATH,
                                          note="creator info (read-only; the dry run sends it)"))
        planned += _planned_media(post, prepared, config=config)
        planned.append(PlannedRequest(
            method="POST", url=config.api_base + STATUS_PATH, body={"publish_id": "<publish_id from init>"},
            note="status, polled with backoff (at most 30 a minute) until PUBLISH_COMPLETE, SEND_TO_USER_INBOX "
                 "(draft) or FAILED"))
        return planned

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        """Publish ``post`` (already narrowed to TikTok by the engine), reusing
        ``ctx.validation`` when the engine validated this attempt."""
        return await PublishRun(self, post, ctx).run()

    async def cancel(self, ctx: JobContext) -> None:
        """Best effort: stop a PULL_FROM_URL download TikTok has not finished yet."""
        publish_id = ctx.checkpoint.get("publish_id")
        if not publish_id or ctx.checkpoint.get("route") == "file":
            return
        try:
            await self.client(ctx, TikTokConfig.from_settings(ctx.settings)).cancel(str(publish_id))
        except PlatformError as err:
            ctx.log.info("TikTok did not cancel the post: %s", err.code)


    # -- metrics (Display API; crosspost.plugins.tiktok.analytics) ------------------------------

    async def fetch_metrics(self, refs: Sequence[MetricRef], ctx: MetricsContext) -> list[MetricSnapshot]:
        return await analytics_client.fetch_video_metrics(refs, ctx)

    async def account_metrics(self, account: AccountAccess, ctx: MetricsContext) -> AccountMetrics:
        return await analytics_client.fetch_account_metrics(ctx)

    async def resolve_post(self, ref: MetricRef, ctx: MetricsContext) -> ResolvedPost | None:
        return await analytics_client.resolve_public_id(ref, ctx)

    def platform_post_id(self, publish_id: str | None, post_url: str | None) -> str | None:
        """The video id in the stored link; None when the publish ended before TikTok named it."""
        return analytics.id_from_url(post_url)


def _planned_media(post: Post, prepared: TikTokPrepared, *, config: TikTokConfig) -> list[PlannedRequest]:
    options, infos, routes = prepared.options, prepared.infos, prepared.routes
    if is_video_post(post, infos) and routes[0] is Route.PULL_FROM_URL and post.media[0].url:
        request = video_init_request(post, options, UrlSource(url=post.media[0].url))
        return [PlannedRequest(method=request.method, url=config.api_base + request.path, body=request.json,
                               note="video init, PULL_FROM_URL (TikTok downloads the video)")]
    if is_video_post(post, infos):
        return _planned_upload(post, options, infos[0], routes[0], config)
    urls = [_planned_photo_url(item.url, item.path, route)
            for item, route in zip(post.media, routes, strict=True)]
    request = photo_init_request(post, options, urls)
    return [PlannedRequest(method=request.method, url=config.api_base + request.path, body=request.json,
                           note="photo init, PULL_FROM_URL (TikTok downloads each photo)")]


def _planned_upload(post: Post, options: TikTokOptions, info: MediaInfo | None, route: Route,
                    config: TikTokConfig) -> list[PlannedRequest]:
    planned: list[PlannedRequest] = []
    if route is Route.DOWNLOAD_AND_UPLOAD and post.media[0].url:
        planned.append(PlannedRequest(method="GET", url=_without_query(post.media[0].url),
                                      note="download the video (not on a verified domain), then upload it"))
    if info is None:
        path = INBOX_VIDEO_INIT_PATH if options.draft else VIDEO_INIT_PATH
        planned.append(PlannedRequest(method="POST", url=config.api_base + path,
                                      note="video init, FILE_UPLOAD; sizes and chunks are known once downloaded"))
        return planned
    source = file_source(info.size, config)
    request = video_init_request(post, options, source)
    planned.append(PlannedRequest(method=request.method, url=config.api_base + request.path, body=request.json,
                                  note="video init, FILE_UPLOAD"))
    content_type = content_type_of(info)
    for chunk in source.plan.chunks():
        planned.append(PlannedRequest(
            method="PUT", url="<upload_url from init>",
            note=(f"chunk {chunk.index + 1}/{source.plan.total_chunk_count}: Content-Range: "
                  f"{source.plan.content_range(chunk.index)}; Content-Length: {chunk.length}; "
                  f"Content-Type: {content_type}")))
    return planned


def _planned_photo_url(url: str | None, path: str | None, route: Route) -> str:
    if route is Route.PULL_FROM_URL and url is not None:
        return url
    name = Path(path).name if path else _without_query(url or "")
    what = "converted to JPEG, then hosted" if route is Route.CONVERT_AND_HOST else "hosted"
    return f"<public URL of {name}, {what} by the media host>"


def _without_query(url: str) -> str:
    """A URL for display: a query string may carry a token, so it is dropped."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


__all__ = ["TikTokPlatform"]
