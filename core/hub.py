"""The library API: everything the CLI and bots do goes through :class:`Hub`.

::

    async with Hub.open(settings) as hub:
        record = await hub.publish(post, progress=print)
        await hub.run_worker(until_idle=True)

A post is validated for every target before anything is stored (:class:`InvalidPost` lists every
problem), stored with one job per target, and run by workers: :meth:`Hub.publish` runs its own
post's jobs in this process, :meth:`Hub.run_worker` runs every due job (in the caller's event
loop, so a bot can embed it). Any number of processes may share one database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, overload

import attrs

from crosspost.core.account_store import AccountStore, SecretCipher
from crosspost.core.clock import Clock, SystemClock
from crosspost.core.convert import error_info
from crosspost.core.engine.checkpoints import open_checkpoint
from crosspost.core.engine.context import ValidationContext
from crosspost.core.engine.jobs import PostNotFound, PostRecord, PostStateError, record_from_row
from crosspost.core.engine.metrics import PUBLIC_OUTCOMES, MetricsCollector, MetricsRound
from crosspost.core.engine.progress import Broadcaster, Listener, ProgressEvent
from crosspost.core.engine.ratelimit import StorageRateGate
from crosspost.core.engine.retry import RetryPolicy
from crosspost.core.engine.runner import JobRunner
from crosspost.core.engine.runtime import ChangeSignal, Runtime, Timing
from crosspost.core.engine.validation import PreparedTarget, Preparer
from crosspost.core.engine.worker import Worker
from crosspost.core.errors import AuthError, ConfigError, CrosspostError, InvalidPost, Problem
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.platform import PlannedRequest, Platform, RateGate, Validation
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.schedule import PastSchedule, ScheduledTime, check_not_past, parse_when, zone
from crosspost.core.settings import Settings
from crosspost.storage import open_storage
from crosspost.storage.base import EventRow, JobRow, NewEvent, NewJob, NewPost, PostRow, Storage

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.account_flows import AccountField, AccountInfo, LoginStart, ServiceContext
    from crosspost.core.accounts import Account
    from crosspost.core.metrics import AccountMetrics
    from crosspost.core.metrics_report import TargetMetrics
    from crosspost.core.webhooks import AppliedEvent, PlatformEvent

__all__ = ["Hub", "PostNotFound", "PostRecord", "PostStateError", "ProgressEvent", "TargetPlan", "Timing"]

log = logging.getLogger("crosspost.hub")


class Hub:
    """One process's handle on crosspost: settings, plugins, storage, accounts and workers."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._logins: dict[str, _PendingLogin] = {}
        self._preparer = Preparer(rt, self._validation_context)
        self._runner = JobRunner(rt, self._preparer)
        self._metrics = MetricsCollector(rt)

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, settings: Settings | None = None, *, storage: Storage | None = None,
                   hooks: Hooks | None = None, http: aiohttp.ClientSession | None = None,
                   clock: Clock | None = None, secret_box: SecretCipher | None = None,
                   retry: RetryPolicy | None = None,
                   timing: Timing | None = None, rng: random.Random | None = None,
                   upgrade: bool = True) -> AsyncIterator[Hub]:
        """A hub on ``settings`` (default: from the environment). Whatever is not given is built
        here and closed on exit: the storage from ``settings.db``, an ``aiohttp.ClientSession``,
        plugins minus ``settings.disabled_plugins``, the system clock, the SecretBox from
        ``CROSSPOST_SECRET_KEY`` or the key file beside the database.

        The storage opened here gets its schema created or upgraded, unless ``upgrade`` is False
        (``crosspost worker``): then a database with an older schema raises
        :class:`~crosspost.storage.OutdatedSchema` naming ``crosspost migrate``."""
        settings = settings or Settings.from_env()
        async with contextlib.AsyncExitStack() as stack:
            if storage is None:
                storage = await open_storage(settings.db, upgrade=upgrade)
                stack.push_async_callback(storage.close)
            if http is None:
                http = _http_session()
                stack.push_async_callback(http.close)
            clock = clock or SystemClock()
            progress = Broadcaster()
            stack.push_async_callback(progress.drain)
            rt = Runtime(
                settings=settings, storage=storage,
                hooks=hooks or Hooks(make_plugin_manager(disabled=settings.disabled_plugins)),
                http=http,
                clock=clock,
                accounts=AccountStore(storage, box=secret_box, settings=settings, clock=clock),
                rate=StorageRateGate(storage, clock), progress=progress, changes=ChangeSignal(),
                retry=retry or RetryPolicy(), timing=timing or Timing(), rng=rng or random.Random(),
                owner=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            )
            yield cls(rt)

    # -- what callers reach for --------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._rt.settings

    @property
    def hooks(self) -> Hooks:
        return self._rt.hooks

    @property
    def storage(self) -> Storage:
        return self._rt.storage

    @property
    def accounts(self) -> AccountStore:
        return self._rt.accounts

    @property
    def clock(self) -> Clock:
        return self._rt.clock

    @property
    def rate(self) -> StorageRateGate:
        return self._rt.rate

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Get every :class:`ProgressEvent` of this process (sync or async listener); returns
        the function that unsubscribes. A listener that raises does not disturb the others."""
        return self._rt.progress.subscribe(listener)

    # -- checking ----------------------------------------------------------------------------

    def _validation_context(self, platform: Platform, target: Target,
                            known: Account | None = None) -> ValidationContext:
        account = None
        if platform.needs_account and target.account:
            account = self._rt.accounts.access(target.platform, target.account, known=known)
        return ValidationContext(self._rt, target=target, account=account)

    async def validate(self, post: Post) -> dict[Target, Validation]:
        """Every target's checks (hooks, generic limits, the platform's own); raises
        :class:`InvalidPost` with all problems. Keys are the targets as the post names them."""
        return {p.requested: p.validation for p in await self._preparer.prepare(post)}

    async def plan(self, post: Post, *, allow_past: bool = False) -> dict[Target, TargetPlan]:
        """Validate like :meth:`submit`, then list the requests each platform would send, with
        every warning a real run would give (validation, the schedule, the plan itself).
        Publishes nothing; problems raise :class:`InvalidPost` exactly as :meth:`submit` would."""
        when, prepared_targets = await self._checked(post, allow_past=allow_past)
        plans: dict[Target, TargetPlan] = {}
        for prepared in prepared_targets:
            platform = self._rt.hooks.platform(prepared.target.platform)
            ctx = self._validation_context(platform, prepared.target)
            ctx.validation = prepared.validation  # validated once: plan reuses it
            requests = tuple(await platform.plan(prepared.post, ctx))
            warnings = (*prepared.validation.warnings, *((when.note,) if when.note else ()), *ctx.warnings)
            plans[prepared.requested] = TargetPlan(requests=requests, warnings=tuple(dict.fromkeys(warnings)))
        return plans

    async def _checked(self, post: Post, *, allow_past: bool) -> tuple[ScheduledTime, list[PreparedTarget]]:
        """The post's schedule and its checked targets; one :class:`InvalidPost` with the
        problems of both (a bad time does not hide a bad option)."""
        problems: list[Problem] = []
        when = ScheduledTime(at=None)
        try:
            when = _when(post.scheduled_at, post.timezone, now=self._rt.clock.now(), allow_past=allow_past)
        except InvalidPost as exc:
            problems.extend(exc.problems)
        try:
            prepared = await self._preparer.prepare(post)
        except InvalidPost as exc:
            raise InvalidPost([*problems, *exc.problems]) from None
        if problems:
            raise InvalidPost(problems)
        return when, prepared

    # -- storing -----------------------------------------------------------------------------

    async def submit(self, post: Post, *, allow_past: bool = False) -> PostRecord:
        """Validate and store ``post``, scheduled or queued. A post whose ``idempotency_key``
        was seen before is not stored again: the first one is returned.

        A ``scheduled_at`` more than a few minutes in the past is a problem (it would publish at
        once, silently) unless ``allow_past``; then it publishes at once, with a warning."""
        record, _ = await self._submit(post, allow_past=allow_past)
        return record

    async def _submit(self, post: Post, *, allow_past: bool) -> tuple[PostRecord, dict[str, PreparedTarget]]:
        """:meth:`submit`, plus each new job's check by job id (empty when nothing was stored)."""
        if post.idempotency_key is not None:
            existing = await self._rt.storage.find_post_by_key(post.idempotency_key)
            if existing is not None:
                return record_from_row(existing), {}
        when, prepared = await self._checked(post, allow_past=allow_past)
        now = self._rt.clock.now()
        run_at = when.at or now
        post_id = uuid.uuid4().hex[:16]
        jobs = [(p, self._new_job(p, run_at=run_at, now=now, note=when.note)) for p in prepared]
        new = NewPost(id=post_id, post=post, created_at=now, jobs=tuple(job for _, job in jobs))
        event = NewEvent(kind="submitted", post_id=post_id,
                         data={"targets": [str(j.target) for j in new.jobs], "run_at": run_at.isoformat(),
                               "note": when.note})
        row, created = await self._rt.storage.insert_post(new, event=event)
        if not created:
            return record_from_row(row), {}
        for prepared_target, job in jobs:
            if job.status is JobStatus.QUEUED:
                self._preparer.remember(job.id, prepared_target)  # a worker here runs it soon: one check
        await self._announce(row, run_at=run_at, now=now)
        return record_from_row(row), {job.id: p for p, job in jobs}

    def _new_job(self, prepared: PreparedTarget, *, run_at: datetime, now: datetime, note: str | None) -> NewJob:
        warnings = (*prepared.validation.warnings, *((note,) if note else ()))
        status = JobStatus.SCHEDULED if run_at > now else JobStatus.QUEUED
        error = None
        if prepared.deferred is not None:
            status = JobStatus.DEFERRED
            run_at = max(run_at, self._rt.retry.defer_until(prepared.deferred, now=now))
            error = error_info(prepared.deferred)
        return NewJob(id=uuid.uuid4().hex[:16], target=prepared.target, status=status, run_at=run_at,
                      warnings=warnings, error=error)

    async def _announce(self, row: PostRow, *, run_at: datetime, now: datetime) -> None:
        await self._rt.hooks.post_scheduled(row.id, row.post, run_at.isoformat() if run_at > now else None)
        for job in row.jobs:
            self._emit(job)
        self._rt.changes.notify()

    def _emit(self, job: JobRow, message: str = "") -> None:
        self._rt.progress.emit(ProgressEvent(job_id=job.id, post_id=job.post_id, target=job.target,
                                             phase=job.status, message=message))

    async def publish(self, post: Post, *, progress: Listener | None = None, allow_past: bool = False,
                      wait: bool = False) -> PostRecord:
        """Submit ``post`` and run its due jobs in this process until each is final. Retries are
        waited for, however long their backoff (the caller asked to publish now).

        A target that waits (a schedule, a posting cap, a login) is returned as it stands, at
        once, however soon it is due: a worker publishes it, or pass ``wait=True`` to wait here
        for its time and run it. ``allow_past``: see :meth:`submit`."""
        unsubscribe = self.subscribe(progress) if progress is not None else None
        checked: dict[str, PreparedTarget] = {}
        try:
            record, checked = await self._submit(post, allow_past=allow_past)  # due jobs' checks kept
            return await self._drive(record.id, wait=wait)
        finally:
            self._preparer.forget(checked)
            if unsubscribe is not None:
                unsubscribe()

    async def _drive(self, post_id: str, *, wait: bool = False) -> PostRecord:
        """Run the post's due jobs in this process until none is queued (with ``wait``, also until
        its scheduled and deferred jobs ran); see :meth:`publish`."""
        waiting = {JobStatus.QUEUED, *((JobStatus.SCHEDULED, JobStatus.DEFERRED) if wait else ())}
        while True:
            await self._work(until_idle=True, concurrency=None, stop=None, post_id=post_id,
                             horizon=None if wait else 0.0)
            row = await self._row(post_id)
            due = [j.run_at for j in row.jobs if j.status in waiting]
            if not due:
                return record_from_row(row)
            await self._rt.clock.sleep(max(0.0, (min(due) - self._rt.clock.now()).total_seconds()))

    # -- reading -----------------------------------------------------------------------------

    async def _row(self, post_id: str) -> PostRow:
        row = await self._rt.storage.get_post(post_id)
        if row is None:
            raise PostNotFound(f"no post {post_id!r}; `crosspost list` shows the stored posts")
        return row

    async def get(self, post_id: str) -> PostRecord:
        """The post and each target's state; :class:`PostNotFound` for an unknown id."""
        return record_from_row(await self._row(post_id))

    async def list_posts(self, *, status: JobStatus | None = None, limit: int = 100) -> list[PostRecord]:
        """Newest first; with ``status``, posts having at least one target in that state."""
        return [record_from_row(r) for r in await self._rt.storage.list_posts(status=status, limit=limit)]

    async def events(self, post_id: str) -> list[EventRow]:
        """The post's event log, oldest first."""
        return await self._rt.storage.list_events(post_id=post_id)

    async def wait(self, post_id: str, *, timeout: float | None = None) -> PostRecord:  # noqa: ASYNC109
        """Return once every target of the post is final. Raises :class:`TimeoutError` after
        ``timeout`` seconds (on the hub's clock). Does not run jobs: a worker must."""
        clock = self._rt.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        while True:
            changed = self._rt.changes.current()
            record = await self.get(post_id)
            if record.done:
                return record
            delay = self._rt.timing.poll
            if deadline is not None:
                left = deadline - clock.monotonic()
                if left <= 0:
                    raise TimeoutError(f"post {post_id} is still {record.status.value} after {timeout}s")
                delay = min(delay, left)
            waiters = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(clock.sleep(delay))]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    # -- changing ----------------------------------------------------------------------------

    async def reschedule(self, post_id: str, when: str, timezone: str | None = None, *,
                         allow_past: bool = False) -> PostRecord:
        """Move every waiting target to ``when`` (read like ``scheduled_at``, in ``timezone`` or
        the post's own zone; a past time as in :meth:`submit`). :class:`PostStateError` when no
        target is waiting any more."""
        row = await self._row(post_id)
        tz = timezone if timezone is not None else row.post.timezone
        now = self._rt.clock.now()
        at = _when(when, tz, now=now, allow_past=allow_past)
        post = attrs.evolve(row.post, scheduled_at=when, timezone=tz)
        run_at = at.at or now
        event = NewEvent(kind="rescheduled", post_id=post_id, data={"run_at": run_at.isoformat(), "note": at.note})
        updated = await self._rt.storage.reschedule_post(post_id, post, run_at, now=now, event=event)
        if updated is None:
            raise PostStateError(f"post {post_id} has no target waiting to run (it is "
                                 f"{record_from_row(row).status.value}); nothing to reschedule")
        await self._announce(updated, run_at=run_at, now=now)
        return record_from_row(updated)

    async def edit(self, post_id: str, post: Post, *, allow_past: bool = False) -> PostRecord:
        """Replace a post whose targets are all still scheduled (validated like a new one; the
        original ``idempotency_key`` stays). :class:`PostStateError` once any target started."""
        row = await self._row(post_id)
        if any(j.status is not JobStatus.SCHEDULED for j in row.jobs):
            raise PostStateError(f"post {post_id} is {record_from_row(row).status.value}: only a post whose "
                                 "targets are all still scheduled can be edited; cancel it and submit a new one")
        post = attrs.evolve(post, idempotency_key=row.post.idempotency_key)
        when, prepared = await self._checked(post, allow_past=allow_past)
        now = self._rt.clock.now()
        run_at = when.at or now
        jobs = [self._new_job(p, run_at=run_at, now=now, note=when.note) for p in prepared]
        event = NewEvent(kind="edited", post_id=post_id, data={"run_at": run_at.isoformat(), "note": when.note})
        updated = await self._rt.storage.replace_post(post_id, post, jobs, now=now, event=event)
        if updated is None:
            raise PostStateError(f"post {post_id} started while it was being edited; cancel it and submit a new one")
        await self._announce(updated, run_at=run_at, now=now)
        return record_from_row(updated)

    async def cancel(self, post_id: str) -> PostRecord:
        """Cancel every unfinished target: waiting ones at once, running ones at their next
        checkpoint (the platform is asked to cancel, best effort). Final targets stay as they are."""
        await self._row(post_id)
        now = self._rt.clock.now()
        changed = await self._rt.storage.cancel_post(
            post_id, now=now, event=NewEvent(kind="cancel_requested", post_id=post_id))
        for job in changed:
            if job.status is JobStatus.CANCELLED:
                await self._cancel_at_platform(job)
                self._emit(job)
        if changed:
            await self._rt.hooks.post_cancelled(post_id)
            self._rt.changes.notify()
        return await self.get(post_id)

    async def retry(self, post_id: str, *, wait: bool = False) -> PostRecord:
        """Queue the post's failed targets again, due now; with ``wait``, run them in this
        process until they are final (as :meth:`publish` does), else a worker picks them up.
        Targets that were delivered, cancelled or are uncertain stay as they are: an uncertain
        one may have published and needs checking first. Raises :class:`PostStateError`
        when no target failed."""
        row = await self._row(post_id)
        now = self._rt.clock.now()
        queued = await self._rt.storage.retry_failed(
            post_id, now=now, event=NewEvent(kind="retry_requested", post_id=post_id,
                                              data={"targets": [str(j.target) for j in row.jobs
                                                                if j.status is JobStatus.FAILED]}))
        if not queued:
            raise PostStateError(f"post {post_id} is {record_from_row(row).status.value}: no target failed, "
                                 "nothing to retry")
        for job in queued:
            self._emit(job, "retry")
        self._rt.changes.notify()
        return await self._drive(post_id) if wait else await self.get(post_id)

    async def _cancel_at_platform(self, job: JobRow) -> None:
        """A waiting job may hold platform-side work (an upload between retries): drop it."""
        if not job.checkpoint:
            return
        try:
            platform = self._rt.hooks.platform(job.target.platform)
            account = None
            if platform.needs_account and job.target.account:
                account = self._rt.accounts.access(job.target.platform, job.target.account)
            checkpoint = open_checkpoint(self._rt.accounts.cipher(), job.id, job.checkpoint)
            ctx = ValidationContext(self._rt, target=job.target, account=account, job_id=job.id,
                                    checkpoint=checkpoint)
            await platform.cancel(ctx)
        except Exception:
            log.exception("best-effort cancel of job %s at %s failed", job.id, job.target)

    # -- accounts (neutral: each platform declares how it connects; see core.account_flows) --

    def service_context(self, platform: str) -> ServiceContext:
        """What a platform uses outside a job: settings, the HTTP session, clock, rate gate, log."""
        return _Service(settings=self._rt.settings, http=self._rt.http, clock=self._rt.clock,
                        rate=self._rt.rate, log=logging.getLogger(f"crosspost.platform.{platform}"))

    async def connect_account(self, platform: str, name: str, values: Mapping[str, str], *,
                              replace: bool = False) -> Account:
        """Connect account ``platform:name`` from ``values`` (the platform's ``account_fields``):
        the platform verifies the credentials first, so nothing is stored when they are wrong.
        Stored once, encrypted; ``replace`` overwrites an account of that name."""
        plat = self._rt.hooks.platform(platform)
        Target.parse(f"{platform}:{name}")
        _check_fields(plat.account_fields, values, what=f"accounts add {platform}")
        if not replace and await self._rt.accounts.find(platform, name) is not None:
            raise AccountExists(f"account {platform}:{name} already exists: add it with --replace to "
                                f"overwrite it, or `crosspost accounts login {platform} {name}` to log in again")
        account = await plat.connect_account(name, values, self.service_context(platform))
        stored = await self._rt.accounts.add(attrs.evolve(account, platform=platform, name=name), replace=True)
        await self._metrics.account_reconnected(Target(platform=platform, account=name))
        return stored

    async def start_login(self, platform: str, name: str, values: Mapping[str, str], *,
                          redirect_uri: str) -> LoginStart:
        """Begin a browser login for ``platform:name``; send the user to the returned URL, then
        call :meth:`finish_login` with the redirect's query. Pending logins live in this process
        for :data:`LOGIN_TTL` seconds."""
        plat = self._rt.hooks.platform(platform)
        if not plat.supports_login:
            raise ConfigError(f"{platform} has no browser login; connect with `crosspost accounts add {platform} …`")
        Target.parse(f"{platform}:{name}")
        _check_fields(plat.login_fields, values, what=f"accounts login {platform}")
        start = await plat.start_login(name, values, redirect_uri=redirect_uri, ctx=self.service_context(platform))
        now = self._rt.clock.monotonic()
        self._logins = {k: v for k, v in self._logins.items() if v.expires > now}
        self._logins[start.state] = _PendingLogin(platform=platform, name=name, start=start,
                                                  redirect_uri=redirect_uri, expires=now + LOGIN_TTL)
        return start

    async def finish_login(self, callback: Mapping[str, str]) -> Account:
        """Finish the login whose ``state`` the redirect carries; store and return the account.
        A missing, unknown or expired ``state`` is refused (a forged or replayed redirect)."""
        if callback.get("error"):
            raise AuthError(f"the login was refused: {callback.get('error_description') or callback['error']}",
                            code=str(callback["error"]))
        pending = self._logins.pop(str(callback.get("state", "")), None)
        if pending is None or pending.expires <= self._rt.clock.monotonic():
            raise AuthError("this login redirect does not match a login started here (or it expired); "
                            "start the login again", code="invalid_state")
        plat = self._rt.hooks.platform(pending.platform)
        account = await plat.finish_login(pending.name, pending.start, callback, redirect_uri=pending.redirect_uri,
                                          ctx=self.service_context(pending.platform))
        stored = await self._rt.accounts.add(
            attrs.evolve(account, platform=pending.platform, name=pending.name, needs_login=False), replace=True)
        await self._metrics.account_reconnected(Target(platform=pending.platform, account=pending.name))
        return stored

    async def account_info(self, target: Target | str) -> AccountInfo:
        """Live public facts about an account (TikTok: the creator info it requires apps to show)."""
        requested = Target.parse(target) if isinstance(target, str) else target
        account = await self._rt.accounts.resolve(requested)
        plat = self._rt.hooks.platform(account.platform)
        return await plat.account_info(self._rt.accounts.access(account.platform, account.name),
                                       self.service_context(account.platform))

    async def remove_account(self, platform: str, name: str, *, revoke: bool = True) -> bool:
        """Revoke crosspost's access at the platform (unless ``revoke`` is False), then delete the
        account here. A failed revoke raises and keeps the account."""
        account = await self._rt.accounts.get(platform, name)
        if revoke:
            plat = self._rt.hooks.platform(platform)
            await plat.revoke_account(self._rt.accounts.access(account.platform, account.name),
                                      self.service_context(platform))
        return await self._rt.accounts.remove(platform, name)

    # -- platform events (webhooks) ----------------------------------------------------------

    async def apply_platform_event(self, platform: str, publish_id: str, *, outcome: str,
                                   reason: str | None = None, post_id: str | None = None) -> bool:
        """Record a verified platform event for the job publishing ``publish_id`` and, when the
        job waits (a retry, a release after a crash), make it due now so a worker polls its
        status at once. A job leased by a worker is not touched: its own polling settles it.
        The platform's status endpoint stays the source of truth, so an event never publishes
        or finishes a job by itself. A redelivered event (same outcome) is logged once and
        changes nothing again. False when no job matches ``publish_id``."""
        job = await self._rt.storage.find_job_by_publish_id(publish_id)
        if job is None or job.target.platform != platform:
            return False
        key = f"{platform}:{publish_id}:{outcome}"
        seen = await self._rt.storage.list_events(job_id=job.id)
        if any(e.kind == "platform_event" and e.data.get("key") == key for e in seen):
            return True
        data = {"key": key, "outcome": outcome, "reason": reason, "platform_post_id": post_id}
        event = NewEvent(kind="platform_event", post_id=job.post_id, job_id=job.id, data=data)
        if await self._rt.storage.hurry_job(job.id, now=self._rt.clock.now(), event=event):
            self._rt.changes.notify()
        if post_id and outcome in PUBLIC_OUTCOMES:
            await self._metrics.public_id_arrived(job, post_id)
        return True

    # -- metrics (see crosspost.core.metrics and core.engine.metrics) --------------------------

    @property
    def metrics(self) -> MetricsCollector:
        """The process's metrics collector (its ``store`` reads tasks and snapshots)."""
        return self._metrics

    async def collect_metrics(self) -> MetricsRound:
        """Run one metrics round now: discover published targets, resolve public ids, take every
        reading that is due. Workers do this on their own every ``COLLECT_EVERY`` seconds."""
        return await self._metrics.run_due()

    async def post_metrics(self, post_id: str) -> list[TargetMetrics]:
        """Every target of the post with its metrics state and readings, oldest first
        (:class:`PostNotFound` for an unknown id)."""
        from crosspost.core.metrics_report import post_metrics

        row = await self._row(post_id)
        specs = {name: p.metrics for name, p in self._rt.hooks.platforms().items()}
        return await post_metrics(row, self._metrics.store, specs)

    async def account_metrics(self, target: Target | str) -> AccountMetrics:
        """An account's totals now (``tiktok:main``), read from the platform and kept as a row."""
        return await self._metrics.account_metrics(Target.parse(target) if isinstance(target, str) else target)

    async def apply_webhook_events(self, platform: str, events: Sequence[PlatformEvent]) -> list[AppliedEvent]:
        """Apply verified webhook events of ``platform`` (from its ``webhook_receiver().parse``):
        POST events go to :meth:`apply_platform_event`; an ACCOUNT ``removed`` event marks the
        account whose stored profile carries that ``account_ref`` as needing a login, so its jobs
        wait for ``crosspost accounts login`` instead of failing one by one. Idempotent."""
        from crosspost.core.webhooks import ACCOUNT_REF_KEYS, AppliedEvent, EventKind

        applied: list[AppliedEvent] = []
        for event in events:
            if event.kind is EventKind.POST and event.publish_id:
                matched = await self.apply_platform_event(platform, event.publish_id, outcome=event.outcome,
                                                          reason=event.reason, post_id=event.platform_post_id)
                applied.append(AppliedEvent(event=event, matched=matched))
            elif event.kind is EventKind.ACCOUNT and event.account_ref:
                owner = next((a for a in await self._rt.accounts.list(platform)
                              if any(a.profile.get(k) == event.account_ref for k in ACCOUNT_REF_KEYS)), None)
                if owner is not None and event.outcome == "removed":
                    await self._rt.accounts.mark_needs_login(
                        platform, owner.name, f"access removed at {platform}: {event.reason or 'no reason given'}")
                applied.append(AppliedEvent(event=event, matched=owner is not None,
                                            account=owner.key if owner is not None else None))
            else:
                applied.append(AppliedEvent(event=event, matched=False))
        return applied

    # -- running -----------------------------------------------------------------------------

    async def run_worker(self, *, until_idle: bool = False, concurrency: int | None = None,
                         stop: asyncio.Event | None = None, progress: Listener | None = None) -> None:
        """Run due jobs of every post until ``stop`` is set (or, with ``until_idle``, until
        nothing is running and nothing is due within ``Timing.idle_horizon``). Cancelling it
        releases running jobs with their checkpoints; signal handling is the caller's."""
        unsubscribe = self.subscribe(progress) if progress is not None else None
        try:
            await self._work(until_idle=until_idle, concurrency=concurrency, stop=stop, post_id=None)
        finally:
            if unsubscribe is not None:
                unsubscribe()

    async def _work(self, *, until_idle: bool, concurrency: int | None, stop: asyncio.Event | None,
                    post_id: str | None, horizon: float | None = None) -> None:
        """Run a worker; ``horizon`` overrides ``Timing.idle_horizon`` (0: only what is due now,
        so :meth:`publish` never picks up a target scheduled a few seconds ahead)."""
        rt = self._rt
        if horizon is not None:
            rt = attrs.evolve(rt, timing=attrs.evolve(rt.timing, idle_horizon=horizon))
        worker = Worker(rt, self._runner, concurrency=concurrency or rt.settings.concurrency,
                        post_id=post_id, metrics=self._metrics if post_id is None else None)
        await worker.run(until_idle=until_idle, stop=stop)


LOGIN_TTL = 900.0
"""Seconds a started browser login may take before its redirect is refused."""


class AccountExists(CrosspostError):
    """``accounts add`` for a name already stored, without ``replace``."""

    code = "conflict"


@attrs.define(kw_only=True)
class _Service:
    """A :class:`ServiceContext` over the hub's runtime."""

    settings: Settings
    http: aiohttp.ClientSession
    clock: Clock
    rate: RateGate
    log: logging.Logger


@attrs.frozen(kw_only=True)
class _PendingLogin:
    platform: str
    name: str
    start: LoginStart
    redirect_uri: str
    expires: float


def _check_fields(fields: tuple[AccountField, ...], values: Mapping[str, str], *, what: str) -> None:
    """Every required field present, no unknown ones: one ConfigError listing each."""
    known = {f.name for f in fields}
    problems = [f"{f.flag} is required ({f.help})" for f in fields if f.required and not values.get(f.name)]
    problems += [f"unknown field {k!r}; accepted: {', '.join(sorted(known)) or 'none'}"
                 for k in values if k not in known]
    if problems:
        raise ConfigError(f"`crosspost {what}`: " + "; ".join(problems))


def _http_session() -> aiohttp.ClientSession:
    """The hub's one HTTP session when the caller brings none. No total timeout: a large upload
    legitimately takes long; connect and read stalls are bounded instead."""
    import aiohttp  # imported here: only a hub that talks to platforms pays for it

    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300))


def _when(value: str, timezone: str | None, *, now: datetime, allow_past: bool) -> ScheduledTime:
    """``scheduled_at`` as an instant; InvalidPost naming the field when it cannot be read, or
    when it lies in the past and ``allow_past`` is not given. The note carries what the user
    should know (a DST rule applied, a past time accepted)."""
    problems = []
    if timezone is not None:
        try:
            zone(timezone)
        except ValueError as exc:
            problems.append(Problem(field="timezone", message=str(exc)))
            timezone = None
    try:
        when = parse_when(value, timezone)
        late = check_not_past(when, value, now, allow_past=allow_past)
        if late is not None:
            when = attrs.evolve(when, note="; ".join(n for n in (when.note, late) if n))
    except PastSchedule as exc:
        problems.append(Problem(field="scheduled_at", message=str(exc)))
    except ValueError as exc:
        problems.append(Problem(field="scheduled_at", message=str(exc)))
    if problems:
        raise InvalidPost(problems)
    return when


@attrs.frozen(kw_only=True)
class TargetPlan(Sequence[PlannedRequest]):
    """What a dry run found for one target: the requests a real run sends, and its warnings.

    A sequence of its requests, so code that listed ``hub.plan(...)[target]`` keeps working."""

    requests: tuple[PlannedRequest, ...]
    warnings: tuple[str, ...] = ()
    """Every warning a real run gives (what is dropped, cut, converted or re-hosted)."""

    @overload
    def __getitem__(self, index: int) -> PlannedRequest: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[PlannedRequest]: ...
    def __getitem__(self, index: int | slice) -> PlannedRequest | Sequence[PlannedRequest]:
        return self.requests[index]

    def __len__(self) -> int:
        return len(self.requests)

    def __iter__(self) -> Iterator[PlannedRequest]:
        return iter(self.requests)
