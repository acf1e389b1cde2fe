"""One hop per transaction on SQLite: the aiosqlite adapter, rollback, and cancelled callers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from crosspost.storage.base import NewEvent
from crosspost.storage.sqlite import SqliteStorage, connect
from crosspost.storage.sqlite_shared import log_event
from crosspost.storage.sqlite_thread import every, run_in_thread, transaction

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def test_work_runs_in_aiosqlites_thread_on_its_connection(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "x.db", isolation_level=None) as db:
        seen: list[tuple[int, sqlite3.Connection]] = []

        def work(conn: sqlite3.Connection) -> int:
            seen.append((threading.get_ident(), conn))
            return int(conn.execute("SELECT 40 + 2").fetchone()[0])

        assert await run_in_thread(db, work) == 42
        await db.execute("CREATE TABLE t (x)")
        await run_in_thread(db, work)
        [(thread, conn), (again, same)] = seen
        assert thread == again != threading.get_ident(), "the work ran in aiosqlite's one thread"
        assert isinstance(conn, sqlite3.Connection)
        assert same is conn
        names = await run_in_thread(db, lambda c: c.execute("SELECT name FROM sqlite_master").fetchall())
        assert [tuple(n) for n in names] == [("t",)], "the connection aiosqlite's own calls use"


async def test_an_error_in_the_work_reaches_the_caller_and_rolls_everything_back(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "x.db", isolation_level=None) as db:
        await db.execute("CREATE TABLE t (x)")

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t VALUES (1)")
            conn.execute("INSERT INTO t VALUES (2)")
            raise LookupError("half way")

        with pytest.raises(LookupError, match="half way"):
            await run_in_thread(db, lambda conn: transaction("IMMEDIATE", work, conn))
        assert await run_in_thread(db, lambda conn: conn.in_transaction) is False
        assert await run_in_thread(db, lambda conn: every(conn, "SELECT x FROM t")) == []


async def _storage(tmp_path: Path) -> SqliteStorage:
    storage = await connect(str(tmp_path / "s.db"))
    assert isinstance(storage, SqliteStorage)
    return storage


async def test_a_cancelled_caller_leaves_no_transaction_open_and_no_half_write(tmp_path: Path) -> None:
    storage = await _storage(tmp_path)
    try:
        release = threading.Event()

        def slow(conn: sqlite3.Connection) -> None:  # holds the thread, as a busy wait would
            release.wait(5)

        def pair(i: int) -> Callable[[sqlite3.Connection], None]:
            def work(conn: sqlite3.Connection) -> None:
                log_event(conn, NewEvent(kind=f"a{i}", post_id="p"), NOW)
                log_event(conn, NewEvent(kind=f"b{i}", post_id="p"), NOW)
            return work

        blocker = asyncio.ensure_future(storage._write(slow))
        writes = [asyncio.ensure_future(storage._write(pair(i))) for i in range(3)]
        await asyncio.sleep(0)  # every write is handed to the thread, queued behind the blocker
        for task in writes:
            task.cancel()
        release.set()
        await blocker
        for task in writes:
            with pytest.raises(asyncio.CancelledError):
                await task
        # Handed over, a transaction runs whole in the thread even though its caller stopped
        # waiting: the connection is outside any transaction and no pair is split.
        assert await storage._query(lambda conn: conn.in_transaction) is False
        kinds = [e.kind for e in await storage.list_events(post_id="p")]
        assert kinds == ["a0", "b0", "a1", "b1", "a2", "b2"]
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
