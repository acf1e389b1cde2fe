"""The metrics part of the storage contract: one task row per published target, snapshot rows.

Kept beside :class:`~crosspost.storage.base.Storage` rather than inside it, so a backend grows
metrics without every other part of the contract moving: :func:`metric_store` hands out the
backend as a :class:`MetricStore` (both built-in backends are one). Rules:

* a task is claimed by one worker at a time (``lease_owner`` until ``lease_until``); its updates
  are fenced by the owner, so a worker that lost the claim changes nothing;
* a snapshot is keyed by ``(job_id, step)``: writing the same reading twice (a crash between the
  write and the task update, two workers) stores it once;
* platform ids are TEXT columns: a 19-digit id never passes through a float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

from crosspost.core.errors import ConfigError
from crosspost.core.models import ErrorInfo, Target
from crosspost.storage.base import NewEvent

RESOLVING, COLLECTING, DONE = "resolving", "collecting", "done"
"""Task states: waiting for the public id, taking readings, schedule over."""


@attrs.frozen(kw_only=True)
class PublishedTarget:
    """A published job that has no metrics task yet (what discovery reads)."""

    job_id: str
    post_id: str
    target: Target
    publish_id: str | None
    post_url: str | None
    finished_at: datetime


@attrs.frozen(kw_only=True)
class NewMetricTask:
    job_id: str
    post_id: str
    target: Target
    publish_id: str | None
    platform_post_id: str | None
    post_url: str | None
    published_at: datetime
    state: str
    step: int
    due_at: datetime


@attrs.frozen(kw_only=True)
class MetricTaskRow:
    """Where one published target stands in its metrics schedule."""

    job_id: str
    post_id: str
    target: Target
    publish_id: str | None
    platform_post_id: str | None
    post_url: str | None
    published_at: datetime
    state: str
    step: int
    """The next reading's index into ``SNAPSHOT_AFTER`` (or resolve attempt while resolving)."""
    due_at: datetime
    attempts: int
    """Failed tries in a row (reset by a success)."""
    lease_owner: str | None
    lease_until: datetime | None
    error: ErrorInfo | None
    resolved_by: str | None
    updated_at: datetime


@attrs.frozen(kw_only=True)
class TaskUpdate:
    """What a worker writes back after working a task (the lease is released)."""

    state: str
    step: int
    due_at: datetime
    attempts: int = 0
    error: ErrorInfo | None = None
    platform_post_id: str | None = None
    post_url: str | None = None
    resolved_by: str | None = None


@attrs.frozen(kw_only=True)
class SnapshotRow:
    job_id: str
    step: int
    taken_at: datetime
    platform_post_id: str
    metrics: Mapping[str, int]
    extras: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class AccountSnapshotRow:
    target: Target
    taken_at: datetime
    metrics: Mapping[str, int]
    extras: Mapping[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class MetricStore(Protocol):
    """What the metrics engine, ``crosspost stats`` and the dashboard need from storage."""

    async def published_without_metrics(self, platforms: Sequence[str], *, limit: int = 500) -> list[PublishedTarget]:
        """Published jobs on ``platforms`` that have no task yet, oldest first."""
        ...

    async def insert_metric_tasks(self, tasks: Sequence[NewMetricTask], *, now: datetime) -> int:
        """Create tasks; one that exists already is left alone. Returns how many were new."""
        ...

    async def claim_metric_tasks(self, owner: str, *, now: datetime, lease_until: datetime,
                                 limit: int = 100) -> list[MetricTaskRow]:
        """Take up to ``limit`` due tasks (resolving or collecting, ``due_at <= now``, unleased or
        lease expired), earliest first, each for ``owner`` until ``lease_until``."""
        ...

    async def finish_metric_task(self, job_id: str, owner: str, update: TaskUpdate, *, now: datetime,
                                 snapshot: SnapshotRow | None = None, event: NewEvent | None = None) -> bool:
        """Write ``update`` (releasing the lease), the snapshot (once per ``(job_id, step)``) and
        the event in one transaction. A resolved ``post_url`` is also set on the job. False,
        writing nothing, when ``owner`` no longer holds the task."""
        ...

    async def public_id_arrived(self, job_id: str, platform_post_id: str, *, post_url: str | None,
                                resolved_by: str, now: datetime, event: NewEvent | None = None) -> bool:
        """Record a public id learnt outside a task's run (a webhook): a resolving task becomes
        collecting, due now; the job's ``post_url`` is set when given. False when no task."""
        ...

    async def wake_metric_tasks(self, target: Target, *, now: datetime) -> int:
        """Make every unfinished task of ``target``'s account due now (after a reconnect)."""
        ...

    async def list_metric_tasks(self, *, post_id: str) -> list[MetricTaskRow]:
        ...

    async def list_snapshots(self, *, job_ids: Sequence[str]) -> list[SnapshotRow]:
        """Oldest first."""
        ...

    async def add_account_snapshot(self, row: AccountSnapshotRow) -> None:
        ...

    async def list_account_snapshots(self, target: Target, *, limit: int = 100) -> list[AccountSnapshotRow]:
        """Oldest first (the latest ``limit``)."""
        ...


def metric_store(storage: object) -> MetricStore:
    """``storage`` as a :class:`MetricStore`; ConfigError when its backend keeps no metrics."""
    if not isinstance(storage, MetricStore):
        raise ConfigError(f"the {getattr(storage, 'backend', type(storage).__name__)} storage backend keeps no "
                          "metrics; use the SQLite or PostgreSQL backend")
    return storage
