"""Group commit on SQLite: writes that arrive while one is in the thread share the next commit."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crosspost.storage.base import NewEvent
from crosspost.storage.sqlite import SqliteStorage, connect

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def storage(sqlite_storage: SqliteStorage) -> SqliteStorage:
    return sqlite_storage


async def traced(storage: SqliteStorage) -> list[str]:
    seen: list[str] = []
    await storage._db.set_trace_callback(seen.append)
    return seen


def committed_kinds(storage: SqliteStorage) -> list[str]:
    """What another process reads: the committed events, in the order they were written."""
    with sqlite3.connect(storage.path) as other:
        return [row[0] for row in other.execute("SELECT kind FROM events ORDER BY id")]


def event(kind: str) -> NewEvent:
    return NewEvent(kind=kind, post_id="p1")


def insert(kind: str, *, then_raise: BaseException | None = None) -> Callable[[sqlite3.Connection], str]:
    def work(db: sqlite3.Connection) -> str:
        db.execute("INSERT INTO events (at, kind, post_id, data) VALUES (0, ?, 'p1', '{}')", (kind,))
        if then_raise is not None:
            raise then_raise
        return kind
    return work


async def test_writes_arriving_during_a_write_share_the_next_commit(storage: SqliteStorage) -> None:
    seen = await traced(storage)

    await asyncio.gather(*(storage.add_event(event(f"e{n}"), now=T0) for n in range(10)))

    assert seen.count("BEGIN IMMEDIATE") == 2, "the first write alone, the nine queued behind it together"
    assert seen.count("COMMIT") == 2
    assert committed_kinds(storage) == [f"e{n}" for n in range(10)], "committed in the order asked for"


async def test_a_lone_write_goes_straight_to_the_thread(storage: SqliteStorage) -> None:
    seen = await traced(storage)

    await storage.add_event(event("alone"), now=T0)

    assert [s for s in seen if not s.startswith("INSERT")] == ["BEGIN IMMEDIATE", "COMMIT"], "no savepoint"
    assert committed_kinds(storage) == ["alone"]


async def test_a_write_that_raises_in_a_group_is_rolled_back_alone(storage: SqliteStorage) -> None:
    first = asyncio.ensure_future(storage._write(insert("first")))
    await asyncio.sleep(0)  # the first write is in the thread: the next three queue behind it
    results = await asyncio.gather(
        storage._write(insert("kept-1")),
        storage._write(insert("dropped", then_raise=LookupError("this write's own check failed"))),
        storage._write(insert("kept-2")),
        return_exceptions=True)

    assert await first == "first"
    assert results[0] == "kept-1"
    assert results[2] == "kept-2"
    assert isinstance(results[1], LookupError)
    assert "own check failed" in str(results[1])
    assert committed_kinds(storage) == ["first", "kept-1", "kept-2"]


async def test_an_error_that_ends_the_transaction_commits_nothing_of_the_group(storage: SqliteStorage) -> None:
    def ends_the_transaction(db: sqlite3.Connection) -> None:
        db.execute("ROLLBACK")  # as SQLite does by itself on a full disk
        raise sqlite3.OperationalError("database or disk is full")

    first = asyncio.ensure_future(storage._write(insert("first")))
    await asyncio.sleep(0)
    results = await asyncio.gather(storage._write(insert("lost")), storage._write(ends_the_transaction),
                                   return_exceptions=True)

    assert await first == "first"
    assert all(isinstance(r, sqlite3.OperationalError) and "disk is full" in str(r) for r in results), \
        "every writer of the group is told its write was not committed"
    assert committed_kinds(storage) == ["first"], "no write of the failed group ran outside a transaction"
    await storage.add_event(event("after"), now=T0)
    assert committed_kinds(storage) == ["first", "after"], "the connection works on"


async def test_closing_waits_for_queued_writes(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "s.db"))
    assert isinstance(storage, SqliteStorage)
    writes = [asyncio.ensure_future(storage.add_event(event(f"e{n}"), now=T0)) for n in range(3)]
    await asyncio.sleep(0)

    await storage.close()

    await asyncio.gather(*writes)  # none failed
    assert committed_kinds(storage) == ["e0", "e1", "e2"]


def flushes(seen: list[str]) -> list[str]:
    """The commits and whether each waited for the disk, in order."""
    marks = []
    relaxed = False
    for statement in seen:
        if statement == "PRAGMA synchronous = NORMAL":
            relaxed = True
        elif statement == "PRAGMA synchronous = FULL":
            relaxed = False
        elif statement == "COMMIT":
            marks.append("unflushed" if relaxed else "flushed")
    return marks


async def test_a_rate_window_write_commits_without_waiting_for_the_disk(storage: SqliteStorage) -> None:
    seen = await traced(storage)

    assert await storage.try_acquire_rate("k", limit=5, window=60, now=T0) == 0.0
    await storage.add_event(event("durable"), now=T0)

    assert flushes(seen) == ["unflushed", "flushed"]
    assert (await storage._query(lambda db: db.execute("PRAGMA synchronous").fetchone()[0])) == 2, \
        "the connection is back at FULL"
    with sqlite3.connect(storage.path) as other:
        assert other.execute("SELECT COUNT(*) FROM rate_events").fetchone()[0] == 1, "committed: others see it"


async def test_a_group_is_flushed_when_any_of_its_writes_must_be(storage: SqliteStorage) -> None:
    seen = await traced(storage)

    first = asyncio.ensure_future(storage.try_acquire_rate("k", limit=5, window=60, now=T0))
    await asyncio.sleep(0)
    await asyncio.gather(storage.try_acquire_rate("k", limit=5, window=60, now=T0),
                         storage.add_event(event("durable"), now=T0))
    assert await first == 0.0
    await asyncio.gather(storage.try_acquire_rate("k", limit=5, window=60, now=T0),
                         storage.try_acquire_rate("k", limit=5, window=60, now=T0))

    assert flushes(seen) == ["unflushed", "flushed", "unflushed", "unflushed"]


async def test_a_connection_that_never_flushes_is_left_as_it_is(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "s.db"), synchronous="normal")
    try:
        seen = await traced(storage)
        await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
        assert not any(s.startswith("PRAGMA") for s in seen)
    finally:
        await storage.close()


async def test_an_unknown_synchronous_level_is_refused_before_opening(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous must be one of"):
        await connect(str(tmp_path / "s.db"), synchronous="FULL; DROP TABLE jobs")
    assert not (tmp_path / "s.db").exists()
