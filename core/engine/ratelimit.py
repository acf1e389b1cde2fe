"""Client-side rate limits whose state lives in the database, so every process shares them.

An in-memory limiter cannot hold a per-token limit once two workers use the same token, and a
leaky bucket such as ``aiolimiter.AsyncLimiter(6, 60)`` admits 11 calls inside one 60 s window
(measured, ``shared/RELIABILITY.md``). Each call here is a row in ``rate_events``; admission
counts the rows of the last ``window`` seconds, a true sliding window.
"""

from __future__ import annotations

from crosspost.core.clock import Clock
from crosspost.storage.base import Storage


class StorageRateGate:
    """The engine's :class:`~crosspost.core.platform.RateGate`, backed by storage."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def acquire(self, key: str, *, limit: int, window: float) -> None:
        """Wait (on the injected clock) until one more call under ``key`` fits within ``limit``
        calls per ``window`` seconds, then record it."""
        while (wait := await self.try_acquire(key, limit=limit, window=window)) > 0:
            await self._clock.sleep(wait)

    async def try_acquire(self, key: str, *, limit: int, window: float) -> float:
        """Record a call and return 0.0 if it fits now; else record nothing and return the
        seconds until a slot frees (for caps where waiting is not an option: defer instead)."""
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        return await self._storage.try_acquire_rate(key, limit=limit, window=window, now=self._clock.now())

    async def used(self, key: str, *, window: float) -> int:
        """Calls recorded under ``key`` in the last ``window`` seconds (to warn before a cap)."""
        return await self._storage.rate_usage(key, window=window, now=self._clock.now())
