"""SQLite plumbing shared by the backend's parts: one connection, one transaction at a time.

Also holds the state every process shares besides posts and jobs: accounts, the event log, rate
windows and named locks (:class:`SqliteShared`); :class:`~crosspost.storage.sqlite.SqliteStorage`
adds posts and jobs on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiosqlite

from crosspost.storage.base import AccountRow, EventRow, NewEvent
from crosspost.storage.sqlite_rows import account_row, account_values, dumps, event_row, ts
from crosspost.storage.sqlite_thread import (
    T,
    Work,
    changes,
    every,
    one,
    run_in_thread,
    transaction,
    without_fsync,
)

log = logging.getLogger("crosspost.storage.sqlite")


async def enable_wal(db: aiosqlite.Connection, busy_timeout: float) -> None:
    """Switch a database to WAL (a no-op once it is). SQLite answers *database is locked* to
    processes switching a brand-new file at the same moment without calling the busy handler,
    so the switch is retried here for up to ``busy_timeout`` seconds."""
    delay, waited = 0.01, 0.0
    while True:
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or waited >= busy_timeout:
                raise
        await asyncio.sleep(delay)
        waited += delay
        delay = min(delay * 2, 0.5)


DEFERRED_WITHIN = 0.05
"""Seconds a deferred write (:meth:`SqliteConnection._defer`) waits for another call to ride on."""


class SqliteConnection:
    """Owns the aiosqlite connection; each storage call is one hop into its thread.

    :meth:`_write` (``BEGIN IMMEDIATE``), :meth:`_read` (``BEGIN DEFERRED``, a consistent view
    across statements) and :meth:`_query` (one statement, no transaction) send a synchronous
    function of the :class:`sqlite3.Connection` to aiosqlite's thread (:mod:`.sqlite_thread`).
    The thread runs one call at a time, so transactions never interleave and need no lock.
    The asyncio lock is held only by multi-hop work (migrations, closing, and :meth:`_tx` kept
    for methods not yet written as one hop); a hop waits while it is held.

    A write nobody waits on (settling a rate window) can be *deferred*: it is committed with
    this connection's next call (in a write's own transaction, or just before a read, in the
    same hop), or by itself after :data:`DEFERRED_WITHIN` seconds if no call comes, or at close.
    Every later call of this storage sees it; other processes see it once it is committed.

    Writes are *group-committed*: while one write's hop is in the thread, the writes that
    arrive queue up, and the next hop runs all of them in one transaction, each in its own
    savepoint (one that raises is rolled back alone and its caller gets the error; the others
    commit). Each caller still returns only once its write is committed, so durability is
    unchanged; a busy engine (8 jobs at a time) pays one hop and one ``fsync`` for several
    writes instead of one each. An uncontended write goes straight to the thread, as before.
    Writes commit in the order they were asked for.

    A write whose loss on a power failure is harmless can skip the disk flush
    (``durable=False``: a rate window's recorded call, whose loss lets at most one call more
    through before the platform's own limit answers; see :func:`.sqlite_thread.without_fsync`).
    A group is flushed when any of its writes must be, and every durable commit flushes what came
    before it. Every job, post, account and checkpoint write stays durable.
    """

    def __init__(self, db: aiosqlite.Connection, path: str, *, synchronous: str = "FULL") -> None:
        self._db = db
        self.path = path
        self.synchronous = synchronous
        """The connection's ``PRAGMA synchronous``, as :func:`~crosspost.storage.sqlite.connect` set it."""
        self._lock = asyncio.Lock()
        self._deferred: list[Work[object]] = []
        self._deferred_timer: asyncio.TimerHandle | None = None
        self._deferred_flush: set[asyncio.Task[None]] = set()
        self._writing = False
        """A write hop is in the thread: new writes join :attr:`_queued` (group commit)."""
        self._queued: list[tuple[Work[Any], asyncio.Future[Any], bool]] = []
        """(work, its caller's future, whether its commit must reach the disk)."""
        self._batches: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._deferred_timer is not None:
            self._deferred_timer.cancel()
            self._deferred_timer = None
        if self._deferred or self._writing:
            await self._write(_nothing)  # commits what was deferred, after every queued write
        if self._batches is not None:
            await asyncio.gather(self._batches, return_exceptions=True)
        async with self._lock:
            await self._db.close()

    async def _hop(self, work: Work[T]) -> T:
        if self._lock.locked():
            async with self._lock:
                return await run_in_thread(self._db, work)
        return await run_in_thread(self._db, work)

    async def _write(self, work: Work[T], *, durable: bool = True) -> T:
        """``work`` in a ``BEGIN IMMEDIATE`` transaction (takes the write lock up front): its own,
        or, while another write is in the thread, the next group commit's (class docstring).
        ``durable=False``: the commit need not reach the disk before this returns."""
        if self._writing:
            joined: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            self._queued.append((work, joined, durable))
            return await joined
        self._writing = True
        try:
            return await self._commit(work, durable=durable)
        finally:
            self._next_batch()

    async def _commit(self, work: Work[T], *, durable: bool) -> T:
        deferred = self._take_deferred()  # deferred writes need no flush of their own
        if deferred:
            work = functools.partial(_after, deferred, work)
        tx: Work[T] = functools.partial(transaction, "IMMEDIATE", work)
        if not durable:
            tx = self._unflushed(tx)
        if not deferred:
            return await self._hop(tx)
        return await self._with_deferred(deferred, tx)

    def _next_batch(self) -> None:
        """The write in the thread is done: start the queued writes' group commit, if any."""
        if self._queued:
            self._batches = asyncio.ensure_future(self._run_batches())
        else:
            self._writing = False

    async def _run_batches(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                await self._run_batch(batch)
        finally:
            self._writing = False
            self._batches = None

    async def _run_batch(self, batch: list[tuple[Work[Any], asyncio.Future[Any], bool]]) -> None:
        works = [work for work, _, _ in batch]
        alone = len(works) == 1  # its own transaction: no savepoint needed
        try:
            done = await self._commit(works[0] if alone else functools.partial(_each_in_savepoint, works),
                                      durable=any(durable for _, _, durable in batch))
        except BaseException as exc:
            # Nothing was committed (the COMMIT failed, or the transaction could not go on).
            for _, joined, _ in batch:
                _settle(joined, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        outcomes: list[tuple[Any, Exception | None]] = [(done, None)] if alone else done
        for (_, joined, _), (result, error) in zip(batch, outcomes, strict=True):
            if error is not None:
                _settle(joined, error)
            elif not joined.done():
                joined.set_result(result)

    async def _read(self, work: Work[T]) -> T:
        """``work`` in one ``BEGIN DEFERRED`` transaction: several reads see one snapshot."""
        return await self._then(functools.partial(transaction, "DEFERRED", work))

    async def _query(self, work: Work[T]) -> T:
        """``work`` (a single statement) outside any explicit transaction."""
        return await self._then(work)

    # -- deferred writes -----------------------------------------------------------------------

    def _defer(self, work: Work[object]) -> None:
        """Commit ``work`` with the next call (see the class docstring); never raises here."""
        self._deferred.append(work)
        if self._deferred_timer is None:
            loop = asyncio.get_running_loop()
            self._deferred_timer = loop.call_later(DEFERRED_WITHIN, self._flush_deferred)

    def _take_deferred(self) -> list[Work[object]]:
        deferred, self._deferred = self._deferred, []
        if self._deferred_timer is not None:
            self._deferred_timer.cancel()
            self._deferred_timer = None
        return deferred

    def _flush_deferred(self) -> None:
        self._deferred_timer = None
        if self._deferred:
            task = asyncio.ensure_future(self._write(_nothing, durable=False))
            self._deferred_flush.add(task)
            task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._deferred_flush.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a deferred write could not be committed (kept for the next call): %s", task.exception())

    async def _then(self, work: Work[T]) -> T:
        """``work`` (a read) in one hop, after committing what was deferred."""
        deferred = self._take_deferred()
        if not deferred:
            return await self._hop(work)
        commit: Work[None] = functools.partial(transaction, "IMMEDIATE", functools.partial(_after, deferred, _nothing))
        return await self._with_deferred(deferred, functools.partial(_committed_then, self._unflushed(commit), work))

    def _unflushed(self, tx: Work[T]) -> Work[T]:
        """``tx`` committed without waiting for the disk (unless the connection never waits)."""
        if self.synchronous in ("FULL", "EXTRA"):
            return functools.partial(without_fsync, self.synchronous, tx)
        return tx

    async def _with_deferred(self, deferred: list[Work[object]], work: Work[T]) -> T:
        try:
            return await self._hop(work)
        except BaseException:
            # Not committed (the transaction rolled back, or the caller stopped waiting, in which
            # case committing them again is harmless: each settles an already-settled row).
            self._deferred[:0] = deferred
            if self._deferred_timer is None:
                self._deferred_timer = asyncio.get_running_loop().call_later(DEFERRED_WITHIN, self._flush_deferred)
            raise

    # -- multi-hop transactions (the old style; one await per statement) ---------------------

    @contextlib.asynccontextmanager
    async def _tx(self, mode: str = "IMMEDIATE") -> AsyncIterator[aiosqlite.Connection]:
        """One transaction over several awaits; prefer :meth:`_write`, which is one hop."""
        async with self._lock:
            try:
                # BEGIN inside the try: a caller cancelled while waiting for it still rolls back,
                # as aiosqlite runs the statement in its thread whether or not anyone awaits it.
                await self._db.execute(f"BEGIN {mode}")
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                # Shielded: a cancelled caller must still leave the connection outside a transaction.
                await asyncio.shield(self._rollback())
                raise

    async def _rollback(self) -> None:
        # "no transaction is active" when BEGIN itself failed (busy) or never ran.
        with contextlib.suppress(sqlite3.OperationalError):
            await self._db.execute("ROLLBACK")

    async def _all(self, db: aiosqlite.Connection, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        async with db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _one(self, db: aiosqlite.Connection, sql: str, params: Any = ()) -> sqlite3.Row | None:
        async with db.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def _changes(self, db: aiosqlite.Connection, sql: str, params: Any = ()) -> int:
        async with db.execute(sql, params) as cursor:
            return cursor.rowcount

    async def _log(self, db: aiosqlite.Connection, event: NewEvent | None, now: datetime) -> None:
        if event is not None:
            await db.execute(_INSERT_EVENT, _event_values(event, now))


_INSERT_EVENT = "INSERT INTO events (at, kind, post_id, job_id, data) VALUES (?, ?, ?, ?, ?)"


def _event_values(event: NewEvent, now: datetime) -> tuple[Any, ...]:
    return (ts(now), event.kind, event.post_id, event.job_id, dumps(dict(event.data)))


def log_event(conn: sqlite3.Connection, event: NewEvent | None, now: datetime) -> None:
    """Append ``event`` (when there is one) inside the caller's transaction."""
    if event is not None:
        conn.execute(_INSERT_EVENT, _event_values(event, now))


class SqliteShared(SqliteConnection):
    """Accounts, the event log, rate windows and locks."""

    # -- accounts ----------------------------------------------------------------------------

    async def insert_account(self, row: AccountRow) -> bool:
        values = account_values(row)
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        sql = f"INSERT INTO accounts ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"
        return await self._write(lambda db: changes(db, sql, values) > 0)

    async def get_account(self, platform: str, name: str) -> AccountRow | None:
        def work(db: sqlite3.Connection) -> AccountRow | None:
            row = one(db, "SELECT * FROM accounts WHERE platform = ? AND name = ?", (platform, name))
            return None if row is None else account_row(row)
        return await self._query(work)

    async def list_accounts(self, platform: str | None = None) -> list[AccountRow]:
        sql = "SELECT * FROM accounts WHERE (:platform IS NULL OR platform = :platform) ORDER BY platform, name"
        return await self._query(lambda db: [account_row(r) for r in every(db, sql, {"platform": platform})])

    async def update_account(self, row: AccountRow, *, expected_version: int) -> bool:
        values = account_values(row)
        sets = ", ".join(f"{k} = :{k}" for k in values if k not in ("platform", "name", "created_at"))
        sql = f"""UPDATE accounts SET {sets}
                  WHERE platform = :platform AND name = :name AND version = :expected"""
        return await self._write(lambda db: changes(db, sql, {**values, "expected": expected_version}) > 0)

    async def delete_account(self, platform: str, name: str) -> bool:
        return await self._write(lambda db: changes(
            db, "DELETE FROM accounts WHERE platform = ? AND name = ?", (platform, name)) > 0)

    async def set_needs_login(self, platform: str, name: str, reason: str, *, now: datetime) -> bool:
        return await self._write(lambda db: changes(
            db, """UPDATE accounts SET needs_login = 1, login_reason = ?, version = version + 1,
                       updated_at = ?
                   WHERE platform = ? AND name = ?""", (reason, ts(now), platform, name)) > 0)

    # -- event log ---------------------------------------------------------------------------

    async def add_event(self, event: NewEvent, *, now: datetime) -> None:
        await self._write(lambda db: log_event(db, event, now))

    async def list_events(self, *, post_id: str | None = None, job_id: str | None = None,
                          limit: int = 1000) -> list[EventRow]:
        sql = """SELECT * FROM events WHERE (:post_id IS NULL OR post_id = :post_id)
                   AND (:job_id IS NULL OR job_id = :job_id) ORDER BY id LIMIT :limit"""
        params = {"post_id": post_id, "job_id": job_id, "limit": limit}
        return await self._query(lambda db: [event_row(r) for r in every(db, sql, params)])

    # -- shared rate windows and locks -------------------------------------------------------

    async def try_acquire_rate(self, key: str, *, limit: int, window: float, now: datetime) -> float:
        # Not flushed to disk (class docstring): losing it to a power cut lets one call more
        # through, and the platform's own limit answers that one.
        return await self._write(functools.partial(_acquire_rate, key, limit, ts(now),
                                                   round(window * 1_000_000)), durable=False)

    async def settle_rate(self, key: str, *, at: datetime, now: datetime) -> None:
        # Deferred: it rides on the job's next write (the checkpoint that follows every answer),
        # so a platform call costs one commit, not two. See SqliteConnection.
        self._defer(functools.partial(_settle_rate, key, ts(at), ts(now)))

    async def fill_rate(self, key: str, *, limit: int, window: float, now: datetime) -> None:
        del window  # rows older than a window go with the next admission
        await self._write(functools.partial(_fill_rate, key, limit, ts(now)), durable=False)

    async def rate_usage(self, key: str, *, window: float, now: datetime) -> int:
        since = ts(now) - round(window * 1_000_000)
        row = await self._query(lambda db: one(
            db, "SELECT COUNT(*) FROM rate_events WHERE key = ? AND at > ?", (key, since)))
        return int(row[0]) if row else 0

    async def try_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        params = {"name": name, "owner": owner, "until": ts(until), "now": ts(now)}
        return await self._write(lambda db: changes(
            db, """INSERT INTO locks (name, owner, until) VALUES (:name, :owner, :until)
                   ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                   WHERE locks.owner = excluded.owner OR locks.until <= :now""", params) > 0)

    async def unlock(self, name: str, owner: str) -> None:
        await self._write(lambda db: changes(db, "DELETE FROM locks WHERE name = ? AND owner = ?",
                                             (name, owner)))


def _nothing(db: sqlite3.Connection) -> None:
    del db


def _each_in_savepoint(works: list[Work[Any]], db: sqlite3.Connection) -> list[tuple[Any, Exception | None]]:
    """Every work of a group commit in the caller's transaction, each in a savepoint of its own:
    one that raises is rolled back alone (its error is its result). An error that ended the whole
    transaction (SQLite rolls back by itself on a full disk, say) is raised: nothing commits."""
    outcomes: list[tuple[Any, Exception | None]] = []
    for work in works:
        db.execute("SAVEPOINT crosspost_write")
        try:
            outcomes.append((work(db), None))
        except Exception as exc:
            if not db.in_transaction:
                raise
            db.execute("ROLLBACK TO crosspost_write")
            outcomes.append((None, exc))
        db.execute("RELEASE crosspost_write")
    return outcomes


def _settle(joined: asyncio.Future[Any], error: BaseException) -> None:
    """End a queued writer's wait with ``error`` (unless it stopped waiting already)."""
    if joined.done():
        return
    if isinstance(error, asyncio.CancelledError):
        joined.cancel()
    else:
        joined.set_exception(error)


def _after(deferred: list[Work[object]], work: Work[T], db: sqlite3.Connection) -> T:
    """The deferred writes, then ``work``, in the caller's transaction."""
    for pending in deferred:
        pending(db)
    return work(db)


def _committed_then(first: Work[object], then: Work[T], db: sqlite3.Connection) -> T:
    first(db)
    return then(db)


def _settle_rate(key: str, at_us: int, now_us: int, db: sqlite3.Connection) -> None:
    db.execute("""UPDATE rate_events SET at = MAX(at, :now)
                  WHERE id = (SELECT id FROM rate_events WHERE key = :key AND at >= :at ORDER BY at, id LIMIT 1)""",
               {"key": key, "at": at_us, "now": now_us})


def _fill_rate(key: str, limit: int, now_us: int, db: sqlite3.Connection) -> None:
    """Rows at ``now`` until ``key``'s window holds ``limit`` calls (the platform said it is full)."""
    row = one(db, "SELECT COUNT(*) FROM rate_events WHERE key = ? AND at >= ?", (key, now_us))
    missing = limit - (row[0] if row else 0)
    db.executemany("INSERT INTO rate_events (key, at) VALUES (?, ?)", [(key, now_us)] * max(0, missing))


def _acquire_rate(key: str, limit: int, now_us: int, window_us: int, db: sqlite3.Connection) -> float:
    """One rate-window check (and, when there is room, the recorded call), in the transaction."""
    # A caller whose "now" is behind the latest recorded call (it read the clock, then waited
    # for the lock) counts as calling at that latest instant: recorded times stay in order,
    # which the window count relies on.
    latest = one(db, "SELECT MAX(at) FROM rate_events WHERE key = ?", (key,))
    at = max(now_us, latest[0] if latest and latest[0] is not None else now_us)
    db.execute("DELETE FROM rate_events WHERE key = ? AND at <= ?", (key, at - window_us))
    row = one(db, "SELECT COUNT(*) FROM rate_events WHERE key = ?", (key,))
    count = row[0] if row else 0
    if count < limit:
        db.execute("INSERT INTO rate_events (key, at) VALUES (?, ?)", (key, at))
        return 0.0
    # The slot frees when the call that keeps the window full leaves it.
    oldest = one(db, "SELECT at FROM rate_events WHERE key = ? ORDER BY at LIMIT 1 OFFSET ?",
                 (key, count - limit))
    assert oldest is not None
    wait_us: int = oldest[0] + window_us - now_us
    return max(wait_us / 1_000_000, 1e-6)
