"""One call per transaction on SQLite: the aiosqlite adapter, rollback, and cancelled callers."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crosspost.storage.base import NewEvent
from crosspost.storage.sqlite import SqliteStorage, connect
from crosspost.storage.sqlite_shared import log_event
from crosspost.storage.sqlite_thread import every, transaction

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_the_loop_uses_aiosqlites_own_connection(tmp_path: Path) -> None:
    """``SqliteConnection._conn`` is aiosqlite's internal ``Connection._conn`` (pinned versions)."""
    storage = await _storage(tmp_path)
    try:
        assert isinstance(storage._conn, sqlite3.Connection)
        await storage._db.execute("CREATE TABLE t (x)")  # through aiosqlite's thread
        names = await storage._query(lambda c: c.execute("SELECT name FROM sqlite_master WHERE name = 't'").fetchall())
        assert [tuple(n) for n in names] == [("t",)], "the connection aiosqlite's own calls use"
    finally:
        await storage.close()


def test_an_error_in_the_work_reaches_the_caller_and_rolls_everything_back(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    try:
        conn.execute("CREATE TABLE t (x)")

        def work(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO t VALUES (1)")
            c.execute("INSERT INTO t VALUES (2)")
            raise LookupError("half way")

        with pytest.raises(LookupError, match="half way"):
            transaction("IMMEDIATE", work, conn)
        assert conn.in_transaction is False
        assert every(conn, "SELECT x FROM t") == []
    finally:
        conn.close()


async def _storage(tmp_path: Path) -> SqliteStorage:
    storage = await connect(str(tmp_path / "s.db"))
    assert isinstance(storage, SqliteStorage)
    return storage


async def test_a_cancelled_caller_leaves_no_transaction_open_and_no_half_write(tmp_path: Path) -> None:
    storage = await _storage(tmp_path)
    try:
        def pair(i: int) -> Callable[[sqlite3.Connection], None]:
            def work(conn: sqlite3.Connection) -> None:
                log_event(conn, NewEvent(kind=f"a{i}", post_id="p"), NOW)
                log_event(conn, NewEvent(kind=f"b{i}", post_id="p"), NOW)
            return work

        other = sqlite3.connect(storage.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing: the pairs wait for its lock
        try:
            waiting = [asyncio.ensure_future(storage._write(pair(i))) for i in range(2)]
            await asyncio.sleep(0.01)
            for task in waiting:
                task.cancel()
        finally:
            other.execute("COMMIT")
            other.close()
        flushing = asyncio.ensure_future(storage._write(pair(2)))
        await asyncio.sleep(0)  # committed; now waiting for its flush
        flushing.cancel()
        for task in [*waiting, flushing]:
            with pytest.raises(asyncio.CancelledError):
                await task
        # Cancelled while waiting for the lock, a write never ran; cancelled while waiting for
        # its flush, it was committed whole. Either way no pair is split and no transaction open.
        assert await storage._query(lambda conn: conn.in_transaction) is False
        kinds = [e.kind for e in await storage.list_events(post_id="p")]
        assert kinds == ["a2", "b2"]
        await storage.add_event(NewEvent(kind="after", post_id="p"), now=NOW)
        assert [e.kind for e in await storage.list_events(post_id="p")][-1] == "after"
    finally:
        await storage.close()


async def test_concurrent_transactions_never_interleave(tmp_path: Path) -> None:
    storage = await _storage(tmp_path)
    try:
        await storage._write(lambda conn: conn.execute("CREATE TABLE counter (n INTEGER)"))
        await storage._write(lambda conn: conn.execute("INSERT INTO counter VALUES (0)"))

        def bump(conn: sqlite3.Connection) -> None:  # read-modify-write: lost updates if interleaved
            (n,) = conn.execute("SELECT n FROM counter").fetchone()
            conn.execute("UPDATE counter SET n = ?", (n + 1,))

        await asyncio.gather(*(storage._write(bump) for _ in range(50)))
        row = await storage._query(lambda conn: conn.execute("SELECT n FROM counter").fetchone())
        assert row[0] == 50
    finally:
        await storage.close()


async def test_an_old_style_multi_await_transaction_excludes_one_hop_ones(tmp_path: Path) -> None:
    """Storage methods still written with ``_tx`` (several awaits) keep working beside hops."""
    storage = await _storage(tmp_path)
    try:
        async def old_style() -> None:
            async with storage._tx() as db:
                await db.execute("INSERT INTO events (at, kind, post_id, job_id, data) "
                                 "VALUES (0, 'old', 'p', NULL, '{}')")
                await asyncio.sleep(0.01)
                await db.execute("INSERT INTO events (at, kind, post_id, job_id, data) "
                                 "VALUES (0, 'old2', 'p', NULL, '{}')")

        await asyncio.gather(old_style(), *(storage.add_event(NewEvent(kind="hop", post_id="p"), now=NOW)
                                            for _ in range(5)))
        kinds = [e.kind for e in await storage.list_events(post_id="p")]
        assert sorted(kinds) == ["hop"] * 5 + ["old", "old2"]
        assert kinds.index("old2") == kinds.index("old") + 1, "nothing ran inside the old transaction"
    finally:
        await storage.close()
