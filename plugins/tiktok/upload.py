"""FILE_UPLOAD: PUT a video's chunks to TikTok's ``upload_url``, streamed from disk, resumable.

What a caller may rely on:

- Chunks go in order, each with ``Content-Range: bytes {first}-{last}/{total}``, an explicit
  ``Content-Length`` (never chunked transfer encoding) and ``Content-Type`` from the sniffed
  format. The body is read into two reused 1 MiB buffers (``file_body``): curl's speed and a
  few MiB of memory whatever the chunk or file size.
- ``on_chunk_acked(index)`` is awaited after TikTok acknowledged every chunk up to ``index`` and
  before the next one is sent: the platform saves its checkpoint there. Upload can start at any
  chunk (``start_chunk``) to resume after a crash.
- A failed chunk (5xx, reset, timeout) is retried with the client's full-jitter backoff. When the
  answer never came (reset, timeout) the chunk may have arrived, even whole: before another byte
  is sent, ``where()`` (when given) asks TikTok how many bytes it holds (status fetch,
  ``uploaded_bytes``) and the upload goes on from there, or ends if TikTok has everything. On 416,
  the server's position is read from the response ``Content-Range`` (``bytes 0-{last}/{total}``;
  ``bytes */{total}`` = nothing yet) and the upload continues from there; a position that is not
  a chunk boundary, or that cannot be read, raises
  :class:`~crosspost.plugins.tiktok.errors.UploadUrlRejected` (start again).
- 403 (the one-hour URL expired) and 404 raise ``UploadUrlRejected``: the platform inits again,
  which is safe for FILE_UPLOAD only. 201 means TikTok has every byte.
- The upload URL carries an upload token: it never appears in logs or errors.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import aiohttp
import attrs
from yarl import URL

from crosspost.core.clock import Clock
from crosspost.core.errors import PlatformError, TransientError
from crosspost.plugins.tiktok.chunks import ChunkPlan
from crosspost.plugins.tiktok.client import Attempts, RetryPolicy, translate_client_error
from crosspost.plugins.tiktok.errors import UploadUrlRejected, chunk_response_error
from crosspost.plugins.tiktok.file_body import BLOCK_SIZE, FileRangeBody, FileTruncated

log = logging.getLogger("crosspost.plugins.tiktok.upload")

PLATFORM = "tiktok"
READ_SIZE = BLOCK_SIZE
"""Bytes per read from disk (and per write to the socket), into one of two reused buffers."""
UPLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
"""No total limit (a 128 MB chunk on a slow line takes minutes); a stalled socket is an error."""
VIDEO_CONTENT_TYPES: Mapping[str, str] = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
"""The PUT Content-Type TikTok accepts, by sniffed format."""
_SERVER_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+)")
_MAX_STALLS = 5
"""How many times in a row the server may report no progress before the upload starts over."""

ChunkAcked = Callable[[int], Awaitable[None]]
BytesHeld = Callable[[], Awaitable[int | None]]
"""How many bytes TikTok says it holds (``None`` when it does not say)."""
Progress = Callable[[int, int], None]


def server_position(headers: Mapping[str, str], total: int) -> int | None:
    """Bytes the server holds, from its ``Content-Range`` answer; None when absent or unreadable."""
    match = _SERVER_RANGE.fullmatch(headers.get("Content-Range", "").strip())
    if match is None or int(match.group(3)) != total:
        return None
    if match.group(2) is None:
        return 0
    return int(match.group(2)) + 1


@attrs.frozen(kw_only=True)
class UploadTarget:
    """What to upload where: the file, its chunk plan, its Content-Type and the URL."""

    path: Path
    plan: ChunkPlan
    content_type: str
    upload_url: str = attrs.field(repr=False)


class ChunkUploader:
    """Sends one video's chunks to one upload URL (see the module docstring for guarantees)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        clock: Clock,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        timeout: aiohttp.ClientTimeout = UPLOAD_TIMEOUT,
        read_size: int = READ_SIZE,
    ) -> None:
        self.http = http
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.timeout = timeout
        self.read_size = read_size

    async def upload(
        self,
        target: UploadTarget,
        *,
        start_chunk: int = 0,
        on_chunk_acked: ChunkAcked,
        progress: Progress | None = None,
        where: BytesHeld | None = None,
    ) -> None:
        """Send chunks ``start_chunk``… until TikTok holds the whole video (its 201, or ``where``
        saying so after an answer was lost)."""
        plan = target.plan  # each chunk's body checks the file still has the plan's size
        index = start_chunk
        stalls = 0
        while index < plan.total_chunk_count:
            position = await self._send_chunk(target, index, progress, where)
            if position is None:  # TikTok acknowledged this chunk
                await on_chunk_acked(index)
                index += 1
                stalls = 0
                continue
            resume = _chunk_at(plan, position)
            if resume == index:
                stalls += 1
                if stalls > _MAX_STALLS:
                    raise _restart("TikTok kept refusing the chunk it says it expects")
                await Attempts(self.policy, self.clock, self.rng).pause(
                    TransientError("upload not progressing", platform=PLATFORM))
                continue
            log.info("TikTok holds %d of %d bytes; continuing at chunk %d", position, plan.video_size, resume)
            if resume > index:
                await on_chunk_acked(resume - 1)
            index = resume
            stalls = 0
        if progress is not None:
            progress(plan.video_size, plan.video_size)

    async def _send_chunk(self, target: UploadTarget, index: int, progress: Progress | None,
                          where: BytesHeld | None = None) -> int | None:
        """PUT chunk ``index`` with retries. None when acknowledged, else the server's position
        (bytes it holds) when it says it is somewhere else."""
        attempts = Attempts(self.policy, self.clock, self.rng)
        while True:
            try:
                status, headers = await self._put(target, index, progress)
            except TransientError as err:
                # The chunk may or may not have arrived (even whole, its answer lost): ask before
                # sending it again; a server that does not say is asked by the resend itself.
                log.info("chunk %d of %d failed (%s); retrying", index + 1, target.plan.total_chunk_count, err.code)
                await attempts.pause(err)
                held = await where() if where is not None else None
                if held is not None and held != target.plan.chunk(index).first_byte:
                    return held
                continue
            if status in (201, 206):
                if status == 201 and index < target.plan.total_chunk_count - 1:
                    return _require_position(headers, target.plan)
                return None
            error = chunk_response_error(status)
            if status == 416:
                return _require_position(headers, target.plan)
            if isinstance(error, TransientError):
                await attempts.pause(error)
                continue
            raise error if error is not None else PlatformError(f"unexpected HTTP {status}", platform=PLATFORM)

    async def _put(self, target: UploadTarget, index: int, progress: Progress | None) -> tuple[int, Mapping[str, str]]:
        chunk = target.plan.chunk(index)
        headers = {
            "Content-Type": target.content_type,
            "Content-Length": str(chunk.length),
            "Content-Range": target.plan.content_range(index),
        }
        body = FileRangeBody(target.path, chunk.first_byte, chunk.length, content_type=target.content_type,
                             sent=_reporter(progress, chunk.first_byte, target.plan.video_size),
                             block_size=self.read_size, platform=PLATFORM, file_size=target.plan.video_size)
        try:
            async with self.http.put(URL(target.upload_url, encoded=True), data=body, headers=headers,
                                     timeout=self.timeout) as resp:
                await resp.read()
                return resp.status, resp.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            # aiohttp cancels its body writer on failure; the body closes its file when its read ends.
            truncated = _body_failure(exc)
            if truncated is not None:  # not the network: the file itself changed
                raise truncated from None
            raise translate_client_error(exc, what=f"chunk {index + 1}") from None


def _reporter(progress: Progress | None, first: int, total: int) -> Callable[[int], None]:
    def report(sent: int) -> None:
        if progress is not None:
            progress(first + sent, total)

    return report


def _body_failure(exc: BaseException) -> FileTruncated | None:
    """The body's own error behind aiohttp's connection error, if that is what ended the request."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, FileTruncated):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _chunk_at(plan: ChunkPlan, position: int) -> int:
    """The index of the chunk starting at byte ``position`` (``total_chunk_count`` at the end)."""
    try:
        chunk = plan.chunk_starting_at(position)
    except ValueError:
        raise _restart(f"TikTok holds {position} bytes, which is not a chunk boundary") from None
    return plan.total_chunk_count if chunk is None else chunk.index


def _require_position(headers: Mapping[str, str], plan: ChunkPlan) -> int:
    position = server_position(headers, plan.video_size)
    if position is None:
        raise _restart("TikTok did not say how much of the upload it holds")
    return position


def _restart(reason: str) -> UploadUrlRejected:
    return UploadUrlRejected(f"{reason}; the upload must start again.", code="upload_position_unknown",
                             platform=PLATFORM)
