"""Accounts, the event log, shared rate windows and named locks on PostgreSQL.

These are the parts of the storage contract several processes share besides the job queue:
a rate window is only a limit if every process counts in the same place, and a token refresh
is only single-flight if every process asks the same lock (``locks`` rows with an expiry, so a
holder that dies frees the lock after its ``until``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from crosspost.storage.base import AccountRow, EventRow, NewEvent
from crosspost.storage.postgres.rows import ACCOUNT_COLUMNS, account_row, account_values, aware, event_row
from crosspost.storage.postgres.sql import Params

if TYPE_CHECKING:
    import asyncpg

    from crosspost.storage.postgres.rows import Conn



def _rate_lock(key: str) -> str:
    """The per-key advisory lock every rate-window write takes, ``key`` being an SQL expression.
    One definition for the statements here and the functions of migration 0008: a process of an
    older version and one of this version must wait on the same lock."""
    return f"pg_advisory_xact_lock(hashtextextended('crosspost:rate:' || current_schema() || ':' || {key}, 0))"


_RATE_LOCK = f"SELECT {_rate_lock('$1')}"
_RATE_LOCK_OF_KEY = _rate_lock("p_key")

NO_FLUSH = "set_config('synchronous_commit', 'off', true)"
"""For the calling transaction only: its commit does not wait for the WAL flush. A rate window's
row lost to a server crash lets one call more through, which the platform's own limit answers;
every later durable commit flushes it anyway (the WAL is written in order). So does a checkpoint
saved with ``durable=False``; job, post, account and other checkpoint writes keep the server's
setting (``on``: see docs/operations.md)."""

RATE_FUNCTIONS = (
    # One rate-window check (and the recorded call when there is room), as one statement: the
    # key's lock serialises check-and-record across processes (READ COMMITTED alone would let two
    # transactions both count five and both insert a sixth); each statement after it sees what the
    # previous holder committed (a VOLATILE function takes a new snapshot per statement). A caller
    # whose "now" is behind the latest recorded call (it read the clock, then waited for the lock)
    # counts as calling at that instant: recorded times stay in order, which the count relies on.
    # Returns 0 when admitted, else the seconds until the call that keeps the window full leaves.
    f"""CREATE FUNCTION crosspost_acquire_rate(p_key TEXT, p_limit INTEGER, p_now TIMESTAMPTZ,
                                            p_window INTERVAL) RETURNS DOUBLE PRECISION
        LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
        v_at TIMESTAMPTZ;
        v_count BIGINT;
        v_oldest TIMESTAMPTZ;
    BEGIN
        PERFORM {_RATE_LOCK_OF_KEY};
        PERFORM {NO_FLUSH};
        SELECT max(at) INTO v_at FROM rate_events WHERE key = p_key;
        v_at := GREATEST(p_now, COALESCE(v_at, p_now));
        DELETE FROM rate_events WHERE key = p_key AND at <= v_at - p_window;
        SELECT count(*) INTO v_count FROM rate_events WHERE key = p_key;
        IF v_count < p_limit THEN
            INSERT INTO rate_events (key, at) VALUES (p_key, v_at);
            RETURN 0.0;
        END IF;
        SELECT at INTO v_oldest FROM rate_events WHERE key = p_key ORDER BY at LIMIT 1 OFFSET v_count - p_limit;
        RETURN GREATEST(EXTRACT(EPOCH FROM (v_oldest + p_window - p_now))::DOUBLE PRECISION, 0.000001);
    END
    $$""",
    # The call admitted at p_at got its answer at p_now: it counts from then (under the key's lock).
    f"""CREATE FUNCTION crosspost_settle_rate(p_key TEXT, p_at TIMESTAMPTZ, p_now TIMESTAMPTZ) RETURNS VOID
        LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        PERFORM {_RATE_LOCK_OF_KEY};
        PERFORM {NO_FLUSH};
        UPDATE rate_events SET at = GREATEST(at, p_now)
        WHERE id = (SELECT id FROM rate_events WHERE key = p_key AND at >= p_at ORDER BY at, id LIMIT 1);
    END
    $$""",
)
"""Migration 0008: the rate window's check and settle, each one round trip instead of 7 and 4."""


async def log_event(conn: Conn, event: NewEvent | None, now: datetime) -> None:
    """Write ``event`` (when given) on ``conn``, inside the caller's transaction."""
    if event is not None:
        await conn.execute("INSERT INTO events (at, kind, post_id, job_id, data) VALUES ($1, $2, $3, $4, $5)",
                           aware(now), event.kind, event.post_id, event.job_id, dict(event.data))


class SharedState:
    """The accounts, events, rate-window and lock half of :class:`PostgresStorage`."""

    _pool: asyncpg.Pool[asyncpg.Record]

    # -- accounts ----------------------------------------------------------------------------

    async def insert_account(self, row: AccountRow) -> bool:
        marks = ", ".join(f"${i}" for i in range(1, len(ACCOUNT_COLUMNS) + 1))
        sql = (f"INSERT INTO accounts ({', '.join(ACCOUNT_COLUMNS)}) VALUES ({marks}) "
               "ON CONFLICT DO NOTHING RETURNING 1")
        return await self._pool.fetchval(sql, *account_values(row)) is not None

    async def get_account(self, platform: str, name: str) -> AccountRow | None:
        row = await self._pool.fetchrow("SELECT * FROM accounts WHERE platform = $1 AND name = $2", platform, name)
        return None if row is None else account_row(row)

    async def list_accounts(self, platform: str | None = None) -> list[AccountRow]:
        rows = await self._pool.fetch(
            "SELECT * FROM accounts WHERE ($1::text IS NULL OR platform = $1) ORDER BY platform, name", platform)
        return [account_row(r) for r in rows]

    async def update_account(self, row: AccountRow, *, expected_version: int) -> bool:
        p = Params()
        values = dict(zip(ACCOUNT_COLUMNS, account_values(row), strict=True))
        sets = ", ".join(f"{c} = {p(v)}" for c, v in values.items() if c not in ("platform", "name", "created_at"))
        sql = (f"UPDATE accounts SET {sets} WHERE platform = {p(row.platform)} AND name = {p(row.name)} "
               f"AND version = {p(expected_version)} RETURNING 1")
        return await self._pool.fetchval(sql, *p.values) is not None

    async def delete_account(self, platform: str, name: str) -> bool:
        status = await self._pool.execute("DELETE FROM accounts WHERE platform = $1 AND name = $2", platform, name)
        return status != "DELETE 0"

    async def set_needs_login(self, platform: str, name: str, reason: str, *, now: datetime) -> bool:
        status = await self._pool.execute(
            """UPDATE accounts SET needs_login = TRUE, login_reason = $1, version = version + 1, updated_at = $2
               WHERE platform = $3 AND name = $4""", reason, aware(now), platform, name)
        return status != "UPDATE 0"

    # -- event log ---------------------------------------------------------------------------

    async def add_event(self, event: NewEvent, *, now: datetime) -> None:
        async with self._pool.acquire() as conn:
            await log_event(conn, event, now)

    async def list_events(self, *, post_id: str | None = None, job_id: str | None = None,
                          limit: int = 1000) -> list[EventRow]:
        rows = await self._pool.fetch(
            """SELECT * FROM events WHERE ($1::text IS NULL OR post_id = $1)
                 AND ($2::text IS NULL OR job_id = $2) ORDER BY id LIMIT $3""", post_id, job_id, limit)
        return [event_row(r) for r in rows]

    # -- shared rate windows and locks -------------------------------------------------------

    async def try_acquire_rate(self, key: str, *, limit: int, window: float, now: datetime) -> float:
        wait: float = await self._pool.fetchval("SELECT crosspost_acquire_rate($1, $2, $3, $4)",
                                                key, limit, aware(now), timedelta(seconds=window))
        return wait

    async def settle_rate(self, key: str, *, at: datetime, now: datetime) -> None:
        await self._pool.execute("SELECT crosspost_settle_rate($1, $2, $3)", key, aware(at), aware(now))

    async def fill_rate(self, key: str, *, limit: int, window: float, now: datetime) -> None:
        del window  # rows older than a window go with the next admission
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_RATE_LOCK, key)
            count: int = await conn.fetchval("SELECT count(*) FROM rate_events WHERE key = $1 AND at >= $2",
                                             key, aware(now))
            if limit > count:
                await conn.executemany("INSERT INTO rate_events (key, at) VALUES ($1, $2)",
                                       [(key, aware(now))] * (limit - count))

    async def rate_usage(self, key: str, *, window: float, now: datetime) -> int:
        since = aware(now) - timedelta(seconds=window)
        count: int = await self._pool.fetchval(
            "SELECT count(*) FROM rate_events WHERE key = $1 AND at > $2", key, since)
        return count

    async def try_lock(self, name: str, owner: str, *, until: datetime, now: datetime) -> bool:
        taken = await self._pool.fetchval(
            """INSERT INTO locks (name, owner, until) VALUES ($1, $2, $3)
               ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
               WHERE locks.owner = excluded.owner OR locks.until <= $4
               RETURNING 1""", name, owner, aware(until), aware(now))
        return taken is not None

    async def unlock(self, name: str, owner: str) -> None:
        await self._pool.execute("DELETE FROM locks WHERE name = $1 AND owner = $2", name, owner)
