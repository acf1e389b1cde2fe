"""A transaction as one synchronous function of a :class:`sqlite3.Connection`, and its helpers.

The SQLite backend writes each transaction as a plain function (BEGIN, the statements, COMMIT,
or ROLLBACK on any error) so it runs start to end without an await: on the event loop's thread
(:class:`~crosspost.storage.sqlite_shared.SqliteConnection` says why); aiosqlite's thread is
left with the old multi-await transactions, migrations and closing.

The loop's side reaches the :class:`sqlite3.Connection` through aiosqlite's internal
``Connection._conn``; ``pyproject.toml`` pins the aiosqlite versions that have it, and
``tests/storage/test_sqlite_thread.py`` fails if it changes.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


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

_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` means another connection holds a lock (worth waiting for), not a fault."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


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
