"""The PostgreSQL backend (asyncpg): a connection pool, short transactions, one-statement claims.

Every method takes a pooled connection for one transaction (or one statement, which PostgreSQL
runs as its own transaction) and gives it back, so one :class:`PostgresStorage` serves all the
tasks of a process, and any number of processes on any number of machines share the database.

Concurrency, beyond what each statement does alone:

* claims: ``FOR UPDATE SKIP LOCKED`` in the claim statement (:mod:`.sql`);
* running jobs: every update is fenced by lease owner and token in its ``WHERE``;
* edits of a post lock its job rows first (``FOR UPDATE``), so a claim cannot slip in between
  the check "all still scheduled" and the replacement;
* shared rate windows: a transaction-scoped advisory lock per key serialises check-and-record;
* idempotency keys: ``INSERT … ON CONFLICT DO NOTHING`` waits for a concurrent insert of the
  same key and then returns the winner's post.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crosspost.core.models import ErrorInfo, JobStatus, Post
from crosspost.storage.base import (
    RUNNING,
    WAITING,
    JobRow,
    Lease,
    NewEvent,
    NewJob,
    NewPost,
    PostRow,
)
from crosspost.storage.postgres import migrations
from crosspost.storage.postgres.bulk import BulkImport
from crosspost.storage.postgres.metrics import PostgresMetrics
from crosspost.storage.postgres.notify import WorkListener
from crosspost.storage.postgres.rows import (
    aware,
    error_value,
    job_row,
    post_body,
    post_row,
)
from crosspost.storage.postgres.shared import NO_FLUSH, SharedState, log_event
from crosspost.storage.postgres.sql import RUNNING_SQL, WAITING_SQL, Params, claim_sql, fence_sql, with_event_sql
from crosspost.storage.rows import inserted_post_row, post_from_value

if TYPE_CHECKING:
    import asyncpg

    from crosspost.storage.postgres.rows import Conn


_INSERT_POST = """
WITH post AS (
    INSERT INTO posts (id, idempotency_key, body, created_at, updated_at)
    VALUES ($1, $2, $3, $4, $4) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id),
new_jobs AS (
    INSERT INTO jobs (id, post_id, position, target, status, run_at, warnings, error, created_at, updated_at)
    SELECT j.id, post.id, j.position, j.target, j.status, j.run_at,
           ARRAY(SELECT jsonb_array_elements_text(j.warnings)), j.error, $4, $4
    FROM post, jsonb_to_recordset($5::jsonb) AS j(id TEXT, position INTEGER, target TEXT, status TEXT,
                                                 run_at TIMESTAMPTZ, warnings JSONB, error JSONB)),
logged AS (
    INSERT INTO events (at, kind, post_id, job_id, data)
    SELECT $4, $6::text, post.id, $7::text, $8::jsonb FROM post WHERE $6::text IS NOT NULL)
SELECT id FROM post, LATERAL (SELECT pg_notify($9, '')) AS woken
"""
"""A new post, its jobs (as one JSON array), its event and the workers' wake-up, in one statement;
no row when the idempotency key is taken (then nothing was written)."""


class PostgresStorage(SharedState, BulkImport, PostgresMetrics):
    """:class:`~crosspost.storage.base.Storage` on a PostgreSQL database (one schema of it)."""

    backend = "postgresql"

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], *, display: str, listener: WorkListener) -> None:
        self._pool = pool
        self._display = display
        self._listener = listener
        self.channel = listener.channel
        """The ``NOTIFY`` channel writers signal when work becomes due."""

    def __repr__(self) -> str:
        return f"PostgresStorage({self._display!r})"

    @property
    def pool_size(self) -> int:
        """Most connections this process opens to the database (plus one for LISTEN)."""
        return self._pool.get_max_size()

    async def close(self) -> None:
        await self._listener.close()
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def _tx(self) -> AsyncIterator[Conn]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def _notify(self, conn: Conn) -> None:
        await conn.execute("SELECT pg_notify($1, '')", self.channel)

    async def wait_for_work(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait (wall clock) until another process or task makes a job due or waiting, at most
        ``timeout`` seconds (None: no limit). True when woken, False on timeout. Wake-ups are
        hints: claim afterwards, and keep polling with ``next_wakeup`` for jobs that simply
        become due as time passes (those send no notification)."""
        return await self._listener.wait(timeout)

    # -- schema ------------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        async with self._pool.acquire() as conn:
            return await migrations.apply(conn)

    async def pending_migrations(self) -> list[str]:
        async with self._pool.acquire() as conn:
            return await migrations.pending(conn)

    async def applied_migrations(self) -> list[str]:
        """Names recorded in ``crosspost_migrations``, oldest first (for ``crosspost migrate``)."""
        async with self._pool.acquire() as conn:
            return await migrations.applied(conn)

    # -- posts -------------------------------------------------------------------------------

    async def _post(self, conn: Conn, post_id: str) -> PostRow | None:
        row = await conn.fetchrow("SELECT * FROM posts WHERE id = $1", post_id)
        if row is None:
            return None
        jobs = await conn.fetch("SELECT * FROM jobs WHERE post_id = $1", post_id)
        return post_row(row, [job_row(j) for j in jobs])

    async def _insert_jobs(self, conn: Conn, post_id: str, jobs: Iterable[NewJob], now: datetime) -> None:
        await conn.executemany(
            """INSERT INTO jobs (id, post_id, position, target, status, run_at, warnings, error,
                                 created_at, updated_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)""",
            [(j.id, post_id, i, str(j.target), j.status.value, aware(j.run_at), list(j.warnings),
              error_value(j.error), aware(now)) for i, j in enumerate(jobs)],
        )

    async def insert_post(self, new: NewPost, *, event: NewEvent | None = None) -> tuple[PostRow, bool]:
        now = aware(new.created_at)
        jobs = [{"id": j.id, "position": i, "target": str(j.target), "status": j.status.value,
                 "run_at": aware(j.run_at).isoformat(), "warnings": list(j.warnings), "error": error_value(j.error)}
                for i, j in enumerate(new.jobs)]
        logged = (event.kind, event.job_id, dict(event.data)) if event is not None else (None, None, None)
        # One round trip (was six: BEGIN, the post, its jobs, the event, NOTIFY, COMMIT).
        inserted = await self._pool.fetchval(_INSERT_POST, new.id, new.post.idempotency_key,
                                             post_body(new.post), now, jobs, *logged, self.channel)
        if inserted is not None:
            return inserted_post_row(new), True
        async with self._tx() as conn:  # the idempotency key is taken: the post stored with it
            existing_id = await conn.fetchval("SELECT id FROM posts WHERE idempotency_key = $1",
                                              new.post.idempotency_key)
            existing = await self._post(conn, existing_id)
        assert existing is not None
        return existing, False

    async def find_post_by_key(self, idempotency_key: str) -> PostRow | None:
        async with self._tx() as conn:
            found = await conn.fetchval("SELECT id FROM posts WHERE idempotency_key = $1", idempotency_key)
            return None if found is None else await self._post(conn, found)

    async def get_post(self, post_id: str) -> PostRow | None:
        # REPEATABLE READ so the post and its jobs come from one snapshot.
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            return await self._post(conn, post_id)

    async def get_post_body(self, post_id: str) -> Post | None:
        body = await self._pool.fetchval("SELECT body FROM posts WHERE id = $1", post_id)
        return None if body is None else post_from_value(body)

    async def list_posts(self, *, status: JobStatus | None = None, limit: int = 100) -> list[PostRow]:
        where = "WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.post_id = posts.id AND jobs.status = $2)"
        sql = f"SELECT * FROM posts {where if status else ''} ORDER BY created_at DESC, seq DESC LIMIT $1"
        args: list[Any] = [limit, status.value] if status else [limit]
        async with self._pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            posts = await conn.fetch(sql, *args)
            if not posts:
                return []
            ids = [p["id"] for p in posts]
            jobs = await conn.fetch("SELECT * FROM jobs WHERE post_id = ANY($1::text[])", ids)
        by_post: dict[str, list[JobRow]] = {i: [] for i in ids}
        for j in jobs:
            by_post[j["post_id"]].append(job_row(j))
        return [post_row(p, by_post[p["id"]]) for p in posts]

    async def replace_post(self, post_id: str, post: Post, jobs: Sequence[NewJob], *, now: datetime,
                           event: NewEvent | None = None) -> PostRow | None:
        async with self._tx() as conn:
            current = await conn.fetch(
                "SELECT status, lease_owner FROM jobs WHERE post_id = $1 ORDER BY id FOR UPDATE", post_id)
            if not current or any(r["status"] != "scheduled" or r["lease_owner"] is not None for r in current):
                return None
            await conn.execute("DELETE FROM jobs WHERE post_id = $1", post_id)
            await self._insert_jobs(conn, post_id, jobs, now)
            await conn.execute("UPDATE posts SET body = $1, updated_at = $2 WHERE id = $3",
                               post_body(post), aware(now), post_id)
            await log_event(conn, event, now)
            await self._notify(conn)
            return await self._post(conn, post_id)

    async def reschedule_post(self, post_id: str, post: Post, run_at: datetime, *, now: datetime,
                              event: NewEvent | None = None) -> PostRow | None:
        status = "scheduled" if aware(run_at) > aware(now) else "queued"
        async with self._tx() as conn:
            changed = await conn.fetch(
                f"""UPDATE jobs SET run_at = $1, updated_at = $2,
                        status = CASE WHEN blocked_on IS NOT NULL THEN status ELSE $3 END
                    WHERE post_id = $4 AND status IN {WAITING_SQL} RETURNING id""",
                run_at, now, status, post_id)
            if not changed:
                return None
            await conn.execute("UPDATE posts SET body = $1, updated_at = $2 WHERE id = $3",
                               post_body(post), now, post_id)
            await log_event(conn, event, now)
            await self._notify(conn)
            return await self._post(conn, post_id)

    async def cancel_post(self, post_id: str, *, now: datetime,
                          event: NewEvent | None = None) -> list[JobRow]:
        async with self._tx() as conn:
            stopped = await conn.fetch(
                f"""UPDATE jobs SET status = 'cancelled', finished_at = $2, updated_at = $2, blocked_on = NULL
                    WHERE post_id = $1 AND status IN {WAITING_SQL} RETURNING *""", post_id, aware(now))
            flagged = await conn.fetch(
                f"""UPDATE jobs SET cancel_requested = TRUE, updated_at = $2
                    WHERE post_id = $1 AND status IN {RUNNING_SQL} AND NOT cancel_requested
                    RETURNING *""", post_id, now)
            if stopped or flagged:
                await log_event(conn, event, now)
        return sorted((job_row(r) for r in [*stopped, *flagged]), key=lambda j: j.position)

    async def retry_failed(self, post_id: str, *, now: datetime,
                           event: NewEvent | None = None) -> list[JobRow]:
        async with self._tx() as conn:
            queued = await conn.fetch(
                """UPDATE jobs SET status = 'queued', run_at = $2, attempts = 0, error = NULL, finished_at = NULL,
                       lease_owner = NULL, lease_until = NULL, cancel_requested = FALSE, blocked_on = NULL,
                       updated_at = $2
                   WHERE post_id = $1 AND status = 'failed' RETURNING *""", post_id, aware(now))
            if queued:
                await log_event(conn, event, now)
                await self._notify(conn)
        return sorted((job_row(r) for r in queued), key=lambda j: j.position)

    # -- jobs --------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobRow | None:
        row = await self._pool.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
        return None if row is None else job_row(row)

    async def claim_job(self, owner: str, *, now: datetime, lease_until: datetime,
                        post_id: str | None = None, log_start: bool = False) -> JobRow | None:
        p = Params()
        sql = claim_sql(p, owner=owner, now=aware(now), until=aware(lease_until), post_id=post_id)
        if log_start:
            # One statement: the claim and its ``started`` event (rows.started_event's shape).
            sql = f"""WITH claimed AS ({sql}),
    logged AS (INSERT INTO events (at, kind, post_id, job_id, data)
               SELECT {p(aware(now))}::timestamptz, 'started', post_id, id,
                      jsonb_build_object('owner', lease_owner, 'token', lease_token,
                                         'resumed', checkpoint <> '{{}}'::jsonb)
               FROM claimed)
SELECT * FROM claimed"""
        row = await self._pool.fetchrow(sql, *p.values)
        return None if row is None else job_row(row)

    async def _fenced(self, lease: Lease, sets: Callable[[Params], str], *, event: NewEvent | None,
                      now: datetime, notify: bool = False, extra: str = "", durable: bool = True) -> bool:
        """Run ``UPDATE jobs SET <sets> WHERE <fence> <extra>`` with its event, in one statement;
        without ``durable`` its commit does not wait for the WAL flush (:data:`NO_FLUSH`)."""
        p = Params()
        fence = fence_sql(p, job_id=lease.job_id, owner=lease.owner, token=lease.token)
        unflushed = "" if durable else f" FROM (SELECT {NO_FLUSH}) AS no_flush"
        update = f"UPDATE jobs SET {sets(p)}{unflushed} WHERE {fence} {extra} RETURNING id"
        logged = None
        if event is not None:
            logged = (aware(now), event.kind, event.post_id, event.job_id, dict(event.data))
        sql = with_event_sql(p, update, event=logged, notify=self.channel if notify else None)
        changed: int = await self._pool.fetchval(sql, *p.values)
        return changed > 0

    async def extend_lease(self, lease: Lease, *, until: datetime) -> bool:
        p = Params()
        sql = (f"UPDATE jobs SET lease_until = {p(aware(until))} "
               f"WHERE {fence_sql(p, job_id=lease.job_id, owner=lease.owner, token=lease.token)}")
        return await self._pool.execute(sql, *p.values) != "UPDATE 0"

    async def save_checkpoint(self, lease: Lease, checkpoint: Mapping[str, Any], *,
                              status: JobStatus | None, now: datetime, lease_until: datetime,
                              event: NewEvent | None = None, publish_id: str | None = None,
                              durable: bool = True) -> bool:
        if status is not None and status not in RUNNING:
            raise ValueError(f"a checkpoint may set a running status only, not {status.value!r}")

        def sets(p: Params) -> str:
            return (f"checkpoint = {p(dict(checkpoint))}, status = COALESCE({p(status.value if status else None)}, "
                    f"status), publish_id = COALESCE({p(publish_id)}::text, publish_id), "
                    f"lease_until = {p(aware(lease_until))}, updated_at = {p(aware(now))}")

        # A cancellation request stops the job at its next save, like a lost lease.
        return await self._fenced(lease, sets, event=event, now=now, extra="AND NOT cancel_requested",
                                  durable=durable)

    async def release_job(self, lease: Lease, *, status: JobStatus, run_at: datetime, attempts: int,
                          now: datetime, error: ErrorInfo | None = None, blocked_on: str | None = None,
                          event: NewEvent | None = None) -> bool:
        if status not in WAITING:
            raise ValueError(f"a released job waits (queued/deferred), not {status.value!r}")

        def sets(p: Params) -> str:
            return (f"status = {p(status.value)}, run_at = {p(aware(run_at))}, attempts = {p(attempts)}, "
                    f"error = {p(error_value(error))}, blocked_on = {p(blocked_on)}, lease_owner = NULL, "
                    f"lease_until = NULL, updated_at = {p(aware(now))}")

        # Other processes' idle workers may want it (a shutdown release is due at once).
        return await self._fenced(lease, sets, event=event, now=now, notify=True)

    async def finish_job(self, lease: Lease, *, status: JobStatus, now: datetime,
                         publish_id: str | None = None, post_url: str | None = None,
                         warnings: Sequence[str] = (), error: ErrorInfo | None = None,
                         event: NewEvent | None = None) -> bool:
        if not status.terminal:
            raise ValueError(f"finish_job takes a terminal status, not {status.value!r}")

        def sets(p: Params) -> str:
            at = p(aware(now))
            return (f"status = {p(status.value)}, publish_id = {p(publish_id)}, post_url = {p(post_url)}, "
                    f"warnings = {p(list(warnings))}, error = {p(error_value(error))}, lease_until = NULL, "
                    f"finished_at = {at}, updated_at = {at}")

        return await self._fenced(lease, sets, event=event, now=now)

    async def next_wakeup(self, *, post_id: str | None = None, owner: str | None = None) -> datetime | None:
        post = "AND post_id = $2" if post_id else ""
        sql = f"""SELECT MIN(due_at) FROM jobs
                  WHERE due_at IS NOT NULL {post}
                    AND (status IN {WAITING_SQL} OR lease_owner IS DISTINCT FROM $1::text)"""
        args = (owner, post_id) if post_id else (owner,)
        wakeup: datetime | None = await self._pool.fetchval(sql, *args)
        return wakeup

    async def unblock_jobs(self, blocked_on: str, *, now: datetime) -> int:
        async with self._tx() as conn:
            rows = await conn.fetch(
                f"""UPDATE jobs SET status = 'queued', run_at = $1, blocked_on = NULL, error = NULL, updated_at = $1
                    WHERE blocked_on = $2 AND status IN {WAITING_SQL} RETURNING id""", aware(now), blocked_on)
            if rows:
                await self._notify(conn)
        return len(rows)

    async def find_job_by_publish_id(self, publish_id: str) -> JobRow | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM jobs WHERE publish_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1", publish_id)
        return None if row is None else job_row(row)

    async def reconcile_job(self, job_id: str, *, status: JobStatus, now: datetime, post_url: str | None = None,
                            error: ErrorInfo | None = None, event: NewEvent | None = None) -> bool:
        if status not in (JobStatus.PUBLISHED, JobStatus.FAILED):
            raise ValueError(f"an unknown job is reconciled as published or failed, not {status.value!r}")
        async with self._tx() as conn:
            rows = await conn.fetch(
                """UPDATE jobs SET status = $1, post_url = COALESCE($2, post_url), error = $3, finished_at = $4,
                       updated_at = $4
                   WHERE id = $5 AND status = 'unknown' RETURNING id""",
                status.value, post_url, error_value(error), aware(now), job_id)
            if rows:
                await log_event(conn, event, now)
        return bool(rows)

    async def hurry_job(self, job_id: str, *, now: datetime, event: NewEvent | None = None) -> bool:
        async with self._tx() as conn:
            rows = await conn.fetch(
                f"""UPDATE jobs SET run_at = $1, updated_at = $1
                    WHERE id = $2 AND status IN {WAITING_SQL} AND blocked_on IS NULL AND run_at > $1
                    RETURNING id""", aware(now), job_id)
            await log_event(conn, event, now)
            if rows:
                await self._notify(conn)
        return bool(rows)
