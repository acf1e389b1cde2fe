"""The upload under test: a padded MP4 on disk, and crosspost's own uploader sending it.

The video is a real, playable MP4 from :func:`crosspost.testing.media.make_video`, grown to
the wanted size with a trailing ISO BMFF ``free`` box (players skip it). ``make_video`` writes
that padding as a hole (a sparse file): reading a hole costs the kernel a page of zeros and no
disk, which flatters the reader. :func:`prepare_video` with ``fill=True`` therefore writes real
bytes into the free box (the file stays a valid MP4) and reads the whole file once, so every
client then reads the same warm page cache: the figures measure the upload path, not the disk.
The memory benchmark keeps the file sparse (RSS does not depend on where the bytes come from).
"""

from __future__ import annotations

import asyncio
import os
import time
import zlib
from pathlib import Path

import aiohttp

from crosspost.core.clock import SystemClock
from crosspost.plugins.tiktok.chunks import ChunkPlan, plan_chunks
from crosspost.plugins.tiktok.upload import ChunkUploader, UploadTarget

CONTENT_TYPE = "video/mp4"
FILL_BLOCK = 4 * 1024 * 1024
MIB = 1024 * 1024
GIB = 1024 * MIB


def prepare_video(path: Path, size: int, *, fill: bool) -> int:
    """Write a valid MP4 of exactly ``size`` bytes at ``path``; return the CRC-32 of its bytes.

    ``fill`` replaces the sparse padding with real (pseudo-random) bytes and leaves the file in
    the page cache; without it the file stays sparse and the CRC is not computed (0).
    """
    from crosspost.testing.media import make_video  # PyAV and Pillow: only where a video is made

    unpadded = make_video(path).stat().st_size
    make_video(path, pad_to=size)
    if not fill:
        return 0
    header = 8 if size - unpadded < 2**32 else 16
    block = bytearray(os.urandom(FILL_BLOCK))
    with path.open("r+b") as file:
        file.seek(unpadded + header)
        left = size - unpadded - header
        stamp = 0
        while left > 0:
            block[:8] = stamp.to_bytes(8, "big")  # no two blocks alike
            file.write(memoryview(block)[: min(left, FILL_BLOCK)])
            left -= FILL_BLOCK
            stamp += 1
    return file_crc32(path)


def file_crc32(path: Path) -> int:
    """CRC-32 of the whole file (also warms the page cache for the runs that follow)."""
    crc = 0
    with path.open("rb") as file:
        while block := file.read(FILL_BLOCK):
            crc = zlib.crc32(block, crc)
    return crc


def plan_for(size: int) -> ChunkPlan:
    """TikTok's chunk plan as crosspost makes it (default 32 MiB chunks)."""
    return plan_chunks(size)


async def crosspost_upload(path: Path, url: str, plan: ChunkPlan) -> float:
    """Send ``path`` to ``url`` exactly as the TikTok platform does (``ChunkUploader`` on one
    shared ``aiohttp.ClientSession``, a checkpoint callback after each chunk); return the
    seconds from the first connection to the last answer (session set-up excluded)."""

    async def acked(index: int) -> None:
        del index  # the platform saves its checkpoint here; the benchmark has nothing to save

    async with aiohttp.ClientSession() as http:
        uploader = ChunkUploader(http, clock=SystemClock())
        target = UploadTarget(path=path, plan=plan, content_type=CONTENT_TYPE, upload_url=url)
        started = time.perf_counter()
        await uploader.upload(target, on_chunk_acked=acked)
        return time.perf_counter() - started


def run_crosspost_upload(path: Path, url: str, plan: ChunkPlan) -> float:
    return asyncio.run(crosspost_upload(path, url, plan))
