"""``LISTEN``/``NOTIFY`` so idle workers wake when another process makes work due.

Writers call ``pg_notify(channel, '')`` inside the transaction that queues, reschedules, releases
or unblocks a job, so the notification is delivered at commit, never before the row is visible.
:class:`WorkListener` keeps one dedicated connection (outside the pool, so it never holds a pool
slot) listening on the channel, and sets an event that :meth:`WorkListener.wait` returns on.

A wake-up is a hint, not a promise: callers must claim afterwards and may find nothing (another
worker was faster). The event stays set until a waiter consumes it, so a notification that
arrives between a caller's failed claim and its wait is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

log = logging.getLogger("crosspost.storage.postgres")

CHANNEL_PREFIX = "crosspost_work"


def channel_for(schema: str) -> str:
    """The notification channel of one schema (installations in other schemas are not woken)."""
    return f"{CHANNEL_PREFIX}.{schema}"[:63]


class WorkListener:
    """Lazily connects, listens on ``channel`` and reconnects after the connection drops."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], channel: str) -> None:
        self._connect = connect
        self.channel = channel
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._event = asyncio.Event()
        self._closed = False

    async def wait(self, timeout: float | None) -> bool:  # noqa: ASYNC109 - wall-clock wait by design
        """Return True once work may be due (a notification, or a fresh listener that may have
        missed some), False after ``timeout`` seconds without one."""
        if await self._ensure_listening():
            return True
        if not self._event.is_set():
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return False
        self._event.clear()
        return True

    async def _ensure_listening(self) -> bool:
        """Connect and LISTEN if not yet done; True when it just (re)connected."""
        async with self._lock:
            if self._closed:
                raise RuntimeError("the storage is closed")
            if self._conn is not None and not self._conn.is_closed():
                return False
            conn = await self._connect()
            try:
                await conn.add_listener(self.channel, self._notified)
            except BaseException:
                await conn.close()
                raise
            conn.add_termination_listener(self._terminated)
            self._conn = conn
            return True

    def _notified(self, conn: object, pid: int, channel: str, payload: object) -> None:
        self._event.set()

    def _terminated(self, conn: object) -> None:
        if self._closed:
            return
        # Wake waiters: they claim, then wait again, which reconnects.
        log.warning("lost the PostgreSQL LISTEN connection; reconnecting on the next wait")
        self._conn = None
        self._event.set()

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                await conn.remove_listener(self.channel, self._notified)
            await conn.close()
