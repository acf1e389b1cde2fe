"""The concrete :class:`~crosspost.core.platform.JobContext` objects platforms receive.

:class:`RunContext` belongs to a claimed job: ``save`` is a fenced write that raises
:class:`~crosspost.core.errors.Cancelled` once the job was cancelled or taken over, and
``progress`` feeds the hub's listeners. :class:`ValidationContext` is for checking a post before
any job exists (``hub.validate``/``submit``/``plan``): ``save`` only keeps the checkpoint in
memory and progress goes nowhere.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from crosspost.core.engine.checkpoints import open_checkpoint, seal
from crosspost.core.engine.progress import ProgressEvent
from crosspost.core.engine.runtime import Runtime
from crosspost.core.errors import Cancelled
from crosspost.core.models import JobStatus, Target
from crosspost.core.platform import AccountAccess, RateGate, Validation
from crosspost.storage.base import JobRow, Lease, NewEvent

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.clock import Clock
    from crosspost.core.settings import Settings


class BaseContext(abc.ABC):
    """What both contexts share; see :class:`~crosspost.core.platform.JobContext`."""
    def __init__(self, rt: Runtime, *, job_id: str, target: Target, account: AccountAccess | None,
                 checkpoint: Mapping[str, Any]) -> None:
        self._rt = rt
        self.job_id = job_id
        self.target = target
        self.settings: Settings = rt.settings
        self.http: aiohttp.ClientSession = rt.http
        self.clock: Clock = rt.clock
        self.rate: RateGate = rt.rate
        self.account = account
        self.log = logging.getLogger(f"crosspost.platform.{target.platform}")
        self.checkpoint: Mapping[str, Any] = dict(checkpoint)
        self.warnings: list[str] = []
        """Warnings given through :meth:`warn`, in order, without repeats."""
        self.validation: Validation | None = None
        """This attempt's validation result (set by the engine before ``plan``/``publish``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(job_id={self.job_id!r}, target={str(self.target)!r})"

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    @property
    def has_media_host(self) -> bool:
        return self._rt.hooks.has_media_host(self.settings)

    async def host_media(self, path: str) -> str | None:
        return await self._rt.hooks.host_media(path, self.target, self.settings)

    @abc.abstractmethod
    async def save(self, checkpoint: Mapping[str, Any], *, status: JobStatus | None = None,
                   durable: bool = True) -> None: ...

    @abc.abstractmethod
    def progress(self, done: int, total: int) -> None: ...


class ValidationContext(BaseContext):
    """A context without a claimed job: checking a post before it is stored, or asking the
    platform to cancel what a waiting job started (then ``job_id``/``checkpoint`` are the job's)."""

    def __init__(self, rt: Runtime, *, target: Target, account: AccountAccess | None, job_id: str = "",
                 checkpoint: Mapping[str, Any] | None = None) -> None:
        super().__init__(rt, job_id=job_id, target=target, account=account, checkpoint=checkpoint or {})

    async def save(self, checkpoint: Mapping[str, Any], *, status: JobStatus | None = None,
                   durable: bool = True) -> None:
        """Nothing is stored before the post is: keep the checkpoint in memory only."""
        self.checkpoint = dict(checkpoint)

    def progress(self, done: int, total: int) -> None:
        """Validation reports no progress."""


class RunContext(BaseContext):
    """The context of one claimed job, valid while its lease is.

    The checkpoint is sealed at rest (:mod:`crosspost.core.engine.checkpoints`): ``job.checkpoint``
    as stored is opened here, and :meth:`save` seals before writing."""

    def __init__(self, rt: Runtime, job: JobRow, *, account: AccountAccess | None,
                 checkpoint: Mapping[str, Any]) -> None:
        """``checkpoint`` is the job's, opened (:func:`opened_checkpoint`)."""
        assert job.lease is not None, "a RunContext needs a claimed job"
        super().__init__(rt, job_id=job.id, target=job.target, account=account, checkpoint=checkpoint)
        self.post_id = job.post_id
        self.lease: Lease = job.lease
        self.status = job.status
        self.next_status: JobStatus | None = None
        """The status the next :meth:`save` writes when the platform names none (the engine's
        own step, e.g. VALIDATING -> UPLOADING, batched with the platform's first write)."""
        self.warnings.extend(job.warnings)  # kept from submission (validation, schedule notes)

    async def save(self, checkpoint: Mapping[str, Any], *, status: JobStatus | None = None,
                   durable: bool = True) -> None:
        if status is None:
            status = self.next_status
        self.next_status = None
        now = self.clock.now()
        changed = status is not None and status is not self.status
        event = None
        if changed:
            assert status is not None
            event = NewEvent(kind="status", post_id=self.post_id, job_id=self.job_id,
                             data={"status": status.value})
        stored = seal(self._rt.accounts.cipher(), self.job_id, checkpoint) if checkpoint else {}
        saved = await self._rt.storage.save_checkpoint(
            self.lease, stored, status=status, now=now,
            lease_until=now + timedelta(seconds=self._rt.timing.lease), event=event,
            publish_id=_publish_id(checkpoint), durable=durable)
        if not saved:
            raise Cancelled(f"job {self.job_id} ({self.target}) was cancelled or taken over by another worker")
        self.checkpoint = dict(checkpoint)
        if changed:
            assert status is not None
            self.status = status
            self.emit()

    def progress(self, done: int, total: int) -> None:
        self._rt.progress.emit(self.event(done=done, total=total))

    def event(self, *, phase: JobStatus | None = None, done: int = 0, total: int | None = None,
              message: str = "") -> ProgressEvent:
        return ProgressEvent(job_id=self.job_id, post_id=self.post_id, target=self.target,
                             phase=phase or self.status, done=done, total=total, message=message)

    def emit(self, *, phase: JobStatus | None = None, message: str = "") -> None:
        """Tell listeners the job's phase (its current status unless ``phase`` is given)."""
        self._rt.progress.emit(self.event(phase=phase, message=message))


def opened_checkpoint(rt: Runtime, job: JobRow) -> dict[str, Any]:
    """``job``'s checkpoint as the platform saved it. Raises
    :class:`~crosspost.core.engine.checkpoints.CheckpointUnreadable` when it cannot be opened."""
    return open_checkpoint(rt.accounts.cipher(), job.id, job.checkpoint) if job.checkpoint else {}


def _publish_id(checkpoint: Mapping[str, Any]) -> str | None:
    """The platform's publish id a checkpoint names (key ``publish_id``), stored in the clear
    beside the sealed checkpoint so a webhook can find the job (it is no secret)."""
    value = checkpoint.get("publish_id")
    return value if isinstance(value, str) and value else None
