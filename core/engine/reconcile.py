"""Reconciling a target whose outcome is ``unknown``: the user looked, and says what happened.

``unknown`` (:attr:`~crosspost.core.models.JobStatus.UNKNOWN`) is where crosspost parks a target
when a request that may have published got no answer, or the platform stopped saying (TikTok: a
lost init answer for media by URL; an interrupted upload TikTok cannot account for; still
processing after its 24 h window). crosspost never guesses ``failed`` or ``published`` there, and
never sends the post again by itself (that could post twice). The user checks the account (the
message says where) and records the answer here: ``published`` with the post's link, or
``failed`` (then posting again is safe). Only an ``unknown`` target changes, once; the event log
keeps who decided (``reconciled``).
"""

from __future__ import annotations

from crosspost.core.clock import Clock
from crosspost.core.engine.jobs import PostNotFound, PostStateError
from crosspost.core.models import ErrorInfo, JobStatus
from crosspost.storage.base import JobRow, NewEvent, Storage


async def unknown_jobs(storage: Storage, post_id: str) -> list[JobRow]:
    """The post's targets whose outcome is unknown (PostNotFound for an unknown id)."""
    row = await storage.get_post(post_id)
    if row is None:
        raise PostNotFound(f"no post {post_id!r}; `crosspost list --status unknown` shows posts to reconcile")
    return [job for job in row.jobs if job.status is JobStatus.UNKNOWN]


def pick(jobs: list[JobRow], post_id: str, target: str | None) -> JobRow:
    """The one unknown target the user means (``target`` like ``tiktok:main`` when there are several)."""
    if target is not None:
        jobs = [job for job in jobs if str(job.target) == target]
    if not jobs:
        which = f" for target {target}" if target else ""
        raise PostStateError(f"post {post_id} has no target whose outcome is unknown{which}; "
                             f"`crosspost status {post_id}` shows where each stands")
    if len(jobs) > 1:
        names = ", ".join(str(job.target) for job in jobs)
        raise PostStateError(f"post {post_id} has several unknown targets ({names}); name one with --target")
    return jobs[0]


async def reconcile(storage: Storage, clock: Clock, post_id: str, *, published_url: str | None = None,
                    failed: bool = False, target: str | None = None) -> JobRow:
    """Record that the unknown target of ``post_id`` was published (at ``published_url``) or failed.

    Exactly one of ``published_url`` / ``failed``. Returns the job as it was before the change.
    """
    if (published_url is None) == (not failed):
        raise ValueError("reconcile takes either published_url or failed=True")
    job = pick(await unknown_jobs(storage, post_id), post_id, target)
    status = JobStatus.FAILED if failed else JobStatus.PUBLISHED
    error = ErrorInfo(code="reconciled_failed", message=(
        "marked failed by the user after checking the platform (the outcome had been unknown); "
        "posting again is safe")) if failed else None
    event = NewEvent(kind="reconciled", post_id=post_id, job_id=job.id,
                     data={"status": status.value, "post_url": published_url})
    if not await storage.reconcile_job(job.id, status=status, now=clock.now(), post_url=published_url,
                                       error=error, event=event):
        raise PostStateError(f"target {job.target} of post {post_id} changed meanwhile; "
                             f"`crosspost status {post_id}` shows where it stands")
    return job
