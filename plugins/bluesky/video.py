"""One video through Bluesky's video service: limits, upload, then the job until it has a blob.

The video service transcodes and checks the file, then writes the processed blob into the
user's PDS and hands back its reference. It trusts a *service-auth* token the PDS signs for it
(``getServiceAuth``): audience the video service's DID for ``getUploadLimits``, the PDS's own
``did:web`` for the upload (the service uploads the result there on the user's behalf).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crosspost.core.clock import Clock
from crosspost.core.errors import DailyCapReached, PermanentError, TransientError
from crosspost.plugins.bluesky import xrpc
from crosspost.plugins.bluesky.client import XrpcClient, file_chunks, parsed
from crosspost.plugins.bluesky.config import BlueskyConfig
from crosspost.plugins.bluesky.errors import PLATFORM, read_failure

SERVICE_TOKEN_SECONDS = 30 * 60
"""The upload token's lifetime: long enough for a large file on a slow link (Bluesky's docs)."""


class VideoService:
    """Talks to the video service for one account (its PDS signs the service tokens)."""

    def __init__(self, *, pds: XrpcClient, config: BlueskyConfig, clock: Clock) -> None:
        self._pds = pds
        self._config = config
        self._clock = clock

    async def _token(self, aud: str, lxm: str, seconds: int) -> str:
        exp = math.floor(self._clock.now().timestamp()) + seconds
        body = await self._pds.call(xrpc.get_service_auth(aud, lxm, exp), what="getting a video service token")
        return parsed(xrpc.parse_token, body, "getting a video service token")

    async def check_limits(self, size: int) -> None:
        """Refuse before uploading when the account may not upload this video today."""
        token = await self._token(self._config.video_service_did, "app.bsky.video.getUploadLimits", 60)
        body = await self._pds.call(xrpc.video_upload_limits(), what="reading the video upload limits",
                                    base=self._config.video_service, bearer=token)
        limits = parsed(xrpc.parse_upload_limits, body, "reading the video upload limits")
        if not limits.can_upload:
            reason = limits.message or "the video service refuses uploads for this account now"
            if limits.remaining_videos == 0 or limits.remaining_bytes == 0:
                raise DailyCapReached(f"Bluesky video upload limit reached: {reason}", code="video_daily_limit",
                                      platform=PLATFORM)
            raise PermanentError(f"Bluesky will not take a video from this account: {reason}",
                                 code="video_upload_forbidden", platform=PLATFORM,
                                 hint="Video upload needs a verified email address on the account.")
        if limits.remaining_bytes is not None and size > limits.remaining_bytes:
            raise DailyCapReached(f"the video is {size} bytes; the account may upload {limits.remaining_bytes} more "
                                  "bytes of video today", code="video_daily_limit", platform=PLATFORM)

    async def upload(self, did: str, path: Path, size: int, on_progress: Callable[[int], None]) -> xrpc.VideoJob:
        """Stream the file to the video service; the job it started (or the finished job of the
        same video, which the service reports as ``already_exists`` with its blob)."""
        host = urlsplit(self._pds.base).hostname or ""
        token = await self._token(f"did:web:{host}", "com.atproto.repo.uploadBlob", SERVICE_TOKEN_SECONDS)
        what = f"uploading {path.name} to the video service"
        reply = await self._pds.exchange(xrpc.upload_video(did, path.name), what=what, bearer=token,
                                         base=self._config.video_service,
                                         body=lambda: file_chunks(path, on_progress), size=size)
        if reply.status >= 300 and read_failure(reply.status, reply.body).name == "already_exists":
            return parsed(xrpc.parse_job_status, reply.body, what)
        return parsed(xrpc.parse_job_status, self._pds.raise_for(reply, what), what)

    async def wait(self, job_id: str, on_state: Callable[[xrpc.VideoJob], None]) -> dict[str, Any]:
        """Poll the job until it is done (its blob) or failed; at most ``poll_timeout`` per attempt."""
        deadline = self._clock.monotonic() + self._config.poll_timeout
        while True:
            body = await self._pds.call(xrpc.video_job_status(job_id), what="checking the video job",
                                        base=self._config.video_service)
            job = parsed(xrpc.parse_job_status, body, "checking the video job")
            on_state(job)
            if job.completed:
                assert job.blob is not None
                return dict(job.blob)
            if job.failed:
                raise PermanentError(f"Bluesky's video service could not process the video: "
                                     f"{job.message or job.error or 'JOB_STATE_FAILED'}",
                                     code=job.error or "video_failed", platform=PLATFORM)
            if self._clock.monotonic() + self._config.poll_interval > deadline:
                raise TransientError(f"the video is still processing after {self._config.poll_timeout:g} s",
                                     code="still_processing", platform=PLATFORM,
                                     retry_after=self._config.poll_interval)
            await self._clock.sleep(self._config.poll_interval)
