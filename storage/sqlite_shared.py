"""SQLite plumbing shared by the backend's parts: one connection, one transaction at a time.

Also holds the state every process shares besides posts and jobs: accounts, the event log, rate
windows and named locks (:class:`SqliteShared`); :class:`~crosspost.storage.sqlite.SqliteStorage`
adds posts and jobs on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiosqlite

from crosspost.storage.base import AccountRow, EventRow, NewEvent
from crosspost.storage.sqlite_rows import account_row, account_values, dumps, event_row, ts


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


class SqliteConnection:
    """Owns the aiosqlite connection; an asyncio lock keeps one transaction at a time on it."""

    def __init__(self, db: aiosqlite.Connection, path: str) -> None:
        self._db = db
        self.path = path
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        async with self._lock:
            await self._db.close()

    @contextlib.asynccontextmanager
    async def _tx(self, mode: str = "IMMEDIATE") -> AsyncIterator[aiosqlite.Connection]:
        """One transaction; IMMEDIATE for writes, DEFERRED for consistent multi-statement reads."""
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
            await db.execute(
                "INSERT INTO events (at, kind, post_id, job_id, data) VALUES (?, ?, ?, ?, ?)",
                (ts(now), event.kind, event.post_id, event.job_id, dumps(dict(event.data))),
            )



class SqliteShared(SqliteConnection):
    """Accounts, the event log, rate windows and locks."""

    # -- accounts ----------------------------------------------------------------------------

    async def insert_account(self, row: AccountRow) -> bool:
        values = account_values(row)
        columns = ", ".join(values)
        marks = ", ".join(f":{k}" for k in values)
        async with self._tx() as db:
            return await self._changes(
                db, f"INSERT INTO accounts ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING", values) > 0

    async def get_account(self, platform: str, name: str) -> AccountRow | None:
        async with self._lock:
            row = await self._one(self._db, "SELECT * FROM accounts WHERE platform = ? AND name = ?",
                                  (platform, name))
        return None if row is None else account_row(row)

    async def list_accounts(self, platform: str | None = None) -> list[AccountRow]:
        sql = "SELECT * FROM accounts WHERE (:platform IS NULL OR platform = :platform) ORDER BY platform, name"
        async with self._lock:
            rows = await self._all(self._db, sql, {"platform": platform})
        return [account_row(r) for r in rows]

    async def update_account(self, row: AccountRow, *, expected_version: int) -> bool:
        values = account_values(row)
        sets = ", ".join(f"{k} = :{k}" for k in values if k not in ("platform", "name", "created_at"))
        async with self._tx() as db:
            return await self._changes(
                db, f"""UPDATE accounts SET {sets}
                        WHERE platform = :platform AND name = :name AND version = :expected""",
                {**values, "expected": expected_version}) > 0

    async def delete_account(self, platform: str, name: str) -> bool:
        async with self._tx() as db:
            return await self._changes(db, "DELETE FROM accounts WHERE platform = ? AND name = ?",
                                       (platform, name)) > 0

    async def set_needs_login(self, platform: str, name: str, reason: str, *, now: datetime) -> bool:
        async with self._tx() as db:
            return await self._changes(
                db, """UPDATE accounts SET needs_login = 1, login_reason = ?, version = version + 1,
                           updated_at = ?
                       WHERE platform = ? AND name = ?""", (reason, ts(now), platform, name)) > 0

    # -- event log ---------------------------------------------------------------------------

    async def add_event(self, event: NewEvent, *, now: datetime) -> None:
        async with self._tx() as db:
            await self._log(db, event, now)

    async def list_events(self, *, post_id: str | None = None, job_id: str | None = None,
                          limit: int = 1000) -> list[EventRow]:
        sql = """SELECT * FROM events WHERE (:post_id IS NULL OR post_id = :post_id)
                   AND (:job_id IS NULL OR job_id = :job_id) ORDER BY id LIMIT :limit"""
        async with self._lock:
            rows = await self._all(self._db, sql, {"post_id": post_id, "job_id": job_id, "limit": limit})
        return [event_row(r) for r in rows]

    # -- shared rate windows and locks -------------------------------------------------------

    async def try_acquire_rate(self, key: str, *, limit: int, window: float, now: datetime) -> float:
        now_us, window_us = ts(now), round(window * 1_000_000)
        async with self._tx() as db:
            # A caller whose "now" is behind the latest recorded call (it read the clock, then
            # waited for the lock) counts as calling at that latest instant: recorded times stay
            # in order, which the window count relies on.
            latest = await self._one(db, "SELECT MAX(at) FROM rate_events WHERE key = ?", (key,))
            at = max(now_us, latest[0] if latest and latest[0] is not None else now_us)
            await db.execute("DELETE FROM rate_events WHERE key = ? AND at <= ?", (key, at - window_us))
            row = await self._one(db, "SELECT COUNT(*) FROM rate_events WHERE key = ?", (key,))
            count = row[0] if row else 0
            if count < limit:
                await db.execute("INSERT INTO rate_events (key, at) VALUES (?, ?)", (key, at))
                return 0.0
            # The slot frees when the call that keeps the window full leaves it.
            oldest = await self._one(db, "SELECT at FROM rate_events WHERE key = ? ORDER BY at LIMIT 1 OFFSET ?",
                                     (key, count - limit))
        assert oldest is not None
        wait_us: int = oldest[0] + window_us - now_us
        return max(wait_us / 1_000_000, 1e-6)

    async def settle_rate(self, key: str, *, at: datetime, now: datetime) -> None:
        async with self._tx() as db:
            await db.execute(
                """UPDATE rate_events SET at = MAX(at, :now)
                   WHERE id = (SELECT id FROM rate_events WHERE key = :key AND at >= :at ORDER BY at, id LIMIT 1)""",
                {"key": key, "at": ts(at), "now": ts(now)})

    async def fill_rate(self, key: str, *, limit: int, window: float, now: datetime) -> None:
        del window  # rows older than a window go with the next admission
        now_us = ts(now)
        async with self._tx() as db:
            row = await self._one(db, "SELECT COUNT(*) FROM rate_events WHERE key = ? AND at >= ?", (key, now_us))
            missing = limit - (row[0] if row else 0)
            await db.executemany("INSERT INTO rate_events (key, at) VALUES (?, ?)",
                                 [(key, now_us)] * max(0, missing))

    async def rate_usage(self, key: str, *, window: float, now: datetime) -> int:
        since = ts(now) - round(window * 1_000_000)
        async with self._lock:
            row = await self._one(self._db, "SELECT COUNT(*) FROM rate_events WHERE key = ? AND at > ?",
                                  (key, since))
        return int(row[0]) if row else 0

    async def try_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        async with self._tx() as db:
            return await self._changes(
                db, """INSERT INTO locks (name, owner, until) VALUES (:name, :owner, :until)
                       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                       WHERE locks.owner = excluded.owner OR locks.until <= :now""",
                {"name": name, "owner": owner, "until": ts(until), "now": ts(now)}) > 0

    async def unlock(self, name: str, owner: str) -> None:
        async with self._tx() as db:
            await db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))
