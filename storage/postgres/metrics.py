"""Metrics on PostgreSQL: the ``metric_tasks``, ``metric_snapshots`` and ``account_snapshots`` tables.

A mixin of :class:`~crosspost.storage.postgres.storage.PostgresStorage` implementing
:class:`~crosspost.storage.metrics.MetricStore`. Claims use ``FOR UPDATE SKIP LOCKED`` like the
job claim; ``jsonb`` columns hold only counters and extras (platform ids are TEXT columns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crosspost.core.models import ErrorInfo, Target
from crosspost.storage.base import NewEvent
from crosspost.storage.metrics import (
    COLLECTING,
    DONE,
    RESOLVING,
    AccountSnapshotRow,
    MetricTaskRow,
    NewMetricTask,
    PublishedTarget,
    SnapshotRow,
    TaskUpdate,
)
from crosspost.storage.postgres.rows import aware, error_value
from crosspost.storage.postgres.shared import log_event

if TYPE_CHECKING:
    import asyncpg
    from asyncpg import Record

    from crosspost.storage.postgres.rows import Conn

STATEMENTS = (
    f"""CREATE TABLE metric_tasks (
        job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
        post_id TEXT NOT NULL,
        target TEXT NOT NULL,
        publish_id TEXT,
        platform_post_id TEXT,
        post_url TEXT,
        published_at TIMESTAMPTZ NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('{RESOLVING}', '{COLLECTING}', '{DONE}')),
        step INTEGER NOT NULL DEFAULT 0,
        due_at TIMESTAMPTZ NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until TIMESTAMPTZ,
        error JSONB,
        resolved_by TEXT,
        updated_at TIMESTAMPTZ NOT NULL
    )""",
    f"CREATE INDEX metric_tasks_due ON metric_tasks (due_at) WHERE state != '{DONE}'",
    "CREATE INDEX metric_tasks_post ON metric_tasks (post_id)",
    """CREATE TABLE metric_snapshots (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        taken_at TIMESTAMPTZ NOT NULL,
        platform_post_id TEXT NOT NULL,
        metrics JSONB NOT NULL,
        extras JSONB NOT NULL DEFAULT '{}',
        PRIMARY KEY (job_id, step)
    )""",
    """CREATE TABLE account_snapshots (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        target TEXT NOT NULL,
        taken_at TIMESTAMPTZ NOT NULL,
        metrics JSONB NOT NULL,
        extras JSONB NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX account_snapshots_target ON account_snapshots (target, taken_at)",
)
"""Applied by migration ``0005_metrics`` (:mod:`crosspost.storage.postgres.migrations`)."""


def task_row(row: Record) -> MetricTaskRow:
    error: Mapping[str, Any] | None = row["error"]
    return MetricTaskRow(
        job_id=row["job_id"], post_id=row["post_id"], target=Target.parse(row["target"]),
        publish_id=row["publish_id"], platform_post_id=row["platform_post_id"], post_url=row["post_url"],
        published_at=row["published_at"], state=row["state"], step=row["step"], due_at=row["due_at"],
        attempts=row["attempts"], lease_owner=row["lease_owner"], lease_until=row["lease_until"],
        error=None if error is None else ErrorInfo(**error), resolved_by=row["resolved_by"],
        updated_at=row["updated_at"])


def _snapshot(row: Record) -> SnapshotRow:
    return SnapshotRow(job_id=row["job_id"], step=row["step"], taken_at=row["taken_at"],
                       platform_post_id=row["platform_post_id"], metrics=row["metrics"], extras=row["extras"])


class PostgresMetrics:
    """:class:`~crosspost.storage.metrics.MetricStore` for PostgreSQL."""

    _pool: asyncpg.Pool[asyncpg.Record]

    async def published_without_metrics(self, platforms: Sequence[str], *, limit: int = 500) -> list[PublishedTarget]:
        if not platforms:
            return []
        rows = await self._pool.fetch(
            """SELECT id, post_id, target, publish_id, post_url, finished_at FROM jobs
               WHERE status = 'published' AND finished_at IS NOT NULL AND split_part(target, ':', 1) = ANY($1)
                 AND NOT EXISTS (SELECT 1 FROM metric_tasks t WHERE t.job_id = jobs.id)
               ORDER BY finished_at LIMIT $2""", list(platforms), limit)
        return [PublishedTarget(job_id=r["id"], post_id=r["post_id"], target=Target.parse(r["target"]),
                                publish_id=r["publish_id"], post_url=r["post_url"], finished_at=r["finished_at"])
                for r in rows]

    async def insert_metric_tasks(self, tasks: Sequence[NewMetricTask], *, now: datetime) -> int:
        created = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for t in tasks:
                inserted = await conn.fetchval(
                    """INSERT INTO metric_tasks (job_id, post_id, target, publish_id, platform_post_id, post_url,
                           published_at, state, step, due_at, updated_at)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING RETURNING 1""",
                    t.job_id, t.post_id, str(t.target), t.publish_id, t.platform_post_id, t.post_url,
                    aware(t.published_at), t.state, t.step, aware(t.due_at), aware(now))
                created += inserted is not None
        return created

    async def claim_metric_tasks(self, owner: str, *, now: datetime, lease_until: datetime,
                                 limit: int = 100) -> list[MetricTaskRow]:
        rows = await self._pool.fetch(
            f"""UPDATE metric_tasks SET lease_owner = $1, lease_until = $2, updated_at = $3
                WHERE job_id IN (SELECT job_id FROM metric_tasks
                                 WHERE state != '{DONE}' AND due_at <= $3
                                   AND (lease_until IS NULL OR lease_until < $3)
                                 ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                RETURNING *""", owner, aware(lease_until), aware(now), limit)
        return sorted((task_row(r) for r in rows), key=lambda t: (t.due_at, t.job_id))

    async def finish_metric_task(self, job_id: str, owner: str, update: TaskUpdate, *, now: datetime,
                                 snapshot: SnapshotRow | None = None, event: NewEvent | None = None) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            changed = await conn.fetchval(
                """UPDATE metric_tasks SET state = $1, step = $2, due_at = $3, attempts = $4, error = $5,
                       platform_post_id = COALESCE($6, platform_post_id), post_url = COALESCE($7, post_url),
                       resolved_by = COALESCE($8, resolved_by), lease_owner = NULL, lease_until = NULL,
                       updated_at = $9
                   WHERE job_id = $10 AND lease_owner = $11 RETURNING 1""",
                update.state, update.step, aware(update.due_at), update.attempts, error_value(update.error),
                update.platform_post_id, update.post_url, update.resolved_by, aware(now), job_id, owner)
            if changed is None:
                return False
            if snapshot is not None:
                await _insert_snapshot(conn, snapshot)
            if update.post_url is not None:
                await conn.execute("UPDATE jobs SET post_url = $1, updated_at = $2 WHERE id = $3",
                                   update.post_url, aware(now), job_id)
            await log_event(conn, event, now)
        return True

    async def public_id_arrived(self, job_id: str, platform_post_id: str, *, post_url: str | None,
                                resolved_by: str, now: datetime, event: NewEvent | None = None) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            changed = await conn.fetchval(
                f"""UPDATE metric_tasks SET platform_post_id = $1, post_url = COALESCE($2, post_url),
                        resolved_by = $3, updated_at = $4,
                        step = CASE WHEN state = '{RESOLVING}' THEN 0 ELSE step END,
                        due_at = CASE WHEN state = '{RESOLVING}' THEN $4 ELSE due_at END,
                        state = CASE WHEN state = '{RESOLVING}' THEN '{COLLECTING}' ELSE state END
                    WHERE job_id = $5 AND (platform_post_id IS NULL OR post_url IS NULL) RETURNING 1""",
                platform_post_id, post_url, resolved_by, aware(now), job_id)
            if changed is None:
                return False
            if post_url is not None:
                await conn.execute("UPDATE jobs SET post_url = $1, updated_at = $2 WHERE id = $3",
                                   post_url, aware(now), job_id)
            await log_event(conn, event, now)
        return True

    async def wake_metric_tasks(self, target: Target, *, now: datetime) -> int:
        status = await self._pool.execute(
            f"""UPDATE metric_tasks SET due_at = $1, updated_at = $1
                WHERE target = $2 AND state != '{DONE}' AND due_at > $1""", aware(now), str(target))
        return int(status.split()[-1])

    async def list_metric_tasks(self, *, post_id: str) -> list[MetricTaskRow]:
        rows = await self._pool.fetch("SELECT * FROM metric_tasks WHERE post_id = $1 ORDER BY job_id", post_id)
        return [task_row(r) for r in rows]

    async def list_snapshots(self, *, job_ids: Sequence[str]) -> list[SnapshotRow]:
        if not job_ids:
            return []
        rows = await self._pool.fetch("""SELECT * FROM metric_snapshots WHERE job_id = ANY($1)
                                         ORDER BY taken_at, job_id, step""", list(job_ids))
        return [_snapshot(r) for r in rows]

    async def add_account_snapshot(self, row: AccountSnapshotRow) -> None:
        await self._pool.execute("INSERT INTO account_snapshots (target, taken_at, metrics, extras) "
                                 "VALUES ($1, $2, $3, $4)", str(row.target), aware(row.taken_at),
                                 dict(row.metrics), dict(row.extras))

    async def list_account_snapshots(self, target: Target, *, limit: int = 100) -> list[AccountSnapshotRow]:
        rows = await self._pool.fetch("""SELECT * FROM account_snapshots WHERE target = $1
                                         ORDER BY taken_at DESC, id DESC LIMIT $2""", str(target), limit)
        return [AccountSnapshotRow(target=Target.parse(r["target"]), taken_at=r["taken_at"], metrics=r["metrics"],
                                   extras=r["extras"]) for r in reversed(rows)]


async def _insert_snapshot(conn: Conn, s: SnapshotRow) -> None:
    await conn.execute(
        """INSERT INTO metric_snapshots (job_id, step, taken_at, platform_post_id, metrics, extras)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING""",
        s.job_id, s.step, aware(s.taken_at), s.platform_post_id, dict(s.metrics), dict(s.extras))
