"""Client-side rate limits whose state lives in the database, so every process shares them.

An in-memory limiter cannot hold a per-token limit once two workers use the same token, and a
leaky bucket such as ``aiolimiter.AsyncLimiter(6, 60)`` admits 11 calls inside one 60 s window
(measured, ``shared/RELIABILITY.md``). Each call here is a row in ``rate_events``; admission
counts the rows of the last ``window`` seconds, a true sliding window.

A platform counts a request when it arrives, on its own clock; we can only know when we sent it
and when the answer came. So a call counts from its send until its answer (``answered`` moves
its row to the answer time), callers add a margin to the window for clock skew, and a platform's
"rate limit exceeded" fills the shared window (``refused``): its count beats ours.
"""

from __future__ import annotations

from datetime import datetime

from crosspost.core.clock import Clock
from crosspost.storage.base import Storage


class StorageRateGate:
    """The engine's :class:`~crosspost.core.platform.RateGate`, backed by storage."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def acquire(self, key: str, *, limit: int, window: float) -> datetime:
        """Wait (on the injected clock) until one more call under ``key`` fits within ``limit``
        calls per ``window`` seconds, then record it; return the instant it was recorded at
        (for :meth:`answered`)."""
        while True:
            now = self._clock.now()
            wait = await self._storage.try_acquire_rate(key, limit=limit, window=window, now=now)
            if wait <= 0:
                return now
            await self._clock.sleep(wait)

    async def answered(self, key: str, *, admitted_at: datetime) -> None:
        """The call admitted at ``admitted_at`` got its answer (or failed) now: it counts from now,
        since the platform counted it on arrival, somewhere between our send and its answer."""
        await self._storage.settle_rate(key, at=admitted_at, now=self._clock.now())

    async def refused(self, key: str, *, limit: int, window: float) -> None:
        """The platform said the window is full: believe it, for every process sharing ``key``."""
        await self._storage.fill_rate(key, limit=limit, window=window, now=self._clock.now())

    async def try_acquire(self, key: str, *, limit: int, window: float) -> float:
        """Record a call and return 0.0 if it fits now; else record nothing and return the
        seconds until a slot frees (for caps where waiting is not an option: defer instead)."""
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        return await self._storage.try_acquire_rate(key, limit=limit, window=window, now=self._clock.now())

    async def used(self, key: str, *, window: float) -> int:
        """Calls recorded under ``key`` in the last ``window`` seconds (to warn before a cap)."""
        return await self._storage.rate_usage(key, window=window, now=self._clock.now())
