"""One hop into aiosqlite's thread: a whole transaction as one synchronous call.

aiosqlite runs its sqlite3 connection in a worker thread and queues every awaited call onto it
(``execute``, ``fetchone``, closing the cursor): each is a thread hand-off plus an event-loop
wake-up, and a profile of the engine showed those hand-offs, not crosspost's Python, dominating
the CPU of a post (~220 per post). So the SQLite backend writes each transaction as a plain
function of a :class:`sqlite3.Connection` and sends it over in one call: BEGIN, the statements
and COMMIT (or ROLLBACK on any error) run back to back in the thread, and no other call can
interleave with them, because the thread runs one queued call at a time.

This relies on aiosqlite's internal ``Connection._execute(fn)`` (run ``fn`` in the thread, await
its result) and ``Connection._conn``; ``pyproject.toml`` pins the aiosqlite versions that have
them, and ``tests/storage/test_sqlite_thread.py`` fails if they change.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


async def run_in_thread(db: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work(connection)`` run in ``db``'s thread, awaited once.

    A caller cancelled while ``work`` waits or runs stops waiting; ``work`` itself still runs to
    its end (the thread cannot be interrupted), so give it whole transactions only.
    """
    result: T = await db._execute(_call, db, work)  # type: ignore[no-untyped-call]
    return result


def _call(db: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    return work(db._conn)


def transaction(mode: str, work: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    """``work`` inside ``BEGIN <mode>`` … ``COMMIT``; any error (and a failed COMMIT) rolls back."""
    conn.execute(f"BEGIN {mode}")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        # "no transaction is active" when SQLite already rolled back (e.g. a full disk).
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("ROLLBACK")
        raise
    return result


SYNC_LEVELS = frozenset({"OFF", "NORMAL", "FULL", "EXTRA"})


def without_fsync(level: str, work: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection) -> T:
    """``work`` (a whole transaction) whose COMMIT does not wait for the disk, then the
    connection back at ``level``.

    ``synchronous = NORMAL`` for this one commit (SQLite refuses to change it inside a
    transaction, hence around it). In WAL mode such a commit is still atomic and every process
    sees it at once; only a power loss or an OS crash before the next durable commit can undo it,
    and the next durable commit's ``fsync`` covers it (the WAL is one file, written in order).
    Measured here: ~15 µs per commit instead of ~240 µs.
    """
    if level not in SYNC_LEVELS:
        raise ValueError(f"synchronous must be one of {sorted(SYNC_LEVELS)}, not {level!r}")
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        return work(conn)
    finally:
        conn.execute(f"PRAGMA synchronous = {level}")


def one(conn: sqlite3.Connection, sql: str, params: Any = ()) -> sqlite3.Row | None:
    """The first row of ``sql``; the cursor is closed so no statement stays open at COMMIT."""
    cursor = conn.execute(sql, params)
    try:
        row: sqlite3.Row | None = cursor.fetchone()
        return row
    finally:
        cursor.close()


def every(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[sqlite3.Row]:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def changes(conn: sqlite3.Connection, sql: str, params: Any = ()) -> int:
    """How many rows ``sql`` (an UPDATE, INSERT or DELETE) changed."""
    cursor = conn.execute(sql, params)
    try:
        return cursor.rowcount
    finally:
        cursor.close()
