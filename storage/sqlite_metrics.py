"""Metrics on SQLite: the ``metric_tasks``, ``metric_snapshots`` and ``account_snapshots`` tables.

A mixin of :class:`~crosspost.storage.sqlite.SqliteStorage` implementing
:class:`~crosspost.storage.metrics.MetricStore` on the same connection and lock. Claims are one
``UPDATE … WHERE job_id IN (SELECT … LIMIT n) RETURNING *`` inside ``BEGIN IMMEDIATE``, the form
the job claim uses, so two processes never take the same task.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

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
from crosspost.storage.sqlite_rows import dt, dt_or_none, dumps, error_json, ts
from crosspost.storage.sqlite_shared import SqliteConnection

SCHEMA = (
    f"""CREATE TABLE metric_tasks (
        job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
        post_id TEXT NOT NULL,
        target TEXT NOT NULL,
        publish_id TEXT,
        platform_post_id TEXT,
        post_url TEXT,
        published_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('{RESOLVING}', '{COLLECTING}', '{DONE}')),
        step INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER,
        error TEXT,
        resolved_by TEXT,
        updated_at INTEGER NOT NULL
    )""",
    f"CREATE INDEX metric_tasks_due ON metric_tasks (due_at) WHERE state != '{DONE}'",
    "CREATE INDEX metric_tasks_post ON metric_tasks (post_id)",
    """CREATE TABLE metric_snapshots (
        job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        taken_at INTEGER NOT NULL,
        platform_post_id TEXT NOT NULL,
        metrics TEXT NOT NULL,
        extras TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (job_id, step)
    )""",
    """CREATE TABLE account_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        taken_at INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        extras TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX account_snapshots_target ON account_snapshots (target, taken_at)",
)
"""Applied by migration ``m005_metrics`` (:mod:`crosspost.storage.migrations`)."""

_PLATFORM = "substr(target, 1, instr(target || ':', ':') - 1)"


def task_row(row: sqlite3.Row) -> MetricTaskRow:
    error = row["error"]
    return MetricTaskRow(
        job_id=row["job_id"], post_id=row["post_id"], target=Target.parse(row["target"]),
        publish_id=row["publish_id"], platform_post_id=row["platform_post_id"], post_url=row["post_url"],
        published_at=dt(row["published_at"]), state=row["state"], step=row["step"], due_at=dt(row["due_at"]),
        attempts=row["attempts"], lease_owner=row["lease_owner"], lease_until=dt_or_none(row["lease_until"]),
        error=None if error is None else ErrorInfo(**json.loads(error)), resolved_by=row["resolved_by"],
        updated_at=dt(row["updated_at"]))


def snapshot_row(row: sqlite3.Row) -> SnapshotRow:
    return SnapshotRow(job_id=row["job_id"], step=row["step"], taken_at=dt(row["taken_at"]),
                       platform_post_id=row["platform_post_id"], metrics=json.loads(row["metrics"]),
                       extras=json.loads(row["extras"]))


class SqliteMetrics(SqliteConnection):
    """:class:`~crosspost.storage.metrics.MetricStore` for SQLite."""

    async def published_without_metrics(self, platforms: Sequence[str], *, limit: int = 500) -> list[PublishedTarget]:
        if not platforms:
            return []
        marks = ", ".join("?" for _ in platforms)
        sql = f"""SELECT id, post_id, target, publish_id, post_url, finished_at FROM jobs
                  WHERE status = 'published' AND finished_at IS NOT NULL AND {_PLATFORM} IN ({marks})
                    AND NOT EXISTS (SELECT 1 FROM metric_tasks t WHERE t.job_id = jobs.id)
                  ORDER BY finished_at LIMIT ?"""
        async with self._lock:
            rows = await self._all(self._db, sql, (*platforms, limit))
        return [PublishedTarget(job_id=r["id"], post_id=r["post_id"], target=Target.parse(r["target"]),
                                publish_id=r["publish_id"], post_url=r["post_url"],
                                finished_at=dt(r["finished_at"])) for r in rows]

    async def insert_metric_tasks(self, tasks: Sequence[NewMetricTask], *, now: datetime) -> int:
        created = 0
        async with self._tx() as db:
            for t in tasks:
                created += await self._changes(
                    db, """INSERT INTO metric_tasks (job_id, post_id, target, publish_id, platform_post_id,
                               post_url, published_at, state, step, due_at, updated_at)
                           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
                    (t.job_id, t.post_id, str(t.target), t.publish_id, t.platform_post_id, t.post_url,
                     ts(t.published_at), t.state, t.step, ts(t.due_at), ts(now)))
        return created

    async def claim_metric_tasks(self, owner: str, *, now: datetime, lease_until: datetime,
                                 limit: int = 100) -> list[MetricTaskRow]:
        sql = f"""UPDATE metric_tasks SET lease_owner = :owner, lease_until = :until, updated_at = :now
                  WHERE job_id IN (SELECT job_id FROM metric_tasks
                                   WHERE state != '{DONE}' AND due_at <= :now
                                     AND (lease_until IS NULL OR lease_until < :now)
                                   ORDER BY due_at LIMIT :limit)
                  RETURNING *"""
        async with self._tx() as db:
            rows = await self._all(db, sql, {"owner": owner, "until": ts(lease_until), "now": ts(now),
                                             "limit": limit})
        return sorted((task_row(r) for r in rows), key=lambda t: (t.due_at, t.job_id))

    async def finish_metric_task(self, job_id: str, owner: str, update: TaskUpdate, *, now: datetime,
                                 snapshot: SnapshotRow | None = None, event: NewEvent | None = None) -> bool:
        async with self._tx() as db:
            changed = await self._changes(
                db, """UPDATE metric_tasks SET state = ?, step = ?, due_at = ?, attempts = ?, error = ?,
                           platform_post_id = COALESCE(?, platform_post_id), post_url = COALESCE(?, post_url),
                           resolved_by = COALESCE(?, resolved_by), lease_owner = NULL, lease_until = NULL,
                           updated_at = ?
                       WHERE job_id = ? AND lease_owner = ?""",
                (update.state, update.step, ts(update.due_at), update.attempts, error_json(update.error),
                 update.platform_post_id, update.post_url, update.resolved_by, ts(now), job_id, owner))
            if not changed:
                return False
            if snapshot is not None:
                await self._insert_snapshot(db, snapshot)
            if update.post_url is not None:
                await db.execute("UPDATE jobs SET post_url = ?, updated_at = ? WHERE id = ?",
                                 (update.post_url, ts(now), job_id))
            await self._log(db, event, now)
        return True

    async def _insert_snapshot(self, db: aiosqlite.Connection, s: SnapshotRow) -> None:
        await db.execute(
            """INSERT INTO metric_snapshots (job_id, step, taken_at, platform_post_id, metrics, extras)
               VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            (s.job_id, s.step, ts(s.taken_at), s.platform_post_id, dumps(dict(s.metrics)), dumps(dict(s.extras))))

    async def public_id_arrived(self, job_id: str, platform_post_id: str, *, post_url: str | None,
                                resolved_by: str, now: datetime, event: NewEvent | None = None) -> bool:
        async with self._tx() as db:
            changed = await self._changes(
                db, f"""UPDATE metric_tasks SET platform_post_id = ?, post_url = COALESCE(?, post_url),
                            resolved_by = ?, updated_at = ?,
                            state = CASE WHEN state = '{RESOLVING}' THEN '{COLLECTING}' ELSE state END,
                            step = CASE WHEN state = '{RESOLVING}' THEN 0 ELSE step END,
                            due_at = CASE WHEN state = '{RESOLVING}' THEN ? ELSE due_at END
                        WHERE job_id = ? AND (platform_post_id IS NULL OR post_url IS NULL)""",
                (platform_post_id, post_url, resolved_by, ts(now), ts(now), job_id))
            if changed and post_url is not None:
                await db.execute("UPDATE jobs SET post_url = ?, updated_at = ? WHERE id = ?",
                                 (post_url, ts(now), job_id))
            if changed:
                await self._log(db, event, now)
        return changed > 0

    async def wake_metric_tasks(self, target: Target, *, now: datetime) -> int:
        async with self._tx() as db:
            return await self._changes(
                db, f"""UPDATE metric_tasks SET due_at = ?, updated_at = ?
                        WHERE target = ? AND state != '{DONE}' AND due_at > ?""",
                (ts(now), ts(now), str(target), ts(now)))

    async def list_metric_tasks(self, *, post_id: str) -> list[MetricTaskRow]:
        async with self._lock:
            rows = await self._all(self._db, "SELECT * FROM metric_tasks WHERE post_id = ? ORDER BY job_id",
                                   (post_id,))
        return [task_row(r) for r in rows]

    async def list_snapshots(self, *, job_ids: Sequence[str]) -> list[SnapshotRow]:
        if not job_ids:
            return []
        marks = ", ".join("?" for _ in job_ids)
        async with self._lock:
            rows = await self._all(self._db, f"""SELECT * FROM metric_snapshots WHERE job_id IN ({marks})
                                                 ORDER BY taken_at, job_id, step""", tuple(job_ids))
        return [snapshot_row(r) for r in rows]

    async def add_account_snapshot(self, row: AccountSnapshotRow) -> None:
        async with self._tx() as db:
            await db.execute("INSERT INTO account_snapshots (target, taken_at, metrics, extras) VALUES (?, ?, ?, ?)",
                             (str(row.target), ts(row.taken_at), dumps(dict(row.metrics)), dumps(dict(row.extras))))

    async def list_account_snapshots(self, target: Target, *, limit: int = 100) -> list[AccountSnapshotRow]:
        async with self._lock:
            rows = await self._all(self._db, """SELECT * FROM account_snapshots WHERE target = ?
                                               ORDER BY taken_at DESC, id DESC LIMIT ?""", (str(target), limit))
        return [AccountSnapshotRow(target=Target.parse(r["target"]), taken_at=dt(r["taken_at"]),
                                   metrics=json.loads(r["metrics"]), extras=json.loads(r["extras"]))
                for r in reversed(rows)]
