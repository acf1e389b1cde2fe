"""A byte range of a file as an aiohttp request body, sent from two reused buffers.

Why not an async generator of ``bytes`` (what aiohttp documents)? Each block would be a fresh
allocation: for a 1 GiB video that is a quarter of a million freshly faulted pages, plus the
transport's own copy of what the socket did not take at once, and glibc keeps the freed blocks
mapped (its mmap threshold rises to the block size), so peak memory grew by tens of MiB and the
upload cost far more CPU than curl's. Here the file is read with ``readinto`` into one of two
buffers allocated once per chunk; the block is handed to the transport as a ``memoryview``.

A block the page cache already holds (a video just written or read, the usual case) is copied
on the event loop with ``preadv2(RWF_NOWAIT)``, which never waits for the disk; only a block
that must come from the disk goes to a thread. Each trip to a thread and back costs ~0.1 ms of
CPU on a small machine, 1,024 of them per GiB.

The one rule that keeps the bytes right: a buffer is refilled only when the transport no longer
holds it. asyncio's transports may keep a reference to what was written instead of copying it
(TLS transports always do; plain sockets from Python 3.12). After block *n* is written and
drained, the transport holds at most its low-water mark of the newest bytes (16 KiB plain,
128 KiB TLS, both below a block), so block *n - 1*'s buffer is free and block *n + 1* is read
into it while the kernel's socket buffer keeps the wire busy. Should a transport hold more than
the latest block (limits raised by someone), a fresh buffer is used instead of the held one.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import ClientConnectionResetError
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from crosspost.core.errors import PermanentError

BLOCK_SIZE = 1024 * 1024
"""Bytes per read from disk and per write to the socket: two such buffers are all a chunk holds."""


class FileTruncated(PermanentError):
    """The file got shorter while it was being sent."""


class FileRangeBody(Payload):
    """``length`` bytes of ``path`` from byte ``first``; ``sent(n)`` after each block is flushed.

    One-shot: once writing starts it is ``consumed``, so aiohttp never re-sends it on its own
    (it replays idempotent requests when a kept-alive connection drops). Whether a chunk is sent
    again is the uploader's decision, after asking TikTok what it holds.
    """

    _autoclose = True  # the file is opened and closed by each write, nothing is left to close

    def __init__(self, path: Path, first: int, length: int, *, content_type: str,
                 sent: Callable[[int], None], block_size: int = BLOCK_SIZE, platform: str = "",
                 file_size: int | None = None) -> None:
        super().__init__(path, content_type=content_type)
        self._size = length
        self.path = path
        self.first = first
        self.length = length
        self.block_size = max(1, min(block_size, length))
        self._sent = sent
        self._platform = platform
        self._nowait = _CAN_READ_CACHED
        self.file_size = file_size
        """The size the whole file must have (the upload's plan), checked when it is opened."""

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a file body is binary; it has no text form")

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        """Send the range (or its first ``content_length`` bytes), one block at a time."""
        total = self.length if content_length is None else min(self.length, content_length)
        self._consumed = True
        loop = asyncio.get_running_loop()
        buffers = [memoryview(bytearray(self.block_size)), memoryview(bytearray(self.block_size))]
        # Opening the file and reading its first block: one trip to a thread, not two.
        handle, count, size = await loop.run_in_executor(None, _open_and_fill, self.path, self.first,
                                                         buffers[0][: min(self.block_size, total)])
        if self.file_size is not None and size != self.file_size:
            handle.close()
            raise FileTruncated(f"the video file changed size during the upload ({self.file_size} -> {size} "
                                "bytes); post it again.", code="file_changed", platform=self._platform)
        reading: asyncio.Future[int] = loop.create_future()
        reading.set_result(count)
        done = turn = 0
        try:
            while done < total:
                count = await reading
                if count == 0:
                    raise FileTruncated("the video file became shorter during the upload; post it again.",
                                        code="file_changed", platform=self._platform)
                await writer.write(buffers[turn][:count])
                await writer.drain()  # below the transport's low-water mark (or not paused at all)
                done += count
                self._sent(done)
                turn ^= 1
                if _still_held(writer, count):  # an unusual transport: never refill what it holds
                    buffers[turn] = memoryview(bytearray(self.block_size))
                ahead = min(self.block_size, total - done)
                if ahead:
                    reading = self._read(loop, handle, buffers[turn][:ahead], self.first + done)
        finally:
            # A read may still be running in its thread (the send failed or was cancelled):
            # the file is closed once it ends, and its outcome is consumed, never left dangling.
            reading.add_done_callback(lambda read: (read.cancelled() or read.exception(), handle.close()))

    def _read(self, loop: asyncio.AbstractEventLoop, handle: BinaryIO, view: memoryview,
              offset: int) -> asyncio.Future[int]:
        """Fill ``view`` from ``offset``: right here if the page cache holds the bytes (a read
        that cannot wait for the disk, ``RWF_NOWAIT``), else in a thread, as a thread hand-off
        costs more CPU than copying a cached block (~0.1 ms each, 1,024 per GiB)."""
        got = _cached_read(handle, view, offset) if self._nowait else 0
        if got is None:  # the file system cannot say: always use the thread from now on
            self._nowait, got = False, 0
        if got == len(view):
            ready: asyncio.Future[int] = loop.create_future()
            ready.set_result(got)
            return ready
        return loop.run_in_executor(None, _fill_from, handle, view[got:], offset + got, got)

def _still_held(writer: AbstractStreamWriter, latest: int) -> bool:
    """Whether the transport may still hold bytes written before the latest ``latest`` bytes.

    It queues the newest bytes last, so if it holds fewer than ``latest`` bytes, everything
    written before them is gone (to the kernel, or encrypted into TLS's own buffer). A TLS
    transport counts encrypted bytes, a little more than the plaintext: the answer errs safe.
    """
    transport: Any = getattr(writer, "transport", None)
    if transport is None:
        raise ClientConnectionResetError("Cannot write to closing transport")
    return int(transport.get_write_buffer_size()) >= latest


_CAN_READ_CACHED = hasattr(os, "preadv") and hasattr(os, "RWF_NOWAIT")
"""Linux (4.14+): ``preadv2`` with ``RWF_NOWAIT`` reads only what the page cache holds."""


def _open_and_fill(path: Path, first: int, view: memoryview) -> tuple[BinaryIO, int, int]:
    """The open file, the bytes read into ``view`` from ``first``, and the file's size."""
    handle = path.open("rb", buffering=0)
    try:
        return handle, _fill_from(handle, view, first), os.fstat(handle.fileno()).st_size
    except BaseException:
        handle.close()
        raise


def _cached_read(handle: BinaryIO, view: memoryview, offset: int) -> int | None:
    """The bytes of ``view`` the page cache could give at once (0 if none, or at the end of the
    file: the thread's read then says which); None if the file system does not support asking."""
    try:
        return os.preadv(handle.fileno(), [view], offset, os.RWF_NOWAIT)
    except BlockingIOError:
        return 0
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            return None
        raise


def _fill_from(handle: BinaryIO, view: memoryview, offset: int, already: int = 0) -> int:
    """Fill ``view`` from byte ``offset`` (several reads if the OS returns less); returns
    ``already`` + what was read, which stops short only at the end of the file."""
    handle.seek(offset)
    return already + _fill(handle, view)


def _fill(handle: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``handle`` (several reads if the OS returns less); 0 only at end of file."""
    filled = 0
    while filled < len(view):
        count = handle.readinto(view[filled:])  # type: ignore[attr-defined]
        if not count:
            break
        filled += count
    return filled
