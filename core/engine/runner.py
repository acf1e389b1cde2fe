"""Running one claimed job to its next resting state, and what each outcome means.

- an ``Outcome``: ``published`` / ``inbox`` (``target_published``);
- ``TransientError``, ``RateLimited`` or another retryable ``PlatformError``: ``queued`` again
  after full-jitter backoff (``retry_after`` as a floor); ``failed`` once attempts or total time
  run out;
- ``StillProcessing``: ``queued`` again after its ``retry_after``, *without* spending an attempt
  (the platform holds the post; it bounds the wait and ends it ``unknown``);
- ``DailyCapReached``: ``deferred`` until ``not_before``, neither failed nor retried in a loop;
- ``AuthError(needs_login=True)``: the account is flagged and the job ``deferred`` until the
  account is updated (its other jobs wait the same way instead of failing one by one);
- ``UncertainOutcome``: ``unknown``, never retried (``target_failed``);
- ``PermanentError``, ``InvalidPost``, anything else: ``failed`` with the reason (``target_failed``);
- ``Cancelled`` from ``ctx.save``: ``cancelled`` when the user asked (``platform.cancel`` is
  called, best effort); otherwise the lease was lost and the new owner carries on alone.

The checkpoint survives every one of these: the next run calls ``publish`` with
``ctx.checkpoint`` set to the last saved value. Every write is fenced by the job's lease, and
a heartbeat renews the lease while ``publish`` runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from crosspost.core.account_store import blocked_key
from crosspost.core.convert import error_info
from crosspost.core.engine.context import RunContext, opened_checkpoint
from crosspost.core.engine.runtime import Runtime
from crosspost.core.engine.validation import PreparedTarget, Preparer
from crosspost.core.errors import (
    AuthError,
    Cancelled,
    CrosspostError,
    DailyCapReached,
    PlatformError,
    StillProcessing,
    TransientError,
    UncertainOutcome,
)
from crosspost.core.models import ErrorInfo, JobStatus, Post, TargetResult
from crosspost.core.platform import Outcome, Platform
from crosspost.storage.base import JobRow, Lease, NewEvent

log = logging.getLogger("crosspost.engine")


class _NeedsLogin(Exception):
    """The job's account was already flagged before the job started."""


class Heartbeat:
    """Renews a running job's lease every ``timing.heartbeat`` seconds until :meth:`stop`.

    A timer, not a task per job: most jobs end before their first beat, and then a job costs one
    timer handle, not a task to create, cancel and wait for. The cadence is the wall clock's on
    purpose (an injected fake clock must not be advanced by a background loop); the lease end is
    computed on the injected clock either way.
    """

    def __init__(self, rt: Runtime, lease: Lease) -> None:
        self._rt = rt
        self._lease = lease
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(rt.timing.heartbeat, self._beat)
        self._renewing: asyncio.Task[None] | None = None

    def _beat(self) -> None:
        self._timer = None
        self._renewing = self._loop.create_task(self._renew())

    async def _renew(self) -> None:
        until = self._rt.clock.now() + timedelta(seconds=self._rt.timing.lease)
        if await self._rt.storage.extend_lease(self._lease, until=until):
            self._timer = self._loop.call_later(self._rt.timing.heartbeat, self._beat)
        else:
            log.warning("lost the lease on job %s; it stops at its next save", self._lease.job_id)

    async def stop(self) -> None:
        """No more beats; a renewal in flight is cancelled (its error, if it failed, is raised)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing


class JobRunner:
    """Runs claimed jobs; one instance serves every job of a worker."""

    def __init__(self, rt: Runtime, preparer: Preparer) -> None:
        self._rt = rt
        self._preparer = preparer

    async def run(self, job: JobRow) -> None:
        """Run ``job`` (claimed, so it carries a lease) until it is final or waits again.

        Cancelling this coroutine (worker shutdown) releases the job, checkpoint kept, so any
        worker resumes it.
        """
        assert job.lease is not None
        heartbeat = Heartbeat(self._rt, job.lease)
        try:
            await self._run(job)
        except asyncio.CancelledError:
            await asyncio.shield(self._release_on_shutdown(job))
            raise
        finally:
            await heartbeat.stop()
            self._rt.changes.notify()

    async def _run(self, job: JobRow) -> None:
        rt = self._rt
        try:
            platform: Platform | None = rt.hooks.platform(job.target.platform)
            unusable: CrosspostError | None = None
        except CrosspostError as exc:
            platform, unusable = None, exc
        account = None
        if platform is not None and platform.needs_account and job.target.account:
            account = rt.accounts.access(job.target.platform, job.target.account)
        try:
            checkpoint = opened_checkpoint(rt, job)
        except CrosspostError as exc:
            # Fail now, with the fix, rather than crash the task and leave the job leased until
            # its lease runs out (then every worker would claim it and crash again).
            await self._fail(RunContext(rt, job, account=account, checkpoint={}), exc)
            return
        ctx = RunContext(rt, job, account=account, checkpoint=checkpoint)
        if job.cancel_requested:
            await self._cancel(ctx, platform)
            return
        # A check this process made at submission stands in for the run's (Preparer.remember),
        # and carries the post as the platform publishes it: the stored body is not read then.
        fresh = self._preparer.take(job.id)
        if ctx.checkpoint:
            fresh = None  # the platform holds part of the post: it is narrowed, not checked again
        post = fresh.post if fresh is not None else await rt.storage.get_post_body(job.post_id)
        if platform is None or post is None:
            await self._fail(ctx, unusable or CrosspostError(f"post {job.post_id} is gone"))
            return
        # The "started" event was written with the claim (Worker: claim_job(log_start=True)).
        ctx.emit(message="resuming" if job.checkpoint else "")
        try:
            outcome = await self._attempt(job, post, platform, ctx, fresh)
        except Cancelled:
            await self._on_cancelled(ctx, platform)
        except Exception as exc:
            await self._on_error(ctx, job, platform, exc)
        else:
            await self._on_outcome(ctx, platform, outcome)

    async def _attempt(self, job: JobRow, post: Post, platform: Platform, ctx: RunContext,
                       fresh: PreparedTarget | None) -> Outcome:
        """One attempt; ``post`` is the stored post, or ``fresh.post`` when ``fresh`` is given."""
        if platform.needs_account:
            assert job.target.account is not None
            # Through the job's access, so the platform's own reads reuse this one.
            account = await (ctx.account.get() if ctx.account is not None
                             else self._rt.accounts.get(job.target.platform, job.target.account))
            if account.needs_login:
                raise _NeedsLogin(f"account {account.key} needs a new login")
        if ctx.checkpoint:
            # The platform already holds part of this post: finish it rather than judge it again.
            ready = await self._preparer.narrow(post, job.target, platform)
        else:
            prepared = fresh or await self._preparer.check(post, job.target, job.target, platform, ctx)
            for warning in prepared.validation.warnings:
                ctx.warn(warning)
            ctx.validation = prepared.validation
            ready = prepared.post
        if ctx.status is JobStatus.VALIDATING:
            # Validated: the job is uploading from here. Written with the platform's first save
            # (every side effect is preceded by one), not as a transaction of its own.
            ctx.next_status = JobStatus.UPLOADING
        return await platform.publish(ready, ctx)

    # -- results -----------------------------------------------------------------------------

    def _result(self, ctx: RunContext, status: JobStatus, *, publish_id: str | None = None,
                post_url: str | None = None, warnings: tuple[str, ...] = (),
                error: ErrorInfo | None = None) -> TargetResult:
        return TargetResult(target=ctx.target, status=status, publish_id=publish_id, post_url=post_url,
                            warnings=warnings, error=error)

    async def _finish(self, ctx: RunContext, result: TargetResult, *, data: dict[str, object]) -> bool:
        rt = self._rt
        event = NewEvent(kind=result.status.value, post_id=ctx.post_id, job_id=ctx.job_id, data=data)
        finished = await rt.storage.finish_job(
            ctx.lease, status=result.status, now=rt.clock.now(), publish_id=result.publish_id,
            post_url=result.post_url, warnings=result.warnings, error=result.error, event=event)
        if not finished:
            log.info("job %s was taken over before it could finish as %s", ctx.job_id, result.status.value)
            return False
        ctx.emit(phase=result.status, message=result.error.message if result.error else "")
        if result.status in (JobStatus.PUBLISHED, JobStatus.INBOX):
            await rt.hooks.target_published(ctx.post_id, result)
        elif result.status in (JobStatus.FAILED, JobStatus.UNKNOWN):
            await rt.hooks.target_failed(ctx.post_id, result)
        return True

    async def _on_outcome(self, ctx: RunContext, platform: Platform, outcome: Outcome) -> None:
        if outcome.status not in (JobStatus.PUBLISHED, JobStatus.INBOX):
            await self._fail(ctx, CrosspostError(
                f"platform {platform.name!r} returned {outcome.status.value!r}; expected published or inbox"))
            return
        try:
            post_url = platform.post_url(outcome, ctx)
        except Exception:
            log.exception("platform %r failed to build a post URL", platform.name)
            post_url = outcome.post_url
        warnings = tuple(dict.fromkeys([*ctx.warnings, *outcome.warnings]))
        result = self._result(ctx, outcome.status, publish_id=outcome.publish_id, post_url=post_url,
                              warnings=warnings)
        await self._finish(ctx, result, data={"publish_id": outcome.publish_id, "post_url": post_url})

    async def _fail(self, ctx: RunContext, exc: BaseException, *, note: str = "") -> None:
        error = error_info(exc)
        if note:
            error = ErrorInfo(code=error.code, message=f"{error.message} ({note})", retryable=error.retryable,
                              field=error.field)
        status = JobStatus.UNKNOWN if isinstance(exc, UncertainOutcome) else JobStatus.FAILED
        await self._finish(ctx, self._result(ctx, status, warnings=tuple(ctx.warnings), error=error),
                           data={"error": error.code})

    async def _on_error(self, ctx: RunContext, job: JobRow, platform: Platform, exc: Exception) -> None:
        if isinstance(exc, DailyCapReached):
            await self._defer(ctx, job, exc)
        elif isinstance(exc, AuthError) and exc.needs_login and ctx.target.account is not None:
            await self._rt.accounts.mark_needs_login(ctx.target.platform, ctx.target.account, str(exc))
            await self._wait_for_login(ctx, job, exc)
        elif isinstance(exc, _NeedsLogin):
            await self._wait_for_login(ctx, job, exc)
        elif isinstance(exc, StillProcessing):
            await self._recheck(ctx, job, exc)
        elif isinstance(exc, PlatformError) and exc.retryable:
            await self._retry(ctx, job, exc)
        else:
            if not isinstance(exc, CrosspostError):
                log.error("job %s (%s) failed with an unexpected error", ctx.job_id, ctx.target, exc_info=exc)
            await self._fail(ctx, exc)

    async def _release(self, ctx: RunContext, job: JobRow, *, status: JobStatus, run_at_seconds: float = 0.0,
                       attempts: int | None = None, error: ErrorInfo | None, blocked_on: str | None = None,
                       kind: str, message: str) -> bool:
        rt = self._rt
        now = rt.clock.now()
        run_at = now + timedelta(seconds=run_at_seconds)
        event = NewEvent(kind=kind, post_id=ctx.post_id, job_id=ctx.job_id,
                         data={"run_at": run_at.isoformat(), "error": error.code if error else None})
        released = await rt.storage.release_job(
            ctx.lease, status=status, run_at=run_at, attempts=job.attempts if attempts is None else attempts,
            now=now, error=error, blocked_on=blocked_on, event=event)
        if released:
            ctx.emit(phase=status, message=message)
        return released

    async def _retry(self, ctx: RunContext, job: JobRow, exc: PlatformError) -> None:
        rt = self._rt
        attempts = job.attempts + 1
        now = rt.clock.now()
        when = rt.retry.retry_at(exc if isinstance(exc, TransientError) else None, attempts=attempts,
                                 started_at=job.started_at, now=now, rng=rt.rng)
        if when is None:
            await self._fail(ctx, exc, note=f"gave up after {attempts} attempt(s)")
            return
        delay = (when - now).total_seconds()
        await self._release(ctx, job, status=JobStatus.QUEUED, run_at_seconds=delay, attempts=attempts,
                            error=error_info(exc), kind="retry",
                            message=f"retrying in {delay:.0f}s (attempt {attempts}): {exc}")

    async def _recheck(self, ctx: RunContext, job: JobRow, exc: StillProcessing) -> None:
        now = self._rt.clock.now()
        when = self._rt.retry.recheck_at(exc, now=now)
        await self._release(ctx, job, status=JobStatus.QUEUED, run_at_seconds=(when - now).total_seconds(),
                            error=error_info(exc), kind="still_processing",
                            message=f"checking again at {when.isoformat()}: {exc}")

    async def _defer(self, ctx: RunContext, job: JobRow, exc: DailyCapReached) -> None:
        now = self._rt.clock.now()
        until = self._rt.retry.defer_until(exc, now=now)
        await self._release(ctx, job, status=JobStatus.DEFERRED, run_at_seconds=(until - now).total_seconds(),
                            error=error_info(exc), kind="deferred",
                            message=f"deferred until {until.isoformat()}: {exc}")

    async def _wait_for_login(self, ctx: RunContext, job: JobRow, exc: Exception) -> None:
        target = ctx.target
        assert target.account is not None
        key = blocked_key(target.platform, target.account)
        error = ErrorInfo(code="needs_login",
                          message=f"account {target} needs a new login; this target runs once the account "
                                  f"is added again (`crosspost accounts add {target.platform} {target.account}`): "
                                  f"{exc}")
        if not await self._release(ctx, job, status=JobStatus.DEFERRED, error=error, blocked_on=key,
                                   kind="needs_login", message=error.message):
            return
        # The user may have logged in between our check and the release: do not wait forever.
        account = await self._rt.accounts.find(target.platform, target.account)
        if account is not None and not account.needs_login:
            await self._rt.storage.unblock_jobs(key, now=self._rt.clock.now())

    # -- cancellation and shutdown -----------------------------------------------------------

    async def _on_cancelled(self, ctx: RunContext, platform: Platform) -> None:
        current = await self._rt.storage.get_job(ctx.job_id)
        if current is not None and current.cancel_requested and current.lease == ctx.lease \
                and current.status.running:
            await self._cancel(ctx, platform)
        else:
            log.info("job %s moved to another worker; this one stops", ctx.job_id)

    async def _cancel(self, ctx: RunContext, platform: Platform | None) -> None:
        if platform is not None:
            try:
                await platform.cancel(ctx)
            except Exception:
                log.exception("best-effort cancel of job %s at %s failed", ctx.job_id, ctx.target)
        await self._finish(ctx, self._result(ctx, JobStatus.CANCELLED, warnings=tuple(ctx.warnings)), data={})

    async def _release_on_shutdown(self, job: JobRow) -> None:
        assert job.lease is not None
        now = self._rt.clock.now()
        released = await self._rt.storage.release_job(
            job.lease, status=JobStatus.QUEUED, run_at=now, attempts=job.attempts, now=now, error=job.error,
            event=NewEvent(kind="released", post_id=job.post_id, job_id=job.id, data={"reason": "shutdown"}))
        if released:
            log.info("released job %s on shutdown; it resumes from its checkpoint", job.id)
