"""The SQLite backend (aiosqlite): WAL, a busy timeout, short transactions, one-statement claims.

One connection per process, owned by :class:`SqliteStorage`; aiosqlite runs it in its own
thread and each transaction is one synchronous call there (:mod:`.sqlite_thread`), so a
transaction costs one thread hand-off, not one per statement. Writers open
``BEGIN IMMEDIATE`` so they take the write lock up front and wait in SQLite's busy handler rather
than failing with *database is locked* on upgrade. A job is claimed by reading the due job and
updating it by id *inside one* ``BEGIN IMMEDIATE`` transaction, which holds the write lock from
its first statement: no other process can claim in between. (Measured with two processes,
``shared/RELIABILITY.md``: read-then-update in separate transactions double-claimed thousands of
jobs and a deferred ``BEGIN`` hit thousands of lock errors; the immediate transaction had neither,
and ``tests/reliability`` runs 2,000 jobs through two worker processes exactly once.)
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from crosspost.core.models import ErrorInfo, JobStatus, Post
from crosspost.storage import migrations
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
from crosspost.storage.rows import inserted_post_row, started_event
from crosspost.storage.sqlite_metrics import SqliteMetrics
from crosspost.storage.sqlite_rows import (
    dt_or_none,
    dumps,
    error_json,
    job_row,
    post_from_body,
    post_json,
    post_row,
    ts,
)
from crosspost.storage.sqlite_shared import SqliteShared, enable_wal, flushes_itself, log_event
from crosspost.storage.sqlite_sync import BACKSTOP_PAGES
from crosspost.storage.sqlite_thread import SYNC_LEVELS, changes, every, one

_WAITING = "('scheduled', 'queued', 'deferred')"
_RUNNING = "('validating', 'uploading', 'processing')"
assert {s.value for s in WAITING} == {"scheduled", "queued", "deferred"}
assert {s.value for s in RUNNING} == {"validating", "uploading", "processing"}

_FENCE = f"id = :job_id AND lease_owner = :owner AND lease_token = :token AND status IN {_RUNNING}"

_CLAIM_WAITING = f"""SELECT id, run_at AS due FROM jobs
    WHERE status IN {_WAITING} AND blocked_on IS NULL AND run_at <= :now {{post}} ORDER BY run_at LIMIT 1"""
_CLAIM_EXPIRED = f"""SELECT id, lease_until AS due FROM jobs
    WHERE status IN {_RUNNING} AND lease_until < :now AND lease_owner != :owner {{post}} ORDER BY lease_until LIMIT 1"""
_CLAIM = f"""
UPDATE jobs SET
    status = CASE WHEN status IN {_WAITING} THEN 'validating' ELSE status END,
    lease_owner = :owner, lease_token = lease_token + 1, lease_until = :until,
    started_at = COALESCE(started_at, :now), updated_at = :now
WHERE id = :id
RETURNING *
"""


def _claim(db: sqlite3.Connection, post: str, params: dict[str, Any]) -> sqlite3.Row | None:
    """The due job that waited longest, claimed: the earliest of the first waiting job and the
    first job whose lease ran out. Two index lookups and an update by id, inside the caller's
    ``BEGIN IMMEDIATE`` (no other process can claim in between). One statement with a ``UNION
    ALL`` of both lookups did the same at 2.7x the CPU (a temporary B-tree to order two rows)."""
    waiting = one(db, _CLAIM_WAITING.format(post=post), params)
    expired = one(db, _CLAIM_EXPIRED.format(post=post), params)
    found = [row for row in (waiting, expired) if row is not None]
    if not found:
        return None
    first = min(found, key=lambda row: row["due"])
    return one(db, _CLAIM, {**params, "id": first["id"]})


def sqlite_path(url_or_path: str) -> str:
    """The file path in ``sqlite:///path`` (or the path itself); ``:memory:`` stays as is."""
    for prefix in ("sqlite:///", "sqlite://"):
        if url_or_path.startswith(prefix):
            return url_or_path[len(prefix):] or ":memory:"
    return url_or_path


def _prepare_path(path: str) -> str:
    """``path`` with ``~`` expanded and its folder created (a new install has no data folder)."""
    if path == ":memory:":
        return path
    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    return str(file)


async def connect(url_or_path: str, *, migrate: bool = True, busy_timeout: float = 30.0,
                  synchronous: str = "FULL") -> SqliteStorage:
    """Open (creating when missing) the database at ``url_or_path`` and migrate it.

    ``synchronous=FULL`` makes every commit durable across power loss, which the exactly-once
    rule needs (a committed publish_id must survive); ``NORMAL`` survives process crashes only.
    """
    synchronous = synchronous.upper()
    if synchronous not in SYNC_LEVELS:
        raise ValueError(f"synchronous must be one of {sorted(SYNC_LEVELS)}, not {synchronous!r}")
    path = _prepare_path(sqlite_path(url_or_path))
    # check_same_thread=False: the loop's thread runs the transactions, aiosqlite's the waits
    # (SqliteConnection says why; the two never use the connection at the same time).
    db = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout, check_same_thread=False)
    try:
        db.row_factory = aiosqlite.Row
        if path != ":memory:":
            await enable_wal(db, busy_timeout)
        flushed_here = flushes_itself(path, synchronous)
        # The loop's calls never wait for locks; the ones that must wait set their own patience.
        await db.execute("PRAGMA busy_timeout = 0")
        # A FULL commit's flush is WalSync's, in its thread: SQLite's own commit does not wait.
        await db.execute(f"PRAGMA synchronous = {'NORMAL' if flushed_here else synchronous}")
        if flushed_here:
            await db.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
        await db.execute("PRAGMA foreign_keys = ON")
        storage = SqliteStorage(db, path, synchronous=synchronous, busy_timeout=busy_timeout)
        if migrate:
            await storage.migrate()
    except BaseException:
        await db.close()
        raise
    return storage


class SqliteStorage(SqliteShared, SqliteMetrics):
    """:class:`~crosspost.storage.base.Storage` on one SQLite file."""

    backend = "sqlite"

    def __repr__(self) -> str:
        return f"SqliteStorage({self.path!r})"

    # -- schema ------------------------------------------------------------------------------

    async def migrate(self) -> list[str]:
        async with self._lock:
            return await migrations.apply(self._db)

    async def pending_migrations(self) -> list[str]:
        async with self._lock:
            return await migrations.pending(self._db)

    # -- posts -------------------------------------------------------------------------------

    async def insert_post(self, new: NewPost, *, event: NewEvent | None = None) -> tuple[PostRow, bool]:
        return await self._write(functools.partial(_insert_post, new, event))

    async def find_post_by_key(self, idempotency_key: str) -> PostRow | None:
        def work(db: sqlite3.Connection) -> PostRow | None:
            found = one(db, "SELECT id FROM posts WHERE idempotency_key = ?", (idempotency_key,))
            return None if found is None else _post(db, found["id"])
        return await self._read(work)

    async def get_post(self, post_id: str) -> PostRow | None:
        return await self._read(lambda db: _post(db, post_id))

    async def get_post_body(self, post_id: str) -> Post | None:
        row = await self._query(lambda db: one(db, "SELECT body FROM posts WHERE id = ?", (post_id,)))
        return None if row is None else post_from_body(row["body"])

    async def list_posts(self, *, status: JobStatus | None = None, limit: int = 100) -> list[PostRow]:
        where = "WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.post_id = posts.id AND jobs.status = :status)"
        sql = f"SELECT * FROM posts {where if status else ''} ORDER BY created_at DESC, rowid DESC LIMIT :limit"
        params = {"status": status.value if status else None, "limit": limit}

        def work(db: sqlite3.Connection) -> list[PostRow]:
            posts = every(db, sql, params)
            if not posts:
                return []
            ids = [p["id"] for p in posts]
            marks = ", ".join("?" * len(ids))
            by_post: dict[str, list[JobRow]] = {i: [] for i in ids}
            for j in every(db, f"SELECT * FROM jobs WHERE post_id IN ({marks})", ids):
                by_post[j["post_id"]].append(job_row(j))
            return [post_row(p, by_post[p["id"]]) for p in posts]
        return await self._read(work)

    async def replace_post(self, post_id: str, post: Post, jobs: Sequence[NewJob], *, now: datetime,
                           event: NewEvent | None = None) -> PostRow | None:
        def work(db: sqlite3.Connection) -> PostRow | None:
            row = one(db, """SELECT COUNT(*) AS total,
                                    SUM(status = 'scheduled' AND lease_owner IS NULL) AS editable
                             FROM jobs WHERE post_id = ?""", (post_id,))
            if row is None or not row["total"] or row["total"] != row["editable"]:
                return None
            db.execute("DELETE FROM jobs WHERE post_id = ?", (post_id,))
            _insert_jobs(db, post_id, jobs, now)
            db.execute("UPDATE posts SET body = ?, updated_at = ? WHERE id = ?",
                       (post_json(post), ts(now), post_id))
            log_event(db, event, now)
            return _post(db, post_id)
        return await self._write(work)

    async def reschedule_post(self, post_id: str, post: Post, run_at: datetime, *, now: datetime,
                              event: NewEvent | None = None) -> PostRow | None:
        def work(db: sqlite3.Connection) -> PostRow | None:
            changed = changes(
                db, f"""UPDATE jobs SET run_at = :run_at, updated_at = :now,
                            status = CASE WHEN blocked_on IS NOT NULL THEN status
                                          WHEN :run_at > :now THEN 'scheduled' ELSE 'queued' END
                        WHERE post_id = :post_id AND status IN {_WAITING}""",
                {"run_at": ts(run_at), "now": ts(now), "post_id": post_id})
            if not changed:
                return None
            db.execute("UPDATE posts SET body = ?, updated_at = ? WHERE id = ?",
                       (post_json(post), ts(now), post_id))
            log_event(db, event, now)
            return _post(db, post_id)
        return await self._write(work)

    async def cancel_post(self, post_id: str, *, now: datetime,
                          event: NewEvent | None = None) -> list[JobRow]:
        params = {"post_id": post_id, "now": ts(now)}

        def work(db: sqlite3.Connection) -> list[sqlite3.Row]:
            stopped = every(
                db, f"""UPDATE jobs SET status = 'cancelled', finished_at = :now, updated_at = :now,
                            blocked_on = NULL
                        WHERE post_id = :post_id AND status IN {_WAITING} RETURNING *""", params)
            flagged = every(
                db, f"""UPDATE jobs SET cancel_requested = 1, updated_at = :now
                        WHERE post_id = :post_id AND status IN {_RUNNING} AND cancel_requested = 0
                        RETURNING *""", params)
            if stopped or flagged:
                log_event(db, event, now)
            return [*stopped, *flagged]
        rows = await self._write(work)
        return sorted((job_row(r) for r in rows), key=lambda j: j.position)

    async def retry_failed(self, post_id: str, *, now: datetime,
                           event: NewEvent | None = None) -> list[JobRow]:
        async with self._tx() as db:
            queued = await self._all(
                db, """UPDATE jobs SET status = 'queued', run_at = :now, attempts = 0, error = NULL,
                           finished_at = NULL, lease_owner = NULL, lease_until = NULL, cancel_requested = 0,
                           blocked_on = NULL, updated_at = :now
                       WHERE post_id = :post_id AND status = 'failed' RETURNING *""",
                {"post_id": post_id, "now": ts(now)})
            if queued:
                await self._log(db, event, now)
        return sorted((job_row(r) for r in queued), key=lambda j: j.position)

    # -- jobs --------------------------------------------------------------------------------

    async def get_job(self, job_id: str) -> JobRow | None:
        row = await self._query(lambda db: one(db, "SELECT * FROM jobs WHERE id = ?", (job_id,)))
        return None if row is None else job_row(row)

    async def claim_job(self, owner: str, *, now: datetime, lease_until: datetime,
                        post_id: str | None = None, log_start: bool = False) -> JobRow | None:
        post = "AND post_id = :post_id" if post_id else ""
        params = {"owner": owner, "now": ts(now), "until": ts(lease_until), "post_id": post_id}

        def work(db: sqlite3.Connection) -> sqlite3.Row | None:
            row = _claim(db, post, params)
            if row is not None and log_start:
                log_event(db, started_event(row["post_id"], row["id"], owner=owner, token=row["lease_token"],
                                            resumed=row["checkpoint"] != "{}"), now)
            return row
        # Not flushed by itself: nothing the run does outside this process comes before its first
        # durable write (the checkpoint saved before every platform call), whose flush covers this
        # commit too (the WAL is written in order). A power cut before that loses the claim and
        # nothing else: the job is queued again, as if never claimed.
        row = await self._write(work, durable=False)
        return None if row is None else job_row(row)

    def _fence(self, lease: Lease) -> dict[str, Any]:
        return {"job_id": lease.job_id, "owner": lease.owner, "token": lease.token}

    async def _fenced(self, sql: str, lease: Lease, values: Mapping[str, Any], event: NewEvent | None,
                      now: datetime, *, durable: bool = True) -> bool:
        params = {**self._fence(lease), **values}

        def work(db: sqlite3.Connection) -> int:
            changed = changes(db, sql, params)
            if changed:
                log_event(db, event, now)
            return changed
        return await self._write(work, durable=durable) > 0

    async def extend_lease(self, lease: Lease, *, until: datetime) -> bool:
        params = {**self._fence(lease), "until": ts(until)}
        # Not flushed by itself (as a claim): a power cut stops the lease's holder too.
        return await self._write(lambda db: changes(
            db, f"UPDATE jobs SET lease_until = :until WHERE {_FENCE}", params), durable=False) > 0

    async def save_checkpoint(self, lease: Lease, checkpoint: Mapping[str, Any], *,
                              status: JobStatus | None, now: datetime, lease_until: datetime,
                              event: NewEvent | None = None, publish_id: str | None = None,
                              durable: bool = True) -> bool:
        if status is not None and status not in RUNNING:
            raise ValueError(f"a checkpoint may set a running status only, not {status.value!r}")
        return await self._fenced(
            f"""UPDATE jobs SET checkpoint = :checkpoint, status = COALESCE(:status, status),
                    publish_id = COALESCE(:publish_id, publish_id), lease_until = :until, updated_at = :now
                WHERE {_FENCE} AND cancel_requested = 0""",
            lease, {"checkpoint": dumps(dict(checkpoint)), "status": status.value if status else None,
                    "publish_id": publish_id, "until": ts(lease_until), "now": ts(now)}, event, now,
            durable=durable)

    async def release_job(self, lease: Lease, *, status: JobStatus, run_at: datetime, attempts: int,
                          now: datetime, error: ErrorInfo | None = None, blocked_on: str | None = None,
                          event: NewEvent | None = None) -> bool:
        if status not in WAITING:
            raise ValueError(f"a released job waits (queued/deferred), not {status.value!r}")
        return await self._fenced(
            f"""UPDATE jobs SET status = :status, run_at = :run_at, attempts = :attempts,
                    error = :error, blocked_on = :blocked_on, lease_owner = NULL, lease_until = NULL,
                    updated_at = :now
                WHERE {_FENCE}""",
            lease, {"status": status.value, "run_at": ts(run_at), "attempts": attempts,
                    "error": error_json(error), "blocked_on": blocked_on, "now": ts(now)}, event, now)

    async def finish_job(self, lease: Lease, *, status: JobStatus, now: datetime,
                         publish_id: str | None = None, post_url: str | None = None,
                         warnings: Sequence[str] = (), error: ErrorInfo | None = None,
                         event: NewEvent | None = None) -> bool:
        if not status.terminal:
            raise ValueError(f"finish_job takes a terminal status, not {status.value!r}")
        return await self._fenced(
            f"""UPDATE jobs SET status = :status, publish_id = :publish_id, post_url = :post_url,
                    warnings = :warnings, error = :error, lease_until = NULL, finished_at = :now,
                    updated_at = :now
                WHERE {_FENCE}""",
            lease, {"status": status.value, "publish_id": publish_id, "post_url": post_url,
                    "warnings": dumps(list(warnings)), "error": error_json(error), "now": ts(now)},
            event, now)

    async def next_wakeup(self, *, post_id: str | None = None, owner: str | None = None) -> datetime | None:
        post = "AND post_id = :post_id" if post_id else ""
        sql = f"""SELECT MIN(due) FROM (
                      SELECT MIN(run_at) AS due FROM jobs
                      WHERE status IN {_WAITING} AND blocked_on IS NULL {post}
                      UNION ALL
                      SELECT MIN(lease_until) FROM jobs
                      WHERE status IN {_RUNNING} AND lease_owner IS NOT :owner {post})"""
        row = await self._query(lambda db: one(db, sql, {"post_id": post_id, "owner": owner}))
        return dt_or_none(row[0] if row else None)

    async def unblock_jobs(self, blocked_on: str, *, now: datetime) -> int:
        params = {"now": ts(now), "blocked_on": blocked_on}
        return await self._write(lambda db: changes(
            db, f"""UPDATE jobs SET status = 'queued', run_at = :now, blocked_on = NULL, error = NULL,
                        updated_at = :now
                    WHERE blocked_on = :blocked_on AND status IN {_WAITING}""", params))

    async def reconcile_job(self, job_id: str, *, status: JobStatus, now: datetime, post_url: str | None = None,
                            error: ErrorInfo | None = None, event: NewEvent | None = None) -> bool:
        if status not in (JobStatus.PUBLISHED, JobStatus.FAILED):
            raise ValueError(f"an unknown job is reconciled as published or failed, not {status.value!r}")
        async with self._tx() as db:
            changed = await self._changes(
                db, """UPDATE jobs SET status = :status, post_url = COALESCE(:post_url, post_url), error = :error,
                           finished_at = :now, updated_at = :now
                       WHERE id = :job_id AND status = 'unknown'""",
                {"status": status.value, "post_url": post_url, "error": error_json(error), "now": ts(now),
                 "job_id": job_id})
            if changed:
                await self._log(db, event, now)
        return changed > 0

    async def find_job_by_publish_id(self, publish_id: str) -> JobRow | None:
        row = await self._query(lambda db: one(
            db, "SELECT * FROM jobs WHERE publish_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (publish_id,)))
        return None if row is None else job_row(row)

    async def hurry_job(self, job_id: str, *, now: datetime, event: NewEvent | None = None) -> bool:
        params = {"now": ts(now), "job_id": job_id}

        def work(db: sqlite3.Connection) -> int:
            changed = changes(
                db, f"""UPDATE jobs SET run_at = :now, updated_at = :now
                        WHERE id = :job_id AND status IN {_WAITING} AND blocked_on IS NULL AND run_at > :now""",
                params)
            log_event(db, event, now)
            return changed
        return await self._write(work) > 0


# -- transaction bodies (run in aiosqlite's thread; see crosspost.storage.sqlite_thread) -------


def _post(db: sqlite3.Connection, post_id: str) -> PostRow | None:
    row = one(db, "SELECT * FROM posts WHERE id = ?", (post_id,))
    if row is None:
        return None
    return post_row(row, [job_row(j) for j in every(db, "SELECT * FROM jobs WHERE post_id = ?", (post_id,))])


def _insert_jobs(db: sqlite3.Connection, post_id: str, jobs: Iterable[NewJob], now: datetime) -> None:
    db.executemany(
        """INSERT INTO jobs (id, post_id, position, target, status, run_at, warnings, error,
                             created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [(j.id, post_id, i, str(j.target), j.status.value, ts(j.run_at), dumps(list(j.warnings)),
          error_json(j.error), ts(now), ts(now)) for i, j in enumerate(jobs)],
    )


def _insert_post(new: NewPost, event: NewEvent | None, db: sqlite3.Connection) -> tuple[PostRow, bool]:
    key = new.post.idempotency_key
    if key is not None:
        found = one(db, "SELECT id FROM posts WHERE idempotency_key = ?", (key,))
        if found is not None:
            existing = _post(db, found["id"])
            assert existing is not None
            return existing, False
    now = new.created_at
    db.execute(
        "INSERT INTO posts (id, idempotency_key, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (new.id, key, post_json(new.post), ts(now), ts(now)),
    )
    _insert_jobs(db, new.id, new.jobs, now)
    log_event(db, event, now)
    return inserted_post_row(new), True
