"""When a job that failed transiently runs again, and when the engine gives up on it.

Full-jitter exponential backoff (a delay drawn uniformly from ``[0, min(cap, base * 2**n))``,
AWS's recommendation, also used by Google's resumable-media) spreads retries of many jobs so
they do not return in lock-step. A job is never slept on while it holds a lease: it is released
with a not-before time and any worker may pick it up then.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import attrs

from crosspost.core.errors import DailyCapReached, StillProcessing, TransientError


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Bounds for transient failures: attempts, total time, delay per attempt."""

    base: float = 5.0
    """Upper bound of the first delay, in seconds; it doubles with each attempt."""
    cap: float = 600.0
    """No single delay above this."""
    max_attempts: int = 8
    """Failed tries before the job fails for good."""
    max_elapsed: float = 6 * 3600.0
    """Seconds since the job's first start after which it fails instead of retrying."""
    defer_default: float = 3600.0
    """How long a daily-cap deferral lasts when the platform gives no time."""
    defer_min: float = 60.0
    """Shortest deferral, so a cap reported with a past time cannot loop."""
    recheck_default: float = 60.0
    """How long a job the platform is still processing waits when the platform gives no time."""
    recheck_min: float = 1.0
    """Shortest such wait, so a platform answering ``retry_after=0`` cannot spin a worker."""

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The delay before try number ``attempt + 1`` (``attempt`` >= 1 failures so far)."""
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return rng.uniform(0.0, ceiling)

    def retry_at(self, exc: TransientError | None, *, attempts: int, started_at: datetime | None,
                 now: datetime, rng: random.Random) -> datetime | None:
        """When to run again after ``attempts`` failed tries, or None to give up.

        A ``retry_after`` from the platform (``Retry-After``, a rate window) is a floor: the job
        never comes back before the platform said it may.
        """
        if attempts >= self.max_attempts:
            return None
        delay = self.backoff(attempts, rng)
        retry_after = exc.retry_after if exc is not None else None
        if retry_after is not None:
            delay = max(delay, retry_after)
        when = now + timedelta(seconds=delay)
        if started_at is not None and (when - started_at).total_seconds() > self.max_elapsed:
            return None
        return when

    def recheck_at(self, exc: StillProcessing, *, now: datetime) -> datetime:
        """When a job the platform is still processing looks again. Not a failed attempt, so no
        attempt or total-time bound applies here: the platform bounds the wait itself."""
        wait = self.recheck_default if exc.retry_after is None else max(exc.retry_after, self.recheck_min)
        return now + timedelta(seconds=wait)

    def defer_until(self, exc: DailyCapReached, *, now: datetime) -> datetime:
        """When a job deferred by a posting cap runs again: the platform's ``not_before``, but
        never sooner than ``defer_min`` from now."""
        earliest = now + timedelta(seconds=self.defer_min)
        if exc.not_before is None:
            return now + timedelta(seconds=self.defer_default)
        return max(exc.not_before, earliest)
