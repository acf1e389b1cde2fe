"""The storage contract: what the engine, the hub and the account store need from a database.

A backend (SQLite now, PostgreSQL later) implements :class:`Storage` and maps its rows onto the
frozen row models below. Times are timezone-aware UTC datetimes at this boundary; every method
that depends on *now* takes it as an argument, so the engine's injected clock is the only clock.

Rules every backend keeps (the contract tests in ``tests/storage`` check them):

* each method is one short transaction; state change and its event-log entry commit together;
* :meth:`Storage.claim_job` hands a due job to exactly one caller, also across processes;
* every update of a running job is *fenced* by its :class:`Lease` (owner + fencing token): once
  another worker claimed the job, the old holder's updates change nothing and return False;
* a job whose lease expired is claimable again (its worker is presumed dead).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from crosspost.core.models import ErrorInfo, JobStatus, Post, Target

WAITING = frozenset({JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.DEFERRED})
"""Job states that wait for their ``run_at`` (and, when ``blocked_on`` is set, for an event)."""
RUNNING = frozenset({JobStatus.VALIDATING, JobStatus.UPLOADING, JobStatus.PROCESSING})
"""Job states held under a lease by a worker."""


@attrs.frozen(kw_only=True)
class Lease:
    """Proof that a worker holds a job: owner id plus the fencing token of its claim.

    The token grows with every claim of the job, so a worker that was paused past its lease and
    resumes holds a stale token, and its updates are refused.
    """

    job_id: str
    owner: str
    token: int


@attrs.frozen(kw_only=True)
class NewEvent:
    """An event-log entry to write (never holding a secret)."""

    kind: str
    """What happened: ``submitted``, ``started``, ``status``, ``retry``, ``deferred``, ``published``…"""
    post_id: str
    job_id: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class EventRow:
    """A stored event-log entry."""

    id: int
    at: datetime
    kind: str
    post_id: str
    job_id: str | None
    data: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class NewJob:
    """A job to create with its post: one per (post, target)."""

    id: str
    target: Target
    """The target with its account resolved (``tiktok:main``, never just ``tiktok`` when the
    platform needs an account)."""
    status: JobStatus
    """SCHEDULED, QUEUED or DEFERRED."""
    run_at: datetime
    warnings: tuple[str, ...] = ()
    error: ErrorInfo | None = None
    """Why the job starts deferred, when it does."""


@attrs.frozen(kw_only=True)
class NewPost:
    """A post to store with its jobs."""

    id: str
    post: Post
    created_at: datetime
    jobs: tuple[NewJob, ...]


@attrs.frozen(kw_only=True)
class JobRow:
    """One stored job."""

    id: str
    post_id: str
    position: int
    """The job's index among its post's jobs (the order of the post's targets)."""
    target: Target
    status: JobStatus
    run_at: datetime
    """Not before this instant (scheduled time, retry backoff, deferral end)."""
    attempts: int
    """Failed tries counted against the retry policy (a crash or a lease takeover is no attempt)."""
    lease: Lease | None
    """Who holds the job; None when no worker ever claimed it or it was released."""
    lease_until: datetime | None
    cancel_requested: bool
    blocked_on: str | None
    """An event the job waits for besides time (``account:tiktok:main`` while it needs a login)."""
    checkpoint: Mapping[str, Any]
    publish_id: str | None
    post_url: str | None
    warnings: tuple[str, ...]
    error: ErrorInfo | None
    started_at: datetime | None
    """First claim; retries are bounded in total time from here."""
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


@attrs.frozen(kw_only=True)
class PostRow:
    """One stored post (the user's post as submitted, or as last edited) with all its jobs."""

    id: str
    post: Post
    created_at: datetime
    updated_at: datetime
    jobs: tuple[JobRow, ...]


@attrs.frozen(kw_only=True)
class AccountRow:
    """One stored account. ``secrets`` is the encrypted blob; storage never sees plaintext."""

    platform: str
    name: str
    secrets: bytes = attrs.field(repr=False)
    profile: Mapping[str, Any] = attrs.field(factory=dict)
    scopes: tuple[str, ...] = ()
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    needs_login: bool = False
    login_reason: str | None = None
    version: int = 1
    created_at: datetime
    updated_at: datetime


class Storage(Protocol):
    """Everything crosspost stores. One instance per process, shared by all tasks."""

    backend: str
    """Short backend name (``sqlite``, ``postgresql``)."""

    async def close(self) -> None:
        """Release connections. The instance is unusable afterwards."""
        ...

    # -- schema ------------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        """Apply pending migrations; return their names (empty when up to date)."""
        ...

    async def pending_migrations(self) -> list[str]:
        """Names of migrations not yet applied."""
        ...

    # -- posts -------------------------------------------------------------------------------

    async def insert_post(self, new: NewPost, *, event: NewEvent | None = None) -> tuple[PostRow, bool]:
        """Store a post and its jobs; ``(row, True)``. When a post with the same
        ``idempotency_key`` exists, nothing is written and ``(that post, False)`` is returned."""
        ...

    async def find_post_by_key(self, idempotency_key: str) -> PostRow | None:
        ...

    async def get_post(self, post_id: str) -> PostRow | None:
        ...

    async def get_post_body(self, post_id: str) -> Post | None:
        """The post alone, without its jobs: one read (what a job's run needs)."""
        ...

    async def list_posts(self, *, status: JobStatus | None = None, limit: int = 100) -> list[PostRow]:
        """Newest first (ties in insertion order, latest first); with ``status``, only posts with
        at least one job in that state."""
        ...

    async def replace_post(self, post_id: str, post: Post, jobs: Sequence[NewJob], *, now: datetime,
                           event: NewEvent | None = None) -> PostRow | None:
        """Replace a post and all its jobs, only while every job is still SCHEDULED and
        unclaimed; None (and nothing written) otherwise."""
        ...

    async def reschedule_post(self, post_id: str, post: Post, run_at: datetime, *, now: datetime,
                              event: NewEvent | None = None) -> PostRow | None:
        """Store ``post`` (its new ``scheduled_at``) and move every waiting job to ``run_at``
        (SCHEDULED when in the future, else QUEUED; jobs blocked on an event stay DEFERRED).
        None (and nothing written) when no job is waiting."""
        ...

    async def cancel_post(self, post_id: str, *, now: datetime,
                          event: NewEvent | None = None) -> list[JobRow]:
        """Cancel waiting jobs at once and flag running ones (``cancel_requested``: their
        worker stops at its next save). Returns the jobs changed; terminal jobs stay as they are."""
        ...

    async def retry_failed(self, post_id: str, *, now: datetime,
                           event: NewEvent | None = None) -> list[JobRow]:
        """Queue the post's ``failed`` jobs again, due at ``now``: attempts and error cleared, the
        checkpoint kept (a platform resumes from it instead of redoing what it already did). Jobs
        in any other state stay as they are. Returns the jobs queued, in target order; ``event``
        is logged in the same transaction when any job changed."""
        ...

    # -- jobs --------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobRow | None:
        ...

    async def claim_job(self, owner: str, *, now: datetime, lease_until: datetime,
                        post_id: str | None = None, log_start: bool = False) -> JobRow | None:
        """Atomically take one due job: a waiting, unblocked job with ``run_at <= now``, or a
        running job whose lease expired and whose owner is not ``owner``. Its status becomes
        VALIDATING if it was waiting (running jobs keep theirs), its fencing token grows, and
        the returned row carries the new :class:`Lease`. None when nothing is due.

        With ``log_start``, a ``started`` event (data: ``owner``, ``token``, ``resumed`` = the
        job had a checkpoint) is written in the same transaction as the claim."""
        ...

    async def extend_lease(self, lease: Lease, *, until: datetime) -> bool:
        """Heartbeat. False when the lease was lost (fenced)."""
        ...

    async def save_checkpoint(self, lease: Lease, checkpoint: Mapping[str, Any], *,
                              status: JobStatus | None, now: datetime, lease_until: datetime,
                              event: NewEvent | None = None, publish_id: str | None = None,
                              durable: bool = True) -> bool:
        """Store the checkpoint (and a running status), extending the lease. False, writing
        nothing, when the lease was lost *or the job's cancellation was requested*. A
        ``publish_id`` (the platform's id of the publish in flight) is stored in the job's
        column, so :meth:`find_job_by_publish_id` finds the job while it is still processing.

        ``durable=False`` (a save the platform can redo: ``JobContext.save``) lets a backend
        return before the commit is on the disk; it is committed and visible at once, and a later
        durable write of the same database takes it to the disk with it."""
        ...

    async def release_job(self, lease: Lease, *, status: JobStatus, run_at: datetime, attempts: int,
                          now: datetime, error: ErrorInfo | None = None, blocked_on: str | None = None,
                          event: NewEvent | None = None) -> bool:
        """Give a running job back as waiting (QUEUED for a retry, DEFERRED for a cap or a
        login), keeping its checkpoint. Fenced: False when the lease was lost."""
        ...

    async def finish_job(self, lease: Lease, *, status: JobStatus, now: datetime,
                         publish_id: str | None = None, post_url: str | None = None,
                         warnings: Sequence[str] = (), error: ErrorInfo | None = None,
                         event: NewEvent | None = None) -> bool:
        """Move a running job to a terminal state. Fenced: False when the lease was lost."""
        ...

    async def next_wakeup(self, *, post_id: str | None = None, owner: str | None = None) -> datetime | None:
        """The earliest instant at which some job may need a worker: the ``run_at`` of a
        waiting, unblocked job or the ``lease_until`` of a job running under another owner than
        ``owner``. None when every job is terminal, blocked, or running under ``owner``."""
        ...

    async def unblock_jobs(self, blocked_on: str, *, now: datetime) -> int:
        """Queue every job waiting on ``blocked_on`` to run now; return how many."""
        ...

    async def reconcile_job(self, job_id: str, *, status: JobStatus, now: datetime, post_url: str | None = None,
                            error: ErrorInfo | None = None, event: NewEvent | None = None) -> bool:
        """Record what the user found for a job whose outcome was ``unknown``: ``published``
        (with its ``post_url``) or ``failed`` (with ``error``). Only an ``unknown`` job changes
        (False otherwise); no lease is involved, as nothing runs an unknown job."""
        ...

    async def find_job_by_publish_id(self, publish_id: str) -> JobRow | None:
        """The job whose platform publish id is ``publish_id`` (the newest when several are)."""
        ...

    async def hurry_job(self, job_id: str, *, now: datetime, event: NewEvent | None = None) -> bool:
        """Make a waiting, unblocked job due at ``now`` (``run_at`` only; status, attempts and
        checkpoint stay). Running (leased) and terminal jobs are left alone: False then, and
        when the job is already due. ``event`` is logged in the same transaction either way
        the job exists."""
        ...

    # -- accounts ----------------------------------------------------------------------------

    async def insert_account(self, row: AccountRow) -> bool:
        """False (nothing written) when the account exists."""
        ...

    async def get_account(self, platform: str, name: str) -> AccountRow | None:
        ...

    async def list_accounts(self, platform: str | None = None) -> list[AccountRow]:
        """Ordered by platform, then name."""
        ...

    async def update_account(self, row: AccountRow, *, expected_version: int) -> bool:
        """Write ``row`` (whose ``version`` is the new one) only if the stored version is
        ``expected_version``; False otherwise."""
        ...

    async def delete_account(self, platform: str, name: str) -> bool:
        ...

    async def set_needs_login(self, platform: str, name: str, reason: str, *, now: datetime) -> bool:
        """Flag the account (bumping its version); False when it does not exist."""
        ...

    # -- event log ---------------------------------------------------------------------------

    async def add_event(self, event: NewEvent, *, now: datetime) -> None:
        ...

    async def list_events(self, *, post_id: str | None = None, job_id: str | None = None,
                          limit: int = 1000) -> list[EventRow]:
        """Oldest first."""
        ...

    # -- shared rate windows and locks -------------------------------------------------------

    async def try_acquire_rate(self, key: str, *, limit: int, window: float, now: datetime) -> float:
        """Sliding window shared by every process: record one call under ``key`` and return 0.0
        when fewer than ``limit`` calls happened in the last ``window`` seconds; otherwise record
        nothing and return the seconds (from ``now``) until a slot frees. Calls are recorded in
        order: one whose ``now`` is behind the latest recorded call counts as made at that call's
        instant, so no window ever holds more than ``limit`` calls."""
        ...

    async def settle_rate(self, key: str, *, at: datetime, now: datetime) -> None:
        """The call recorded under ``key`` at ``at`` got its answer (or failed) at ``now``: it counts
        from then on. A platform counts a request when it *arrives*, some time between our send
        and the answer, so the answer is the safe end to count from. The row moved is the earliest
        at or after ``at`` (a call recorded behind a later one is recorded at that one's instant);
        moving any row of the key later only ever admits fewer calls. No-op when there is none.

        A backend may commit it with its next call instead of on its own (SQLite does: within
        ~50 ms, with the job's next write, so a platform call costs one commit): every later call
        of this storage sees it; lost only if the process dies first, and then the call counts
        from its send, which the platform's own "too many" answer (:meth:`fill_rate`) covers."""
        ...

    async def fill_rate(self, key: str, *, limit: int, window: float, now: datetime) -> None:
        """The platform answered "rate limit exceeded": its window is full whatever we counted, and
        we cannot know when its oldest call leaves it. So ``limit`` calls are recorded at ``now``
        (fewer if some already are): every process sharing the key waits a whole ``window``."""
        ...

    async def rate_usage(self, key: str, *, window: float, now: datetime) -> int:
        """Calls recorded under ``key`` in the last ``window`` seconds."""
        ...

    async def try_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        """Take (or renew) the named lock for ``owner`` until ``until``; False while another
        owner holds it unexpired."""
        ...

    async def unlock(self, name: str, owner: str) -> None:
        ...


@runtime_checkable
class WakesWorkers(Protocol):
    """Optional backend capability: tell idle workers that work arrived (PostgreSQL's
    ``LISTEN``/``NOTIFY``) so they claim at once instead of at their next poll."""

    async def wait_for_work(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Return True when woken by new or newly waiting work, False after ``timeout`` seconds."""
        ...
