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
from crosspost.storage.sqlite_sync import WalSync
from crosspost.storage.sqlite_thread import (
    T,
    Work,
    changes,
    every,
    is_busy,
    one,
    transaction,
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


FIRST_PAUSE_S = 0.0002
LAST_PAUSE_S = 0.005
"""A call that finds the database locked by another process tries again after FIRST_PAUSE_S,
doubling up to LAST_PAUSE_S (SQLite's own busy handler sleeps 1 ms, then 2, 5, 10 … 100 ms)."""


class SqliteConnection:
    """Owns the connection; each storage call's transaction runs on the event loop's thread.

    :meth:`_write` (``BEGIN IMMEDIATE``), :meth:`_read` (``BEGIN DEFERRED``, a consistent view
    across statements) and :meth:`_query` (one statement, no transaction) take a synchronous
    function of the :class:`sqlite3.Connection` and run it right here, start to end, without an
    await: transactions never interleave and need no lock. Why not in aiosqlite's thread, where
    it ran before? Each hand-off there cost more CPU than the statements themselves (the thread's
    wake-up and the loop's, then the GIL passed back and forth at every statement, since
    :mod:`sqlite3` releases it around each step; ``strace`` counted 266 ``futex`` calls per
    post); measured on the claim loop of ``benchmarks/storage_claims.py``: 0.86 to 1.36 ms of
    CPU per claim and completion in the thread, 0.54 to 0.60 on the loop. What could block the loop is kept off it:

    - *the disk*: a file database flushed ``FULL`` commits with ``synchronous = NORMAL`` and a
      durable write then waits for :class:`~crosspost.storage.sqlite_sync.WalSync`'s flush of
      the WAL (one flush covers every commit before it: a group commit at the disk; on the loop
      when the disk is fast, in a thread of its own when it is not);
    - *other processes' locks*: the loop's attempts never wait (``busy_timeout = 0``); a call
      that finds the database locked is rolled back and tried again after a pause on the loop
      (:data:`FIRST_PAUSE_S` doubling to :data:`LAST_PAUSE_S`) until ``busy_timeout`` has
      passed. :meth:`_tx`'s multi-await work, migrations and closing use aiosqlite's thread
      under :attr:`_lock` (with the configured ``busy_timeout``); calls on the loop wait for the
      lock first, so nothing uses the connection from two threads at once;
    - *checkpoints*: see :mod:`.sqlite_sync`.

    A write whose loss on a power failure is harmless skips the flush (``durable=False``): a rate
    window's recorded call (its loss lets at most one call more through before the platform's
    own limit answers), a job's claim and its lease renewals (the run's first durable write
    flushes them too), a checkpoint its platform saved with ``durable=False``. Every post,
    result and account write is durable. A rate window's settle is deferred further
    (:meth:`_defer`): it rides in the next write's transaction.
    """

    def __init__(self, db: aiosqlite.Connection, path: str, *, synchronous: str = "FULL",
                 busy_timeout: float = 30.0) -> None:
        self._db = db
        self._conn: sqlite3.Connection = db._conn
        self.path = path
        self.synchronous = synchronous
        """The durability asked for (``PRAGMA synchronous``'s level), as
        :func:`~crosspost.storage.sqlite.connect` was given it."""
        self._patience_s = busy_timeout
        self._patience_ms = int(busy_timeout * 1000)
        self._lock = _ThreadTurn(db, self._patience_ms)
        self._sync: WalSync | None = WalSync(path) if flushes_itself(path, synchronous) else None
        self._background: set[asyncio.Task[Any]] = set()
        self._riders: list[Work[object]] = []
        """Deferred work (:meth:`_defer`) waiting for the next write's transaction."""
        self._riders_due: asyncio.Handle | None = None

    @property
    def flushes(self) -> int:
        """WAL flushes made for durable writes so far (0 when the connection never flushes)."""
        return self._sync.flushes if self._sync is not None else 0

    async def close(self) -> None:
        self._commit_riders()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._sync is not None:
            await self._sync.close()
        async with self._lock.held():
            await self._db.close()

    async def _write(self, work: Work[T], *, durable: bool = True) -> T:
        """``work`` in a ``BEGIN IMMEDIATE`` transaction (takes the write lock up front), with the
        deferred work waiting for one (:meth:`_defer`) ahead of it; with ``durable`` it returns
        once the commit is on the disk."""
        riders, self._riders = self._riders, []
        try:
            result = await self._run(functools.partial(transaction, "IMMEDIATE", _with_riders(riders, work)))
        except BaseException:
            if riders:  # not committed: they go with the next write, or alone
                self._riders[:0] = riders
                self._riders_soon()
            raise
        if durable and self._sync is not None:
            await self._sync.durable()
        return result

    async def _read(self, work: Work[T]) -> T:
        """``work`` in one ``BEGIN DEFERRED`` transaction: several reads see one snapshot (and
        every deferred write made before)."""
        self._commit_riders()
        return await self._run(functools.partial(transaction, "DEFERRED", work))

    async def _query(self, work: Work[T]) -> T:
        """``work`` (a single statement) outside any explicit transaction."""
        self._commit_riders()
        return await self._run(work)

    def _defer(self, work: Work[object]) -> None:
        """Commit ``work`` soon, not durably, with nobody waiting for it: inside the next write's
        transaction when one comes in this turn of the loop (a platform call's settle rides with
        the checkpoint saved after it: one commit, not two), else alone at the end of the turn."""
        self._riders.append(work)
        self._riders_soon()

    def _riders_soon(self) -> None:
        """Commit the waiting deferred work at the end of this turn, unless a write takes it first."""
        if self._riders_due is None:
            self._riders_due = asyncio.get_running_loop().call_soon(self._commit_riders)

    def _commit_riders(self) -> None:
        """Commit the deferred work still waiting, in one transaction; never raises (a failure is
        logged: it settles a rate window, whose row then keeps its send time)."""
        if self._riders_due is not None:
            self._riders_due.cancel()
            self._riders_due = None
        riders, self._riders = self._riders, []
        if not riders:
            return
        tx = functools.partial(transaction, "IMMEDIATE", _with_riders(riders, _nothing))
        if not self._lock.locked():
            try:
                tx(self._conn)
                return
            except sqlite3.Error as exc:
                if not (isinstance(exc, sqlite3.OperationalError) and is_busy(exc)):
                    log.warning("a deferred write could not be committed: %s", exc)
                    return
        task = asyncio.ensure_future(self._run(tx))  # locked: once the lock is free
        self._background.add(task)
        task.add_done_callback(self._deferred_done)

    def _deferred_done(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a deferred write could not be committed: %s", task.exception())

    async def _run(self, tx: Work[T]) -> T:
        """``tx`` on the loop; while another process holds the lock, try again after a pause
        (the loop goes on meanwhile), for up to ``busy_timeout``."""
        pause, deadline = FIRST_PAUSE_S, asyncio.get_running_loop().time() + self._patience_s
        while True:
            if self._lock.locked():  # work in aiosqlite's thread: wait for it to end, in turn
                async with self._lock.held():
                    pass
            try:
                return tx(self._conn)  # nothing can interleave: no await from here to its end
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or asyncio.get_running_loop().time() >= deadline:
                    raise
            # ``tx`` was rolled back: nothing of it stays.
            await asyncio.sleep(pause)
            pause = min(pause * 2, LAST_PAUSE_S)

    # -- multi-hop transactions (the old style; one await per statement) ---------------------

    @contextlib.asynccontextmanager
    async def _tx(self, mode: str = "IMMEDIATE") -> AsyncIterator[aiosqlite.Connection]:
        """One transaction over several awaits; prefer :meth:`_write`, which is one call."""
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
        if mode == "IMMEDIATE" and self._sync is not None:
            await self._sync.durable()

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


class _ThreadTurn:
    """The lock multi-await work (:meth:`SqliteConnection._tx`, migrations, closing) holds while
    it uses aiosqlite's thread: while held, nothing runs on the loop's side of the connection,
    and the connection waits for other processes' locks (its ``busy_timeout``) as work in the
    thread may; released, it goes back to never waiting (the loop's calls)."""

    def __init__(self, db: aiosqlite.Connection, patience_ms: int) -> None:
        self._db = db
        self._patience_ms = patience_ms
        self._lock = asyncio.Lock()

    def locked(self) -> bool:
        return self._lock.locked()

    async def __aenter__(self) -> None:
        await self._lock.acquire()
        try:
            await self._db.execute(f"PRAGMA busy_timeout = {self._patience_ms}")
        except BaseException:
            self._lock.release()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._db.execute("PRAGMA busy_timeout = 0")
        finally:
            self._lock.release()

    def held(self) -> asyncio.Lock:
        """The bare lock, for closing (there is no connection left to set afterwards)."""
        return self._lock


def flushes_itself(path: str, synchronous: str) -> bool:
    """Whether durable commits on ``path`` are flushed by :class:`.WalSync` (a file database asked
    for ``FULL`` or ``EXTRA``) rather than by SQLite inside the commit."""
    return path != ":memory:" and synchronous in ("FULL", "EXTRA")


def _nothing(db: sqlite3.Connection) -> None:
    """The transaction's own work when only deferred work rides in it."""


def _with_riders(riders: list[Work[object]], work: Work[T]) -> Work[T]:
    """``work`` preceded by ``riders`` in its transaction. A rider's failure is logged and does
    not fail ``work`` (SQLite undoes only the failed statement), unless it ended the transaction."""
    if not riders:
        return work

    def run(db: sqlite3.Connection) -> T:
        for rider in riders:
            try:
                rider(db)
            except sqlite3.Error as exc:
                if not db.in_transaction:
                    raise
                log.warning("a deferred write could not be committed: %s", exc)
        return work(db)
    return run


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
    """One rate-window check (and, when there is room, the recorded call), in the transaction.

    Usually two statements: one look at the key's rows (latest call, calls in the window, rows
    in all) and the insert. Rows that left the window are deleted only once as many have piled
    up as the window holds, so a key keeps at most twice its limit and a busy key does not pay
    a delete with every call."""
    latest, in_window, stored = _rate_counts(db, key, now_us - window_us)
    # A caller whose "now" is behind the latest recorded call (it read the clock, then waited
    # for the lock) counts as calling at that latest instant: recorded times stay in order,
    # which the window count relies on.
    at = max(now_us, latest if latest is not None else now_us)
    cut = at - window_us
    if at != now_us:
        _, in_window, stored = _rate_counts(db, key, cut)
    if stored - in_window >= limit:
        db.execute("DELETE FROM rate_events WHERE key = ? AND at <= ?", (key, cut))
    if in_window < limit:
        db.execute("INSERT INTO rate_events (key, at) VALUES (?, ?)", (key, at))
        return 0.0
    # The slot frees when the call that keeps the window full leaves it.
    oldest = one(db, "SELECT at FROM rate_events WHERE key = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?",
                 (key, cut, in_window - limit))
    assert oldest is not None
    wait_us: int = oldest[0] + window_us - now_us
    return max(wait_us / 1_000_000, 1e-6)


def _rate_counts(db: sqlite3.Connection, key: str, cut_us: int) -> tuple[int | None, int, int]:
    """``key``'s latest recorded call, its calls after ``cut_us``, and its rows in all."""
    row = one(db, "SELECT MAX(at), COUNT(CASE WHEN at > ? THEN 1 END), COUNT(*) FROM rate_events WHERE key = ?",
              (cut_us, key))
    assert row is not None  # an aggregate always answers one row
    return row[0], int(row[1]), int(row[2])
