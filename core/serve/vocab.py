"""Internal states in each service's words (rest-api.md §4.1, table 3).

A crash that left the outcome unknown is never called published: Zernio and its family read it
as ``publishing``, RelayAPI's delivery state is ``unknown``, PostPost's ``processing``.
"""

from __future__ import annotations

from collections.abc import Sequence

from crosspost.core.models import JobStatus, TargetResult

WAITING = frozenset({JobStatus.SCHEDULED})
PENDING = frozenset({JobStatus.QUEUED, JobStatus.DEFERRED})
ACTIVE = frozenset({JobStatus.VALIDATING, JobStatus.UPLOADING, JobStatus.PROCESSING})
DELIVERED = frozenset({JobStatus.PUBLISHED, JobStatus.INBOX})


def post_state(targets: Sequence[TargetResult], *, draft: bool = False) -> str:
    """The neutral post state: draft, scheduled, publishing, published, inbox, failed, partial,
    cancelled or unknown (some target needs reconciliation)."""
    if draft:
        return "draft"
    statuses = [t.status for t in targets]
    if any(s in ACTIVE or s in PENDING for s in statuses):
        return "publishing"
    if statuses and all(s in WAITING for s in statuses):
        return "scheduled"
    if any(s in WAITING for s in statuses):
        return "publishing"
    if JobStatus.UNCERTAIN in statuses:
        return "unknown"
    delivered = [s for s in statuses if s in DELIVERED]
    failed = [s for s in statuses if s is JobStatus.FAILED]
    if delivered and failed:
        return "partial"
    if failed:
        return "failed"
    if not delivered:
        return "cancelled"
    return "inbox" if all(s is JobStatus.INBOX for s in delivered) else "published"


ZERNIO_POST = {"draft": "draft", "scheduled": "scheduled", "publishing": "publishing", "published": "published",
               "inbox": "published", "failed": "failed", "partial": "partial", "cancelled": "cancelled",
               "unknown": "publishing"}
RELAY_POST = {**ZERNIO_POST, "inbox": "provider_draft", "cancelled": "failed"}
POSTPOST_GROUP = {"draft": "draft", "scheduled": "scheduled", "publishing": "scheduled", "published": "published",
                  "inbox": "published", "failed": "failed", "partial": "partially_published",
                  "cancelled": "failed", "unknown": "scheduled"}
NATIVE_POST = {k: k for k in ZERNIO_POST}


def zernio_target(status: JobStatus) -> str:
    if status in DELIVERED:
        return "published"
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return "failed"
    if status in ACTIVE or status is JobStatus.UNCERTAIN:
        return "publishing"
    return "pending"


def relay_delivery(status: JobStatus) -> str:
    if status in DELIVERED:
        return "succeeded"
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return "failed"
    if status is JobStatus.UNCERTAIN:
        return "unknown"
    if status in ACTIVE:
        return "in_flight"
    return "queued"


def postpost_platform(status: JobStatus) -> str:
    if status in DELIVERED:
        return "published"
    if status in (JobStatus.FAILED, JobStatus.CANCELLED):
        return "failed"
    if status in ACTIVE or status is JobStatus.UNCERTAIN:
        return "processing"
    if status in PENDING:
        return "pending"
    return "scheduled"
