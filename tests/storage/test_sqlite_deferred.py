"""Deferred writes on SQLite: a rate window's settle rides on the connection's next call."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost.storage import sqlite_shared
from crosspost.storage.sqlite import SqliteStorage, connect

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(seconds=10)


@pytest.fixture
def storage(sqlite_storage: SqliteStorage) -> SqliteStorage:
    return sqlite_storage


def stored_times(storage: SqliteStorage) -> list[int]:
    """What another process reads: the committed rows, through a connection of its own."""
    with sqlite3.connect(storage.path) as other:
        return [row[0] for row in other.execute("SELECT at FROM rate_events WHERE key = 'k' ORDER BY at")]


def us(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


async def commits_during(storage: SqliteStorage) -> list[str]:
    seen: list[str] = []
    await storage._db.set_trace_callback(seen.append)
    return seen


async def test_a_settle_is_committed_in_the_next_writes_own_transaction(storage: SqliteStorage) -> None:
    assert await storage.try_acquire_rate("k", limit=5, window=60, now=T0) == 0.0
    await storage.settle_rate("k", at=T0, now=LATER)
    assert stored_times(storage) == [us(T0)], "not committed yet: nothing else was written"
    seen = await commits_during(storage)

    assert await storage.try_acquire_rate("k", limit=5, window=60, now=LATER) == 0.0

    assert stored_times(storage) == [us(LATER), us(LATER)]
    assert [s for s in seen if s.startswith(("BEGIN", "COMMIT"))] == ["BEGIN IMMEDIATE", "COMMIT"], \
        "the settle and the next call shared one transaction"


async def test_a_read_after_a_settle_sees_it(storage: SqliteStorage) -> None:
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    await storage.settle_rate("k", at=T0, now=LATER)
    # 55 s after the answer the call still counts; 65 s after the send it would not have.
    assert await storage.rate_usage("k", window=60, now=T0 + timedelta(seconds=65)) == 1
    assert stored_times(storage) == [us(LATER)], "committed before the read, in the same hop"


async def test_with_no_other_call_a_settle_commits_by_itself(
        storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_shared, "DEFERRED_WITHIN", 0.0)
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    await storage.settle_rate("k", at=T0, now=LATER)
    for _ in range(2):  # the timer (due now) runs on the loop's next turn, after this task's step
        await asyncio.sleep(0)
    assert storage._deferred_flush, "a commit of its own was started"
    await asyncio.gather(*storage._deferred_flush)
    assert stored_times(storage) == [us(LATER)]


async def test_closing_commits_what_was_deferred(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "s.db"))
    assert isinstance(storage, SqliteStorage)
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    await storage.settle_rate("k", at=T0, now=LATER)
    await storage.close()
    assert stored_times(storage) == [us(LATER)]


async def test_a_write_that_fails_keeps_the_settle_for_the_next_call(storage: SqliteStorage) -> None:
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    await storage.settle_rate("k", at=T0, now=LATER)

    def failing(db: sqlite3.Connection) -> None:
        raise LookupError("the caller's own write failed")

    with pytest.raises(LookupError):
        await storage._write(failing)
    assert stored_times(storage) == [us(T0)], "rolled back with the failed write"
    await storage.rate_usage("k", window=60, now=LATER)
    assert stored_times(storage) == [us(LATER)], "and committed with the next call"
