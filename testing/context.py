"""An in-memory :class:`~crosspost.core.platform.JobContext` for unit-testing platforms.

:class:`FakeJobContext` gives a platform everything the engine would (settings, an aiohttp
session, a clock, a rate gate, its account) without storage or a worker, and records what the
platform did with it: every checkpoint it saved (checked to be JSON-ready, as storage needs),
the statuses it reported, progress and warnings. Cancellation is scripted with
``cancel_at_save``; :meth:`FakeJobContext.next_attempt` starts the next run of the same job from
the last saved checkpoint, as the engine does after a retryable error or a crash.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crosspost.core.accounts import Account
from crosspost.core.clock import Clock, FakeClock
from crosspost.core.errors import Cancelled, CrosspostError
from crosspost.core.models import JobStatus, Target
from crosspost.core.platform import AccountAccess, RateGate, Validation
from crosspost.core.settings import Settings

if TYPE_CHECKING:
    import aiohttp

MediaHost = Callable[[str], Awaitable[str | None] | str | None]
"""Answers ``host_media``: a public URL for a local path, or None (sync or async)."""


class AccountChanged(CrosspostError):
    """``AccountAccess.update`` got an account older than the stored one (a concurrent write)."""

    code = "account_changed"


@attrs.frozen(kw_only=True)
class SavedCheckpoint:
    """One ``ctx.save(...)`` call, as the engine would have stored it."""

    checkpoint: Mapping[str, Any]
    status: JobStatus | None
    durable: bool = True
    """False: a power cut could have lost it (``JobContext.save``)."""


class MemoryRateGate:
    """A sliding-window :class:`~crosspost.core.platform.RateGate` on the injected clock.

    With a :class:`~crosspost.core.clock.FakeClock` a full window costs no wall time; the clock's
    ``slept`` list shows how long a caller would have waited.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.keys: list[str] = []
        """Every key acquired, in order (one entry per call)."""
        self._calls: defaultdict[str, deque[float]] = defaultdict(deque)

    async def acquire(self, key: str, *, limit: int, window: float) -> datetime:
        calls = self._calls[key]
        while True:
            now = self.clock.monotonic()
            while calls and calls[0] <= now - window:
                calls.popleft()
            if len(calls) < limit:
                calls.append(now)
                self.keys.append(key)
                return self.clock.now()
            await self.clock.sleep(calls[0] + window - now)

    async def try_acquire(self, key: str, *, limit: int, window: float) -> float:
        calls = self._calls[key]
        now = self.clock.monotonic()
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) < limit:
            calls.append(now)
            self.keys.append(key)
            return 0.0
        return calls[0] + window - now

    async def answered(self, key: str, *, admitted_at: datetime) -> None:
        """The call counts from now (its answer), as the storage gate's does."""
        calls = self._calls[key]
        now = self.clock.monotonic()
        sent = now - (self.clock.now() - admitted_at).total_seconds()
        later = [t for t in calls if t >= sent - 1e-9]
        if later:
            calls.remove(min(later))
            calls.append(now)
            self._calls[key] = deque(sorted(calls))

    async def refused(self, key: str, *, limit: int, window: float) -> None:
        """The platform's window is full: fill ours from now."""
        calls = self._calls[key]
        now = self.clock.monotonic()
        while len([t for t in calls if t > now - window]) < limit:
            calls.append(now)


class MemoryAccountAccess:
    """:class:`~crosspost.core.platform.AccountAccess` over one account held in memory."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.login_reasons: list[str] = []
        """Every reason given to ``mark_needs_login``."""
        self._lock = asyncio.Lock()

    async def get(self) -> Account:
        return self.account

    async def update(self, account: Account) -> Account:
        if account.version != self.account.version:
            raise AccountChanged(f"account {account.key} changed since it was read "
                                 f"(version {account.version}, stored {self.account.version}); read it again")
        self.account = attrs.evolve(account, version=account.version + 1)
        return self.account

    def lock(self) -> asyncio.Lock:
        return self._lock

    async def mark_needs_login(self, reason: str) -> None:
        self.login_reasons.append(reason)
        self.account = attrs.evolve(self.account, needs_login=True, version=self.account.version + 1)


def isolated_settings(data_dir: Path, env: Mapping[str, str] | None = None) -> Settings:
    """Settings that ignore the developer's environment: only ``env``, database in ``data_dir``."""
    return Settings.from_env(dict(env or {}), db=str(data_dir / "crosspost.db"), data_dir=data_dir)


class FakeJobContext:
    """A :class:`~crosspost.core.platform.JobContext` in memory that records what the platform did.

    ``cancel_at_save=n`` makes the n-th ``save`` (counting from 0) and every later one raise
    :class:`~crosspost.core.errors.Cancelled`, as the engine does when the user cancels or the
    job's lease is lost. ``on_save`` is called with each save's index and checkpoint before it is
    stored (a test can look at the fake server at that moment, or raise).
    """

    def __init__(
        self,
        *,
        target: Target,
        http: aiohttp.ClientSession,
        settings: Settings | None = None,
        clock: Clock | None = None,
        account: Account | AccountAccess | None = None,
        rate: RateGate | None = None,
        checkpoint: Mapping[str, Any] | None = None,
        job_id: str = "job-1",
        log: logging.Logger | None = None,
        media_host: MediaHost | None = None,
        cancel_at_save: int | None = None,
        on_save: Callable[[int, Mapping[str, Any]], None] | None = None,
    ) -> None:
        self.job_id = job_id
        self.target = target
        self.settings = settings or Settings.from_env({}, db=":memory:", data_dir=Path("crosspost-test-data"))
        self.http = http
        self.clock: Clock = clock or FakeClock()
        self.rate: RateGate = rate or MemoryRateGate(self.clock)
        self.account: AccountAccess | None = (
            MemoryAccountAccess(account) if isinstance(account, Account) else account)
        self.log = log or logging.getLogger(f"crosspost.testing.job.{job_id}")
        self.checkpoint: Mapping[str, Any] = dict(checkpoint or {})
        self.media_host = media_host
        self.cancel_at_save = cancel_at_save
        self.on_save = on_save
        self.saves: list[SavedCheckpoint] = []
        """Every save that was stored (a cancelled save is not)."""
        self.progress_reports: list[tuple[int, int]] = []
        self.warnings: list[str] = []
        self.validation: Validation | None = None
        """Set it to a ``validate`` result to hand ``publish`` what the engine would."""
        self.hosted: list[str] = []
        """Paths handed to ``host_media``."""
        self._save_calls = 0

    @property
    def statuses(self) -> list[JobStatus]:
        """The statuses reported through ``save``, in order."""
        return [s.status for s in self.saves if s.status is not None]

    @property
    def durable_checkpoint(self) -> Mapping[str, Any]:
        """The checkpoint a power cut now would leave: the last durable save's (later saves made
        with ``durable=False`` may be gone). Resume from it to prove they were safe to lose."""
        return next((s.checkpoint for s in reversed(self.saves) if s.durable), {})

    async def save(self, checkpoint: Mapping[str, Any], *, status: JobStatus | None = None,
                   durable: bool = True) -> None:
        index = self._save_calls
        self._save_calls += 1
        stored = _json_ready(checkpoint)
        if self.on_save is not None:
            self.on_save(index, stored)
        if self.cancel_at_save is not None and index >= self.cancel_at_save:
            raise Cancelled(f"job {self.job_id} was cancelled")
        self.saves.append(SavedCheckpoint(checkpoint=stored, status=status, durable=durable))
        self.checkpoint = stored

    def progress(self, done: int, total: int) -> None:
        self.progress_reports.append((done, total))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @property
    def has_media_host(self) -> bool:
        return self.media_host is not None

    async def host_media(self, path: str) -> str | None:
        self.hosted.append(path)
        if self.media_host is None:
            return None
        url = self.media_host(path)
        return await url if inspect.isawaitable(url) else url

    def next_attempt(self, **changes: Any) -> FakeJobContext:
        """A context for the next run of this job: the last saved checkpoint, the same account,
        rate gate, clock, session and settings; fresh records. ``changes`` override arguments."""
        arguments: dict[str, Any] = {
            "target": self.target, "http": self.http, "settings": self.settings, "clock": self.clock,
            "account": self.account, "rate": self.rate, "checkpoint": self.checkpoint,
            "job_id": self.job_id, "log": self.log, "media_host": self.media_host,
        }
        arguments.update(changes)
        return FakeJobContext(**arguments)

    def after_power_cut(self, **changes: Any) -> FakeJobContext:
        """:meth:`next_attempt` from :attr:`durable_checkpoint`: what the next run would find had
        the machine lost power now (saves made with ``durable=False`` since then are gone)."""
        return self.next_attempt(**{"checkpoint": self.durable_checkpoint, **changes})


def _json_ready(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``checkpoint`` through JSON, so the platform keeps no aliases into it and a
    value storage could not keep fails here, in the platform's test, not in production."""
    try:
        copied: dict[str, Any] = json.loads(json.dumps(dict(checkpoint)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"checkpoint must hold JSON values only (str, int, float, bool, None, lists, "
                        f"dicts): {exc}") from None
    return copied
