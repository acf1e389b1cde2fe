"""Collecting metrics over time: the engine side of :mod:`crosspost.core.metrics`.

Every published target on a platform that declares ``metrics`` gets a task row (found by
:meth:`MetricsCollector.discover`, so the job runner needs no change). A task first *resolves*
the public post id when the publish did not return one (TikTok: ``publicaly_available_post_id``
comes after moderation), asking again on :data:`~crosspost.core.metrics.RESOLVE_AFTER`'s slow
schedule, or at once when a webhook names it. Then it *collects*: one snapshot at each step of
:data:`~crosspost.core.metrics.SNAPSHOT_AFTER`, due targets of one account read in one
``fetch_metrics`` call (the platform batches; TikTok 20 ids a request).

Failures never loop: a missing scope waits :data:`~crosspost.core.metrics.MISSING_SCOPE_RETRY`
(or a reconnect), other errors back off exponentially from a minute to six hours, and a task
that failed :data:`GIVE_UP_AFTER` times in a row is closed with its error kept. Workers run
:meth:`MetricsCollector.run_due` between job claims (at most every :data:`COLLECT_EVERY` seconds).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import attrs

from crosspost.core.convert import error_info
from crosspost.core.engine.runtime import Runtime
from crosspost.core.errors import CrosspostError, TransientError
from crosspost.core.metrics import (
    MISSING_SCOPE_RETRY,
    RESOLVE_AFTER,
    AccountMetrics,
    MetricRef,
    MetricSnapshot,
    MissingScope,
    ResolvedPost,
    next_snapshot_step,
    snapshot_due,
)
from crosspost.core.models import Target
from crosspost.core.platform import AccountAccess, Platform, RateGate
from crosspost.storage.base import JobRow, NewEvent
from crosspost.storage.metrics import (
    COLLECTING,
    DONE,
    RESOLVING,
    AccountSnapshotRow,
    MetricStore,
    MetricTaskRow,
    NewMetricTask,
    SnapshotRow,
    TaskUpdate,
    metric_store,
)

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.clock import Clock
    from crosspost.core.settings import Settings

log = logging.getLogger("crosspost.engine.metrics")

COLLECT_EVERY = 60.0
"""Seconds (on the engine clock) between two metrics rounds of one worker."""
GIVE_UP_AFTER = 8
"""Failed tries in a row after which a task is closed (its last error kept)."""
NOT_FOUND_RETRY = timedelta(hours=6)
PUBLIC_OUTCOMES = frozenset({"public", "publicly_available"})
"""``apply_platform_event`` outcomes that name a post's public id."""


@attrs.frozen(kw_only=True)
class MetricsRound:
    """What one :meth:`MetricsCollector.run_due` did (for logs and tests)."""

    discovered: int = 0
    snapshots: int = 0
    resolved: int = 0
    failed: int = 0


@attrs.define(kw_only=True)
class _Context:
    """A :class:`~crosspost.core.metrics.MetricsContext` over the runtime, for one account."""

    settings: Settings
    http: aiohttp.ClientSession
    clock: Clock
    rate: RateGate
    log: logging.Logger
    account: AccountAccess


def ref_of(task: MetricTaskRow) -> MetricRef:
    return MetricRef(job_id=task.job_id, post_id=task.post_id, target=task.target, publish_id=task.publish_id,
                     platform_post_id=task.platform_post_id, post_url=task.post_url, published_at=task.published_at)


def backoff(attempts: int) -> timedelta:
    """One minute doubling per failure, at most six hours."""
    return timedelta(seconds=min(60.0 * 2 ** max(attempts - 1, 0), 6 * 3600.0))


class MetricsCollector:
    """Discovers, resolves and collects; one per hub, used by every worker of the process."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._last: float | None = None

    @property
    def store(self) -> MetricStore:
        return metric_store(self._rt.storage)

    def _platforms(self) -> dict[str, Platform]:
        return {name: p for name, p in self._rt.hooks.platforms().items() if p.metrics}

    def context(self, target: Target) -> _Context:
        assert target.account is not None
        rt = self._rt
        return _Context(settings=rt.settings, http=rt.http, clock=rt.clock, rate=rt.rate,
                        log=logging.getLogger(f"crosspost.platform.{target.platform}"),
                        account=rt.accounts.access(target.platform, target.account))

    # -- the worker's entry point ------------------------------------------------------------

    async def maybe_run(self) -> None:
        """Run a round when :data:`COLLECT_EVERY` seconds passed since the last; never raises."""
        now = self._rt.clock.monotonic()
        if self._last is not None and now - self._last < COLLECT_EVERY:
            return
        self._last = now
        try:
            await self.run_due()
        except Exception:
            log.exception("a metrics round failed; the next one tries again")

    async def run_due(self) -> MetricsRound:
        """Discover new published targets, then work every due task once."""
        platforms = self._platforms()
        if not platforms:
            return MetricsRound()
        discovered = await self.discover(platforms)
        rt = self._rt
        now = rt.clock.now()
        tasks = await self.store.claim_metric_tasks(rt.owner, now=now,
                                                    lease_until=now + timedelta(seconds=rt.timing.lease))
        totals = MetricsRound(discovered=discovered)
        key = lambda t: str(t.target)  # noqa: E731 - the grouping key, named once
        for _, group in itertools.groupby(sorted(tasks, key=key), key=key):
            done = await self._work_account(platforms, list(group))
            totals = MetricsRound(discovered=discovered, snapshots=totals.snapshots + done.snapshots,
                                  resolved=totals.resolved + done.resolved, failed=totals.failed + done.failed)
        return totals

    async def discover(self, platforms: dict[str, Platform] | None = None) -> int:
        """Create a task for each published target that has none yet."""
        platforms = self._platforms() if platforms is None else platforms
        found = await self.store.published_without_metrics(sorted(platforms))
        now = self._rt.clock.now()
        new = []
        for job in found:
            platform = platforms[job.target.platform]
            post_id = platform.platform_post_id(job.publish_id, job.post_url)
            step: int | None = 0
            if post_id is None:
                state, due = RESOLVING, job.finished_at + RESOLVE_AFTER[0]
            else:
                step = next_snapshot_step(job.finished_at, now)
                state = COLLECTING if step is not None else DONE
                due = snapshot_due(job.finished_at, step) if step is not None else now
            new.append(NewMetricTask(job_id=job.job_id, post_id=job.post_id, target=job.target,
                                     publish_id=job.publish_id, platform_post_id=post_id, post_url=job.post_url,
                                     published_at=job.finished_at, state=state, step=step or 0, due_at=due))
        return await self.store.insert_metric_tasks(new, now=now) if new else 0

    # -- one account's due tasks -------------------------------------------------------------

    async def _work_account(self, platforms: dict[str, Platform], tasks: list[MetricTaskRow]) -> MetricsRound:
        platform = platforms.get(tasks[0].target.platform)
        if platform is None or tasks[0].target.account is None:
            return MetricsRound()
        ctx = self.context(tasks[0].target)
        resolved, failed = 0, 0
        collect: list[MetricTaskRow] = []
        for task in tasks:
            if task.state == RESOLVING:
                resolved += await self._resolve(platform, ctx, task)
            else:
                collect.append(task)
        snapshots = 0
        if collect:
            snapshots, errors = await self._collect(platform, ctx, collect)
            failed += errors
        return MetricsRound(snapshots=snapshots, resolved=resolved, failed=failed)

    async def _resolve(self, platform: Platform, ctx: _Context, task: MetricTaskRow) -> bool:
        """Ask for the public id once; True when it was found."""
        now = self._rt.clock.now()
        try:
            found = await platform.resolve_post(ref_of(task), ctx)
        except Exception as exc:
            await self._failed([task], exc)
            return False
        if found is None:
            step = task.step + 1
            if step >= len(RESOLVE_AFTER):
                await self._finish(task, TaskUpdate(state=DONE, step=task.step, due_at=now, error=error_info(
                    CrosspostError("the platform never made the post public (no public id); no metrics"))))
            else:
                await self._finish(task, TaskUpdate(state=RESOLVING, step=step,
                                                    due_at=max(now, task.published_at + RESOLVE_AFTER[step])))
            return False
        await self._resolved(task, found, now)
        return True

    async def _resolved(self, task: MetricTaskRow, found: ResolvedPost, now: datetime) -> None:
        """Store the public id; the first reading is due at its step (at once when that passed:
        the next round takes it)."""
        step = next_snapshot_step(task.published_at, now)
        state = COLLECTING if step is not None else DONE
        due = now if step is None else max(snapshot_due(task.published_at, step), now)
        event = NewEvent(kind="public_id", post_id=task.post_id, job_id=task.job_id,
                         data={"platform_post_id": found.platform_post_id, "post_url": found.post_url,
                               "resolved_by": found.resolved_by or "status"})
        update = TaskUpdate(state=state, step=step or 0, due_at=due, platform_post_id=found.platform_post_id,
                            post_url=found.post_url, resolved_by=found.resolved_by or "status")
        await self._finish(task, update, event=event)

    async def _collect(self, platform: Platform, ctx: _Context, tasks: list[MetricTaskRow]) -> tuple[int, int]:
        """One ``fetch_metrics`` for the account's due tasks; (snapshots stored, tasks failed)."""
        try:
            snapshots = await platform.fetch_metrics([ref_of(t) for t in tasks], ctx)
        except Exception as exc:
            await self._failed(tasks, exc)
            return 0, len(tasks)
        by_id = {s.platform_post_id: s for s in snapshots}
        stored = 0
        for task in tasks:
            snapshot = by_id.get(task.platform_post_id or "")
            if snapshot is None:
                await self._not_found(task)
            else:
                stored += await self._store(task, snapshot)
        return stored, 0

    async def _store(self, task: MetricTaskRow, snapshot: MetricSnapshot) -> int:
        now = self._rt.clock.now()
        # A late round stands for the latest step already due (a worker offline past several
        # steps takes one reading), so the next step is one still ahead.
        taken = next_snapshot_step(task.published_at, now, after_step=task.step - 1)
        taken = task.step if taken is None else taken
        row = SnapshotRow(job_id=task.job_id, step=taken, taken_at=snapshot.taken_at,
                          platform_post_id=snapshot.platform_post_id, metrics=snapshot.metrics,
                          extras=snapshot.extras)
        step = next_snapshot_step(task.published_at, now, after_step=taken)
        update = (TaskUpdate(state=DONE, step=task.step, due_at=now) if step is None else
                  TaskUpdate(state=COLLECTING, step=step, due_at=max(snapshot_due(task.published_at, step), now)))
        event = NewEvent(kind="metrics", post_id=task.post_id, job_id=task.job_id,
                         data={"step": taken, "metrics": dict(snapshot.metrics)})
        return int(await self._finish(task, update, snapshot=row, event=event))

    async def _not_found(self, task: MetricTaskRow) -> None:
        now = self._rt.clock.now()
        attempts = task.attempts + 1
        error = error_info(CrosspostError(f"the platform did not return post {task.platform_post_id} "
                                          "(deleted, made private, or not this account's)"))
        if attempts >= 3:
            await self._finish(task, TaskUpdate(state=DONE, step=task.step, due_at=now, attempts=attempts,
                                                error=error))
        else:
            await self._finish(task, TaskUpdate(state=task.state, step=task.step, due_at=now + NOT_FOUND_RETRY,
                                                attempts=attempts, error=error))

    async def _failed(self, tasks: Sequence[MetricTaskRow], exc: Exception) -> None:
        now = self._rt.clock.now()
        if not isinstance(exc, CrosspostError):
            log.error("metrics for %s failed unexpectedly", tasks[0].target, exc_info=exc)
        error = error_info(exc)
        for task in tasks:
            attempts = task.attempts + 1
            if isinstance(exc, MissingScope):
                delay = MISSING_SCOPE_RETRY
            elif isinstance(exc, TransientError) and exc.retry_after is not None:
                delay = max(timedelta(seconds=exc.retry_after), backoff(attempts))
            else:
                delay = backoff(attempts)
            closed = attempts >= GIVE_UP_AFTER and not isinstance(exc, MissingScope)
            first = task.error is None or task.error.code != error.code
            event = NewEvent(kind="metrics_error", post_id=task.post_id, job_id=task.job_id,
                             data={"code": error.code, "message": error.message}) if first else None
            await self._finish(task, TaskUpdate(state=DONE if closed else task.state, step=task.step,
                                                due_at=now + delay, attempts=attempts, error=error), event=event)

    async def _finish(self, task: MetricTaskRow, update: TaskUpdate, *, snapshot: SnapshotRow | None = None,
                      event: NewEvent | None = None) -> bool:
        done = await self.store.finish_metric_task(task.job_id, self._rt.owner, update, now=self._rt.clock.now(),
                                                   snapshot=snapshot, event=event)
        if not done:
            log.info("metrics task %s was taken over by another worker", task.job_id)
        return done

    # -- outside a round ---------------------------------------------------------------------

    async def public_id_arrived(self, job: JobRow, platform_post_id: str, *, resolved_by: str = "webhook") -> bool:
        """A webhook named the public id: record it (and the link, when the platform can build
        one) so the job's next readings use it. False when the job has no metrics task yet."""
        await self.discover()
        platform = self._platforms().get(job.target.platform)
        post_url = None
        if platform is not None and job.target.account is not None:
            ref = MetricRef(job_id=job.id, post_id=job.post_id, target=job.target, publish_id=job.publish_id,
                            platform_post_id=platform_post_id, post_url=job.post_url,
                            published_at=job.finished_at or self._rt.clock.now())
            try:
                found = await platform.resolve_post(ref, self.context(job.target))
                post_url = found.post_url if found is not None else None
            except CrosspostError as exc:
                log.info("could not build the link of %s: %s", platform_post_id, exc)
        now = self._rt.clock.now()
        event = NewEvent(kind="public_id", post_id=job.post_id, job_id=job.id,
                         data={"platform_post_id": platform_post_id, "post_url": post_url, "resolved_by": resolved_by})
        return await self.store.public_id_arrived(job.id, platform_post_id, post_url=post_url,
                                                  resolved_by=resolved_by, now=now, event=event)

    async def account_metrics(self, target: Target) -> AccountMetrics:
        """The account's totals now, read from the platform and stored as a snapshot row."""
        account = await self._rt.accounts.resolve(target)
        resolved = Target(platform=account.platform, account=account.name)
        platform = self._rt.hooks.platform(account.platform)
        ctx = self.context(resolved)
        totals = await platform.account_metrics(ctx.account, ctx)
        await self.store.add_account_snapshot(AccountSnapshotRow(target=resolved, taken_at=totals.taken_at,
                                                                 metrics=totals.metrics, extras=totals.extras))
        return totals

    async def account_reconnected(self, target: Target) -> None:
        """The account was connected again (maybe with a scope it lacked): its waiting tasks run now."""
        try:
            await self.store.wake_metric_tasks(target, now=self._rt.clock.now())
        except CrosspostError as exc:  # a backend without metrics: nothing waits
            log.debug("no metrics tasks to wake: %s", exc)
