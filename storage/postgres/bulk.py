"""Writing exported rows back as they were (``crosspost import``), for :mod:`crosspost.storage.transfer`.

Unlike :meth:`~PostgresStorage.insert_post`, these keep every stored fact: job states, attempts,
checkpoints, publish ids, leases with their fencing tokens (so a worker still holding a lease
from before the move is fenced as usual), and event ids. Rows that already exist are skipped,
so an interrupted import can simply be run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from crosspost.storage.base import EventRow, JobRow, PostRow
from crosspost.storage.postgres.rows import aware, aware_or_none, error_value, post_body

if TYPE_CHECKING:
    import asyncpg

_JOB_COLUMNS = ("id", "post_id", "position", "target", "status", "run_at", "attempts", "lease_owner",
                "lease_token", "lease_until", "cancel_requested", "blocked_on", "checkpoint", "publish_id",
                "post_url", "warnings", "error", "started_at", "created_at", "updated_at", "finished_at")


def _job_values(job: JobRow) -> tuple[object, ...]:
    lease = job.lease
    return (job.id, job.post_id, job.position, str(job.target), job.status.value, aware(job.run_at),
            job.attempts, lease.owner if lease else None, lease.token if lease else 0,
            aware_or_none(job.lease_until), job.cancel_requested, job.blocked_on, dict(job.checkpoint),
            job.publish_id, job.post_url, list(job.warnings), error_value(job.error),
            aware_or_none(job.started_at), aware(job.created_at), aware(job.updated_at),
            aware_or_none(job.finished_at))


class BulkImport:
    """The import half of :class:`~crosspost.storage.postgres.storage.PostgresStorage`."""

    _pool: asyncpg.Pool[asyncpg.Record]

    async def import_post(self, row: PostRow) -> bool:
        """Store ``row`` and its jobs exactly as exported; False (nothing written) when a post
        with its id or idempotency key exists."""
        marks = ", ".join(f"${i}" for i in range(1, len(_JOB_COLUMNS) + 1))
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """INSERT INTO posts (id, idempotency_key, body, created_at, updated_at)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id""",
                row.id, row.post.idempotency_key, post_body(row.post), aware(row.created_at),
                aware(row.updated_at))
            if inserted is None:
                return False
            await conn.executemany(f"INSERT INTO jobs ({', '.join(_JOB_COLUMNS)}) VALUES ({marks})",
                                   [_job_values(j) for j in row.jobs])
        return True

    async def import_events(self, rows: Sequence[EventRow]) -> None:
        """Store events with their ids (skipping ids already present) and move the id sequence
        past them, so new events sort after imported ones."""
        if not rows:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                """INSERT INTO events (id, at, kind, post_id, job_id, data) VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (id) DO NOTHING""",
                [(e.id, aware(e.at), e.kind, e.post_id, e.job_id, dict(e.data)) for e in rows])
            await conn.execute("""SELECT setval(pg_get_serial_sequence('events', 'id'),
                                                GREATEST((SELECT max(id) FROM events), 1))""")
