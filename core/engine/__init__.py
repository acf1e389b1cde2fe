"""The durable asyncio engine: jobs per (post, target), leases, retries, deferrals, progress.

Callers use :class:`crosspost.core.hub.Hub`; these modules are its parts:
``runtime`` (shared services), ``validation`` (checks before storing), ``context`` (what a
platform receives), ``runner`` (one job), ``worker`` (the claim loop), ``retry`` (backoff),
``ratelimit`` (shared sliding windows), ``progress`` (events for progress bars and bots) and
``jobs`` (post records).
"""

from crosspost.core.engine.jobs import PostNotFound, PostRecord, PostStateError, aggregate_status
from crosspost.core.engine.progress import ProgressEvent
from crosspost.core.engine.ratelimit import StorageRateGate
from crosspost.core.engine.retry import RetryPolicy
from crosspost.core.engine.runtime import Timing

__all__ = [
    "PostNotFound",
    "PostRecord",
    "PostStateError",
    "ProgressEvent",
    "RetryPolicy",
    "StorageRateGate",
    "Timing",
    "aggregate_status",
]
