"""Durable SQLite commits with one ``fdatasync`` of the WAL for every commit made before it.

The backend runs its transactions on the event loop's own thread (see
:class:`~crosspost.storage.sqlite_shared.SqliteConnection` for why) and commits them with
``synchronous = NORMAL``: in WAL mode such a commit writes its frames to the ``-wal`` file and
returns without flushing. A durable write then waits here for an ``fdatasync`` of that file that
*started after* its commit, which is what ``synchronous = FULL`` does inside the commit: the
frames and the commit record are on the disk before the caller goes on. One flush covers every
commit made before it started, so the writes of one turn of the loop (or, with a slow disk, of
one flush's duration) share it: a group commit at the disk, with no batching of transactions.

Where the flush runs depends on what it costs. Handing it to a thread and back costs ~0.1 ms
of CPU on a small machine (two wake-ups); a flush on an SSD takes about as long. So a disk
whose recent flushes took less than :data:`FAST_FLUSH_S` is flushed right on the loop, at the
end of the turn (the loop stalls for less than that); a slower one (a network volume, a busy
disk) in the flush thread, while the loop goes on. The choice follows a moving average of the
measured flush times, starting from the thread.

One difference from ``FULL``, stated so nobody relies on it: another connection can read a commit
from the moment it is made, up to one flush before it is on the disk. Only a power cut or an OS
crash in between could undo something another process saw; a crash of the process itself loses
nothing (the OS holds the written frames).

Checkpoints (copying the WAL back into the database file) flush twice and copy many pages, so
they stay off the loop and off the flush thread: a thread of their own runs a ``PASSIVE``
checkpoint (it never waits for readers or writers) on a connection of its own at most every
:data:`CHECKPOINT_EVERY` seconds, and the loop's connection checkpoints by itself only past
:data:`BACKSTOP_PAGES`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import sqlite3
import time

log = logging.getLogger("crosspost.storage.sqlite")

FAST_FLUSH_S = 0.002
"""A disk whose flushes average less than this is flushed on the loop (module docstring)."""
CHECKPOINT_EVERY = 0.5
"""Seconds between two background checkpoints (when something was committed)."""
BACKSTOP_PAGES = 1000
"""``wal_autocheckpoint`` of the loop's connection (SQLite's default): a checkpoint on the loop
only when the background ones (which never wait, so may be skipped) fell behind."""


class WalSync:
    """Flushes ``path``'s WAL for the callers of :meth:`durable`, one flush at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._wal = path + "-wal"
        self._fd: int | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpointed_at = time.monotonic()
        self._checkpointing: concurrent.futures.Future[None] | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="crosspost-sqlite-flush")
        # Checkpoints have a thread of their own: one (two flushes, many pages) must never hold
        # up the next commit's flush behind it.
        self._checkpoints = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="crosspost-sqlite-checkpoint")
        self._asked = 0
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._pending: asyncio.Handle | asyncio.Task[None] | None = None
        self.flush_s = 1.0
        """Moving average of the flush times measured (seconds); starts slow, so in the thread."""
        self.flushes = 0
        """Flushes done (for tests and benchmarks: fewer than durable commits when they overlap)."""

    async def durable(self) -> None:
        """Return once everything committed before this call is on the disk."""
        self._asked += 1
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((self._asked, waiter))
        if self._pending is None:
            loop = asyncio.get_running_loop()
            if self.flush_s < FAST_FLUSH_S:
                self._pending = loop.call_soon(self._flush_on_loop)
            else:
                self._pending = loop.create_task(self._flush_in_thread())
        await waiter

    async def close(self) -> None:
        """Finish the flush in flight (its callers are waiting), then release the file and thread."""
        if isinstance(self._pending, asyncio.Task):
            await asyncio.gather(self._pending, return_exceptions=True)
        elif self._pending is not None:
            self._pending.cancel()
            self._flush_on_loop()
        self._checkpoints.shutdown(wait=True)  # the checkpoint in progress, if any, ends first
        await asyncio.get_running_loop().run_in_executor(self._thread, self._release)
        self._thread.shutdown(wait=True)

    def _flush_on_loop(self) -> None:
        self._pending = None
        covered = self._asked
        error: BaseException | None = None
        try:
            self._flush()
        except Exception as exc:  # handed to every caller it concerns
            error = exc
        self._wake(covered, error)

    async def _flush_in_thread(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                covered = self._asked  # every commit before this instant is in the file already
                error: BaseException | None = None
                try:
                    await loop.run_in_executor(self._thread, self._flush)
                except BaseException as exc:  # handed to every caller it concerns
                    error = exc
                self._wake(covered, error)
                if isinstance(error, asyncio.CancelledError):
                    raise error
        finally:
            self._pending = None

    def _wake(self, covered: int, error: BaseException | None) -> None:
        done = [w for w in self._waiting if w[0] <= covered]
        self._waiting = [w for w in self._waiting if w[0] > covered]
        for _, waiter in done:
            _finish(waiter, error)
        if error is None and time.monotonic() - self._checkpointed_at >= CHECKPOINT_EVERY:
            self._checkpoint_soon()

    def _flush(self) -> None:
        """Runs on the loop or in the flush thread (never both at once: one flush at a time)."""
        started = time.perf_counter()
        os.fdatasync(self._open())
        self.flush_s = 0.8 * self.flush_s + 0.2 * (time.perf_counter() - started)
        self.flushes += 1

    def _open(self) -> int:
        """The WAL's descriptor, opened once: while this connection is open the file stays (SQLite
        deletes it when the last connection closes, and leaving WAL mode needs the only one)."""
        if self._fd is None:
            self._fd = os.open(self._wal, os.O_RDONLY)
        return self._fd

    # -- checkpoints, in their own thread ----------------------------------------------------

    def _checkpoint_soon(self) -> None:
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointed_at = time.monotonic()
            self._checkpointing = self._checkpoints.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._checkpointer is None:
                self._checkpointer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # a later one will do it; the backstop bounds the WAL meanwhile
            log.debug("background checkpoint skipped: %s", exc)

    def _release(self) -> None:
        self._release_fd()
        if self._checkpointer is not None:
            with contextlib.suppress(sqlite3.Error):
                self._checkpointer.close()
            self._checkpointer = None

    def _release_fd(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _finish(waiter: asyncio.Future[None], error: BaseException | None) -> None:
    if waiter.done():
        return  # its caller stopped waiting
    if error is None:
        waiter.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        waiter.cancel()
    else:
        waiter.set_exception(error)
