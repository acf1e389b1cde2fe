"""Posts as callers see them: a :class:`PostRecord` built from stored rows, with one status.

A post's status sums up its targets: while anything is still to do it is the most active
target's state (running > queued > deferred > scheduled); once all are final it is ``partial``
when some targets were delivered and others failed, ``failed`` if targets failed and none was
delivered, else ``uncertain`` if any needs reconciliation, ``cancelled`` if all were cancelled,
else ``published`` (or ``inbox`` when every delivered target went to the inbox).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from crosspost.core.errors import CrosspostError
from crosspost.core.models import JobStatus, Post, TargetResult
from crosspost.storage.base import RUNNING, WAITING, JobRow, PostRow


class PostNotFound(CrosspostError):
    """No stored post has this id."""

    code = "not_found"


class PostStateError(CrosspostError):
    """The post's state does not allow the change (editing a post that already started)."""

    code = "conflict"


@attrs.frozen(kw_only=True)
class PostRecord:
    """A stored post and where each of its targets stands."""

    id: str
    post: Post
    status: JobStatus
    created_at: datetime
    run_at: datetime | None
    """When the next waiting target runs (None when nothing waits)."""
    targets: tuple[TargetResult, ...]

    @property
    def done(self) -> bool:
        """Every target reached a final state."""
        return all(t.status.terminal for t in self.targets)


_ACTIVE_ORDER = (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def aggregate_status(statuses: Iterable[JobStatus]) -> JobStatus:
    """One status for a post from its targets' (see the module docstring)."""
    found = list(statuses)
    running = [s for s in found if s in RUNNING]
    if running:
        return running[0]
    for status in _ACTIVE_ORDER:
        if status in found:
            return status
    delivered = [s for s in found if s in (JobStatus.PUBLISHED, JobStatus.INBOX)]
    if JobStatus.FAILED in found and delivered:
        return JobStatus.PARTIAL
    for status in (JobStatus.FAILED, JobStatus.UNCERTAIN):
        if status in found:
            return status
    if not delivered:
        return JobStatus.CANCELLED
    return JobStatus.INBOX if all(s is JobStatus.INBOX for s in delivered) else JobStatus.PUBLISHED


def target_result(job: JobRow) -> TargetResult:
    """The ``targets[]`` entry for one job (a waiting job's error says why it waits)."""
    return TargetResult(target=job.target, status=job.status, publish_id=job.publish_id,
                        post_url=job.post_url, warnings=job.warnings, error=job.error)


def record_from_row(row: PostRow) -> PostRecord:
    waiting = [j.run_at for j in row.jobs if j.status in WAITING and j.blocked_on is None]
    return PostRecord(
        id=row.id,
        post=row.post,
        status=aggregate_status(j.status for j in row.jobs),
        created_at=row.created_at,
        run_at=min(waiting) if waiting else None,
        targets=tuple(target_result(j) for j in row.jobs),
    )
