"""One run of one TikTok publish job, resumable from its checkpoint (see ``platform.py``'s table).

Checkpoint keys (JSON values only; the engine stores them):

``phase``            ``init_sent`` | ``uploading`` | ``processing`` | ``failed`` (absent at first)
``route``            ``file`` (FILE_UPLOAD) | ``pull`` (video URL) | ``photo`` (photo URLs)
``publish_id``       TikTok's id, saved right after init
``upload_url``       FILE_UPLOAD target (holds an upload token: never logged), with
``upload_expires_at`` (ISO-8601) and ``next_chunk`` (first chunk not yet acknowledged)
``video_path``       the file being uploaded (a local path or the job's download)
``video_size`` / ``chunk_size`` / ``total_chunk_count`` / ``content_type``  the upload's plan
``cap_counted``      the daily-cap slot was taken (never twice for one post)
``processing_since`` when the media reached TikTok (ISO-8601), for the give-up bound
``username``         the creator's handle, for the post URL
``inits``            inits sent so far
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from crosspost.core.errors import (
    DailyCapReached,
    InvalidPost,
    PermanentError,
    PlatformError,
    Problem,
    StillProcessing,
    TransientError,
    UncertainOutcome,
)
from crosspost.core.models import JobStatus, Post
from crosspost.core.platform import JobContext, Outcome
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok import fetch_media
from crosspost.plugins.tiktok.chunks import ChunkPlan
from crosspost.plugins.tiktok.client import RetryPolicy, TikTokClient
from crosspost.plugins.tiktok.config import CAP_RECHECK, DAILY_POST_CAP, DAY_S, PollPolicy, TikTokConfig
from crosspost.plugins.tiktok.creator import CreatorInfo
from crosspost.plugins.tiktok.errors import UploadUrlRejected, fail_reason_error, still_processing_error
from crosspost.plugins.tiktok.options import TikTokOptions, parse_options
from crosspost.plugins.tiktok.prepared import (
    TikTokPrepared,
    check_post,
    content_type_of,
    file_source,
    has_media_host,
    is_video_post,
    prepare,
    prepared_from,
    with_not_before,
)
from crosspost.plugins.tiktok.requests import (
    ApiRequest,
    FileSource,
    Route,
    UrlSource,
    photo_init_request,
    video_init_request,
)
from crosspost.plugins.tiktok.status import PROCESSING_UPLOAD, PublishStatus, post_url
from crosspost.plugins.tiktok.upload import ChunkUploader, UploadTarget

if TYPE_CHECKING:
    from crosspost.core.media import MediaInfo

PLATFORM = "tiktok"
UPLOAD_URL_TTL = timedelta(hours=1)
UPLOAD_URL_MARGIN = timedelta(minutes=1)
"""An upload URL this close to its expiry is treated as expired (a chunk takes time to send)."""
MAX_INITS_PER_RUN = 3
_KEEP_AFTER_FAILURE = ("cap_counted", "inits", "username")


class Publisher(Protocol):
    """What a run needs from :class:`~crosspost.plugins.tiktok.platform.TikTokPlatform` (a
    protocol, so this module does not import the platform that imports it)."""

    retry: RetryPolicy
    poll: PollPolicy
    rng: random.Random

    def client(self, ctx: JobContext, config: TikTokConfig) -> TikTokClient: ...

    def poll_policy(self, settings: Settings) -> PollPolicy: ...

    async def creator_info(self, ctx: JobContext, client: TikTokClient) -> CreatorInfo: ...

    def generic_problems(self, post: Post) -> list[Problem]: ...


async def try_acquire(ctx: JobContext, key: str, *, limit: int, window: float) -> float:
    """The rate gate's non-blocking ``try_acquire`` (0 = admitted, else seconds to wait)."""
    return await ctx.rate.try_acquire(key, limit=limit, window=window)


def lost_pull_init() -> UncertainOutcome:
    """A PULL_FROM_URL init went out but its answer was never recorded: it may be publishing."""
    return UncertainOutcome(
        "crosspost sent TikTok this post (media by URL) but stopped before recording TikTok's answer, so "
        "TikTok may already be publishing it; it was not sent again.",
        code="uncertain", platform=PLATFORM,
        hint=("Check the account's recent posts (and inbox drafts) in the TikTok app and `crosspost status ID`; "
              "publish again only if it is not there."),
    )


def uploaded_of(status: PublishStatus, size: int) -> int | None:
    """Bytes of a FILE_UPLOAD TikTok holds by its status answer: all of them once it is past
    uploading (published, in the inbox); None when it does not say (a status name TikTok does not
    document says nothing either)."""
    if status.terminal:
        return size
    return status.uploaded_bytes if status.status in ("", PROCESSING_UPLOAD) else None


def unknown_upload(publish_id: str, refusal: PermanentError | None) -> UncertainOutcome:
    """TikTok refused a re-sent last chunk and its status does not say whether it holds the video."""
    why = f" (it refused the re-sent last chunk: {refusal.code})" if refusal is not None else ""
    return UncertainOutcome(
        "crosspost's upload was interrupted after the last chunk may have reached TikTok, and TikTok does "
        f"not say whether it holds the whole video{why}; it may still publish it, so it was not sent again.",
        code="upload_unknown", platform=PLATFORM,
        hint=(f"Check the account's recent posts in the TikTok app (publish_id {publish_id}), then record what "
              "you find: `crosspost reconcile ID --published URL` or `crosspost reconcile ID --failed`."),
    )


class PublishRun:
    """Carries one run of ``publish`` from wherever the checkpoint says the job stands."""

    def __init__(self, platform: Publisher, post: Post, ctx: JobContext) -> None:
        self.platform = platform
        self.post = post
        self.ctx = ctx
        self.config = TikTokConfig.from_settings(ctx.settings)
        self.client = platform.client(ctx, self.config)
        self.cp: dict[str, Any] = dict(ctx.checkpoint)
        self.warnings: list[str] = []
        self.inits_this_run = 0

    async def save(self, status: JobStatus | None = None, *, durable: bool = True, **changes: Any) -> None:
        """Record ``changes`` before acting on them; durably unless a later run redoes or re-asks
        the step (``JobContext.save``)."""
        self.cp.update(changes)
        await self.ctx.save(self.cp, status=status, durable=durable)

    def now(self) -> datetime:
        return self.ctx.clock.now()

    async def run(self) -> Outcome:
        try:
            return await self._run()
        except (InvalidPost, PermanentError):
            await fetch_media.remove_work_dir(self.ctx, self.post.media)  # no later run will need the job's files
            raise

    async def _run(self) -> Outcome:
        phase = self.cp.get("phase")
        if self.cp.get("publish_id"):
            if phase == "uploading":
                await self._upload(resumed=True)
            return await self._poll()
        if phase == "init_sent" and self.cp.get("route") != "file":
            raise lost_pull_init()
        return await self._start()

    # -- first run: check, prepare, init -------------------------------------------------------

    async def _start(self) -> Outcome:
        prepared = prepared_from(self.ctx) or await self._check()
        options, creator, has_host = prepared.options, prepared.creator, prepared.has_host
        infos, routes = list(prepared.infos), list(prepared.routes)
        if Route.DOWNLOAD_AND_UPLOAD in routes:
            infos = await self._download_videos(infos, routes)
            options, result = check_post(self.post, creator, infos, config=self.config, has_host=has_host)
            if result.problems:
                raise InvalidPost(result.problems)
        if not options.draft:
            await self._take_daily_slot()
        if creator is not None and creator.username:
            self.cp["username"] = creator.username
        if routes and routes[0] in (Route.FILE_UPLOAD, Route.DOWNLOAD_AND_UPLOAD):
            await self._start_file_upload(options, infos[0])
            await self._upload()
        elif routes and routes[0] is Route.PULL_FROM_URL and self.post.media[0].url and is_video_post(self.post, infos):
            await self._init(video_init_request(self.post, options, UrlSource(url=self.post.media[0].url)),
                             route="pull")
        else:
            urls = await fetch_media.photo_urls(self.ctx, self.post.media, infos, routes)
            await self._init(photo_init_request(self.post, options, urls), route="photo")
        return await self._poll()

    async def _check(self) -> TikTokPrepared:
        """Validate here: the engine did not (a job resumed from an unfinished init)."""
        has_host = has_media_host(self.ctx)
        infos = await fetch_media.probe_local(self.post.media)
        draft, _ = parse_options(self.post.options_for(PLATFORM), report_unknown=False)
        creator = None if draft.draft else await self.platform.creator_info(self.ctx, self.client)
        result = prepare(self.post, creator, infos, config=self.config, has_host=has_host)
        problems = [*self.platform.generic_problems(self.post), *result.problems]
        if problems:
            raise InvalidPost(problems)
        for warning in result.warnings:
            self.ctx.warn(warning)
            self.warnings.append(warning)
        assert isinstance(result.value, TikTokPrepared)
        return result.value

    async def _download_videos(self, infos: list[MediaInfo | None], routes: list[Route]) -> list[MediaInfo | None]:
        infos = list(infos)
        for index, (item, route) in enumerate(zip(self.post.media, routes, strict=True)):
            if route is Route.DOWNLOAD_AND_UPLOAD and item.url is not None:
                path, info = await fetch_media.download(self.ctx, item.url, name=f"video-{index}",
                                                        max_bytes=fetch_media.MAX_VIDEO_BYTES)
                self.cp["video_path"] = str(path)
                infos[index] = info
        return infos

    async def _take_daily_slot(self) -> None:
        """Count this direct post against ~15 per creator per 24 h, once per post."""
        if self.cp.get("cap_counted") or not self.config.client_limits:
            return
        account = await self.ctx.account.get() if self.ctx.account is not None else None
        creator_id = (account.profile.get("open_id") if account is not None else None) or (
            account.key if account is not None else str(self.ctx.target))
        wait = await try_acquire(self.ctx, f"tiktok:daily:{creator_id}", limit=DAILY_POST_CAP, window=DAY_S)
        if wait > 0:
            raise DailyCapReached(
                f"{DAILY_POST_CAP} direct posts to this TikTok account in the last 24 hours: TikTok allows about "
                f"{DAILY_POST_CAP} per creator, so this post waits about {wait / 3600:.1f} h.",
                code="daily_cap", platform=PLATFORM, not_before=self.now() + timedelta(seconds=wait),
                hint="Nothing to do: crosspost publishes it once the rolling window frees a slot.")
        self.cp["cap_counted"] = True

    async def _start_file_upload(self, options: TikTokOptions, info: MediaInfo | None) -> None:
        path = self.cp.get("video_path") or self.post.media[0].path
        size = info.size if info is not None else 0
        plan = file_source(size, self.config).plan
        self.cp.update(route="file", video_path=str(path), video_size=plan.video_size, chunk_size=plan.chunk_size,
                       total_chunk_count=plan.total_chunk_count, content_type=content_type_of(info))
        await self._init(self._file_request(options), route="file")

    def _file_request(self, options: TikTokOptions | None = None) -> ApiRequest:
        if options is None:
            options, _ = parse_options(self.post.options_for(PLATFORM), report_unknown=False)
        return video_init_request(self.post, options, FileSource(video_size=self.cp["video_size"], plan=self._plan()))

    def _plan(self) -> ChunkPlan:
        return ChunkPlan(video_size=self.cp["video_size"], chunk_size=self.cp["chunk_size"],
                         total_chunk_count=self.cp["total_chunk_count"])

    async def _init(self, request: ApiRequest, *, route: str) -> None:
        """Save the intent, send the init, save its answer at once."""
        if self.inits_this_run >= MAX_INITS_PER_RUN:
            raise TransientError("TikTok's upload had to start over several times in a row; trying again later.",
                                 code="upload_restarts", platform=PLATFORM)
        self.inits_this_run += 1
        for key in ("publish_id", "upload_url", "upload_expires_at", "next_chunk", "processing_since"):
            self.cp.pop(key, None)
        # A file upload's init posts nothing until every chunk is sent, and the answer's save
        # below is durable before the first chunk: if a power cut loses this intent, the next
        # run's fresh init is safe. A pull or photo init may post by itself: its intent must last.
        await self.save(JobStatus.UPLOADING, phase="init_sent", route=route, durable=route != "file")
        try:
            result = await self.client.init(request, pull_from_url=route != "file")
        except UncertainOutcome:
            raise
        except PlatformError as err:
            # TikTok answered (or was never reached): no post was started, so the next run may init.
            await self.save(phase="refused")
            if isinstance(err, DailyCapReached):
                raise with_not_before(err, self.now() + CAP_RECHECK) from None
            raise
        inits = int(self.cp.get("inits", 0)) + 1
        if result.upload_url is not None:
            expires = self.now() + UPLOAD_URL_TTL
            await self.save(phase="uploading", publish_id=result.publish_id, upload_url=result.upload_url,
                            upload_expires_at=expires.isoformat(), next_chunk=0, inits=inits)
        else:
            await self.save(JobStatus.PROCESSING, phase="processing", publish_id=result.publish_id,
                            processing_since=self.now().isoformat(), inits=inits)

    # -- upload ----------------------------------------------------------------------------------

    async def _upload(self, *, resumed: bool = False) -> None:
        """Send the chunks TikTok does not hold; start over (new init) only when that cannot post twice.

        ``resumed``: an earlier run was interrupted mid-upload, so TikTok may hold more than the
        checkpoint says (a chunk whose answer was lost), even every byte: it is asked first.
        """
        uploader = ChunkUploader(self.ctx.http, clock=self.ctx.clock, policy=self.platform.retry,
                                 rng=self.platform.rng)
        start = await self._resume_point() if resumed else int(self.cp.get("next_chunk", 0))
        while start is not None:
            if self._url_expired():
                done = await self._after_interruption(None)
            else:
                target = UploadTarget(path=Path(self.cp["video_path"]), plan=self._plan(),
                                      content_type=self.cp["content_type"], upload_url=self.cp["upload_url"])
                try:
                    await uploader.upload(target, start_chunk=start, on_chunk_acked=self._chunk_acked,
                                          progress=self.ctx.progress, where=self._bytes_held)
                    break
                except PermanentError as err:  # UploadUrlRejected included
                    self.ctx.log.info("TikTok refused a chunk: %s", err.code)
                    done = await self._after_interruption(err)
            if done:
                break
            await self._init(self._file_request(), route="file")
            start = 0
        for key in ("upload_url", "upload_expires_at", "next_chunk"):
            self.cp.pop(key, None)  # the upload token is of no further use; keep it out of storage
        # Not durable: without it a run resumes "uploading" with the publish_id, asks TikTok what
        # it holds (every byte) and polls; the job's final write takes it to the disk anyway.
        await self.save(JobStatus.PROCESSING, durable=False, phase="processing",
                        processing_since=self.now().isoformat())

    async def _chunk_acked(self, index: int) -> None:
        if index + 1 >= int(self.cp["total_chunk_count"]):
            # The last chunk: the "processing" save follows at once and says more. A crash in
            # between resumes at this chunk, and a resumed upload asks TikTok what it holds first.
            self.cp["next_chunk"] = index + 1
            return
        # Not durable: a resumed upload asks TikTok what it holds before sending anything.
        await self.save(JobStatus.UPLOADING, durable=False, next_chunk=index + 1)

    def _url_expired(self) -> bool:
        expires = self.cp.get("upload_expires_at")
        if not isinstance(expires, str):
            return True
        return self.now() >= datetime.fromisoformat(expires) - UPLOAD_URL_MARGIN

    def _maybe_complete(self) -> bool:
        """Whether the last chunk may have reached TikTok: only chunks after a recorded ack are sent,
        so that is when the checkpoint stands at the last chunk."""
        return int(self.cp.get("next_chunk", 0)) >= int(self.cp["total_chunk_count"]) - 1

    async def _status_now(self) -> PublishStatus | None:
        """TikTok's status of this upload; None when TikTok knows no such publish. A FAILED one raises."""
        try:
            status = await self.client.fetch_status(self.cp["publish_id"])
        except PlatformError as err:
            if err.code in ("invalid_publish_id", "token_not_authorized_for_specified_publish_id"):
                return None
            raise
        if status.failed:
            raise await self._failed(status)  # retryable reasons clear the publish for a fresh start
        return status

    async def _bytes_held(self) -> int | None:
        """Bytes TikTok holds (the whole video once it is past uploading); None when it does not say."""
        status = await self._status_now()
        return None if status is None else uploaded_of(status, int(self.cp["video_size"]))

    async def _resume_point(self) -> int | None:
        """The chunk to send first after an interruption (None: TikTok holds every byte)."""
        held = await self._bytes_held()
        if held is None:
            return int(self.cp.get("next_chunk", 0))
        plan = self._plan()
        if held >= plan.video_size:
            return None
        self.ctx.log.info("TikTok holds %d of %d bytes of the interrupted upload", held, plan.video_size)
        return min(held // plan.chunk_size, plan.total_chunk_count - 1)  # a 416 corrects a partial chunk

    async def _after_interruption(self, refusal: PermanentError | None) -> bool:
        """After a refused chunk (``refusal``) or an expired upload URL (None): True when TikTok holds
        every byte (go on polling), False when a new init is safe (the old upload never completes),
        otherwise the refusal itself, or ``unknown`` when TikTok's answer cannot tell."""
        status = await self._status_now()
        restartable = refusal is None or isinstance(refusal, UploadUrlRejected)
        held = None if status is None else uploaded_of(status, int(self.cp["video_size"]))
        if held is not None and held >= int(self.cp["video_size"]):
            return True
        if held is None and status is not None and self._maybe_complete():
            raise unknown_upload(self.cp["publish_id"], refusal)
        if restartable:
            return False
        assert refusal is not None
        raise refusal

    # -- status ----------------------------------------------------------------------------------

    async def _poll(self) -> Outcome:
        """Poll until a final status. A run polls at most ``per_run`` s, then hands the job back as
        :class:`StillProcessing` (a wait, not a failed attempt); so does a status endpoint that
        stays unreachable, since TikTok holds the post either way. Past TikTok's own window
        (``give_up``, 24 h) the outcome is ``unknown``."""
        policy = self.platform.poll_policy(self.ctx.settings)
        clock = self.ctx.clock
        started = clock.monotonic()
        delay = policy.first
        if not self.cp.get("processing_since"):
            await self.save(JobStatus.PROCESSING, phase="processing", processing_since=self.now().isoformat())
        while True:
            waited = (self.now() - datetime.fromisoformat(self.cp["processing_since"])).total_seconds()
            if waited > policy.give_up:
                raise still_processing_error(self.cp["publish_id"], waited)
            status = await self._status_while_processing(policy.longest)
            if status.published or status.in_inbox:
                return await self._finished(status)
            if status.failed:
                raise await self._failed(status)
            if clock.monotonic() - started + delay > policy.per_run:
                raise StillProcessing(
                    f"TikTok is still processing the post (status {status.status or 'unknown'}); "
                    "crosspost checks again shortly.", code="still_processing", platform=PLATFORM,
                    retry_after=policy.longest)
            await clock.sleep(delay)
            delay = min(policy.longest, delay * policy.factor)

    async def _status_while_processing(self, later: float) -> PublishStatus:
        try:
            return await self.client.fetch_status(self.cp["publish_id"])
        except StillProcessing:
            raise
        except TransientError as err:
            raise StillProcessing(
                f"TikTok holds the post but its status could not be read ({err.code}); crosspost asks again "
                "later.", code="still_processing", platform=PLATFORM,
                retry_after=max(later, err.retry_after or 0.0)) from None

    async def _finished(self, status: PublishStatus) -> Outcome:
        username = self.cp.get("username") or await self._profile_username()
        link = None
        if status.post_ids and username:
            link = post_url(str(username), status.post_ids[0], photo=self.cp.get("route") == "photo")
        await fetch_media.remove_work_dir(self.ctx, self.post.media)
        done = JobStatus.PUBLISHED if status.published else JobStatus.INBOX
        return Outcome(status=done, publish_id=self.cp["publish_id"], post_url=link, warnings=tuple(self.warnings))

    async def _profile_username(self) -> str | None:
        if self.ctx.account is None:
            return None
        name = (await self.ctx.account.get()).profile.get("username")
        return name if isinstance(name, str) and name else None

    async def _failed(self, status: PublishStatus) -> PlatformError:
        """The error for a FAILED status. A retryable one forgets the publish_id, so the next run
        starts the post again (TikTok published nothing); otherwise the job's files go."""
        error = fail_reason_error(status.fail_reason, publish_id=self.cp.get("publish_id"))
        if isinstance(error, DailyCapReached):
            with_not_before(error, self.now() + CAP_RECHECK)
        if error.retryable or isinstance(error, DailyCapReached):
            kept: Mapping[str, Any] = {k: self.cp[k] for k in _KEEP_AFTER_FAILURE if k in self.cp}
            self.cp = dict(kept)
            await self.save(phase="failed", last_fail_reason=status.fail_reason)
        else:
            await fetch_media.remove_work_dir(self.ctx, self.post.media)
        return error
