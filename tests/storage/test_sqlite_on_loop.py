"""SQLite on the event loop's thread: durable commits flushed together, locks waited for without
blocking the loop, and what rides without a flush (storage/sqlite_shared.py, storage/sqlite_sync.py)."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage import sqlite_sync
from crosspost.storage.base import NewEvent, NewJob, NewPost
from crosspost.storage.sqlite import SqliteStorage, connect

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def storage(sqlite_storage: SqliteStorage) -> SqliteStorage:
    return sqlite_storage


@pytest.fixture
def flushed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every ``fdatasync`` WalSync makes (it still flushes: the real call runs)."""
    seen: list[int] = []
    real = sqlite_sync.os.fdatasync

    def recording(fd: int) -> None:
        real(fd)
        seen.append(threading.get_ident())

    monkeypatch.setattr(sqlite_sync.os, "fdatasync", recording)
    return seen


def event(kind: str) -> NewEvent:
    return NewEvent(kind=kind, post_id="p1")


def committed_kinds(storage: SqliteStorage) -> list[str]:
    """What another process reads: the committed events, in the order they were written."""
    with sqlite3.connect(storage.path) as other:
        return [row[0] for row in other.execute("SELECT kind FROM events ORDER BY id")]


async def test_transactions_run_on_the_loops_thread(storage: SqliteStorage) -> None:
    threads: list[int] = []

    def work(db: sqlite3.Connection) -> int:
        threads.append(threading.get_ident())
        return int(db.execute("SELECT 40 + 2").fetchone()[0])

    assert await storage._write(work) == 42
    assert await storage._read(work) == 42
    assert threads == [threading.get_ident()] * 2


async def test_a_durable_write_returns_after_a_flush(storage: SqliteStorage, flushed: list[int]) -> None:
    await storage.add_event(event("one"), now=T0)

    assert len(flushed) == 1, "the caller waited for an fdatasync of the WAL"
    assert committed_kinds(storage) == ["one"]


async def test_writes_of_one_turn_share_one_flush(storage: SqliteStorage, flushed: list[int]) -> None:
    await asyncio.gather(*(storage.add_event(event(f"e{n}"), now=T0) for n in range(10)))

    assert len(flushed) == 1, "ten commits, one flush covering them all"
    assert committed_kinds(storage) == [f"e{n}" for n in range(10)]


async def test_a_write_during_a_flush_waits_for_the_next_one(
        storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    real = sqlite_sync.os.fdatasync
    gate = threading.Event()
    loop = asyncio.get_running_loop()
    started = asyncio.Event()

    def slow(fd: int) -> None:
        order.append("flush starts")
        loop.call_soon_threadsafe(started.set)
        gate.wait(5)
        real(fd)

    monkeypatch.setattr(sqlite_sync.os, "fdatasync", slow)
    assert storage._sync is not None
    storage._sync.flush_s = 1.0  # a slow disk: flushed in the thread, the loop goes on
    first = asyncio.ensure_future(storage.add_event(event("first"), now=T0))
    await asyncio.wait_for(started.wait(), 5)
    second = asyncio.ensure_future(storage.add_event(event("second"), now=T0))
    await asyncio.sleep(0.01)
    assert not first.done(), "it returns only after its flush"
    assert not second.done(), "committed during the first flush, it waits for the next"
    gate.set()
    await asyncio.gather(first, second)
    assert order == ["flush starts", "flush starts"], "the second commit came after the first flush began"


async def test_a_fast_disk_is_flushed_on_the_loop_a_slow_one_in_a_thread(
        storage: SqliteStorage, flushed: list[int]) -> None:
    assert storage._sync is not None
    storage._sync.flush_s = sqlite_sync.FAST_FLUSH_S * 10
    await storage.add_event(event("slow disk"), now=T0)
    storage._sync.flush_s = 0.0
    await storage.add_event(event("fast disk"), now=T0)

    assert flushed[0] != threading.get_ident(), "in the flush thread"
    assert flushed[1] == threading.get_ident(), "on the loop"
    assert 0 < storage._sync.flush_s < 1.0, "each flush's time is measured"


async def test_a_failed_flush_reaches_its_writers(storage: SqliteStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(sqlite_sync.os, "fdatasync", failing)
    with pytest.raises(OSError, match="Input/output"):
        await storage.add_event(event("maybe lost"), now=T0)
    monkeypatch.undo()
    await storage.add_event(event("after"), now=T0)  # the connection works on
    assert committed_kinds(storage)[-1] == "after"


async def test_rate_windows_claims_and_leases_are_not_flushed_by_themselves(
        storage: SqliteStorage, flushed: list[int]) -> None:
    assert await storage.try_acquire_rate("k", limit=5, window=60, now=T0) == 0.0
    await storage.settle_rate("k", at=T0, now=T0 + timedelta(seconds=1))
    assert await storage.claim_job("w", now=T0, lease_until=T0 + timedelta(minutes=1)) is None
    await asyncio.sleep(0)
    assert flushed == []
    with sqlite3.connect(storage.path) as other:
        assert other.execute("SELECT COUNT(*) FROM rate_events").fetchone()[0] == 1, "committed: others see it"
    await storage.add_event(event("durable"), now=T0)
    assert len(flushed) == 1, "the next durable write's flush covers them (the WAL is written in order)"


async def test_a_checkpoint_saved_as_not_durable_waits_for_no_flush(
        storage: SqliteStorage, flushed: list[int]) -> None:
    target = Target(platform="fake", account="main")
    await storage.insert_post(NewPost(id="p1", post=Post(content="hi", targets=[target]), created_at=T0,
                                      jobs=(NewJob(id="j1", target=target, status=JobStatus.QUEUED, run_at=T0),)))
    job = await storage.claim_job("w", now=T0, lease_until=T0 + timedelta(minutes=1))
    assert job is not None
    assert job.lease is not None
    flushed.clear()
    until = T0 + timedelta(minutes=1)
    assert await storage.save_checkpoint(job.lease, {"next_chunk": 1}, status=None, now=T0, lease_until=until,
                                         durable=False)
    await asyncio.sleep(0)
    assert flushed == [], "committed, not waited to the disk"
    with sqlite3.connect(storage.path) as other:
        assert other.execute("SELECT COUNT(*) FROM jobs WHERE checkpoint LIKE '%next_chunk%'").fetchone()[0] == 1
    assert await storage.save_checkpoint(job.lease, {"next_chunk": 2}, status=None, now=T0, lease_until=until)
    assert len(flushed) == 1, "a durable save is flushed (taking the earlier one with it)"


async def test_a_rate_window_counts_only_its_own_calls_while_old_rows_wait_to_be_deleted(
        storage: SqliteStorage) -> None:
    def at(seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    def rows() -> int:
        with sqlite3.connect(storage.path) as other:
            return int(other.execute("SELECT COUNT(*) FROM rate_events").fetchone()[0])

    for second in (0, 1, 100, 101, 102):
        assert await storage.try_acquire_rate("k", limit=3, window=60, now=at(second)) == 0.0
    assert rows() == 5, "two calls left the window; fewer than the limit, so not deleted yet"
    assert await storage.try_acquire_rate("k", limit=3, window=60, now=at(103)) == 57.0, \
        "full: the call at 100 s leaves the window at 160 s"
    for second in range(200, 2000, 7):
        await storage.try_acquire_rate("k", limit=3, window=60, now=at(second))
        assert rows() <= 6, "a key keeps at most twice its limit"
    assert await storage.rate_usage("k", window=60, now=at(2000)) == 3


async def test_a_settle_is_committed_without_anyone_waiting(storage: SqliteStorage) -> None:
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    later = T0 + timedelta(seconds=10)
    await storage.settle_rate("k", at=T0, now=later)
    # 55 s after the answer the call still counts; 65 s after the send it would not have.
    assert await storage.rate_usage("k", window=60, now=T0 + timedelta(seconds=65)) == 1


def commits_of(storage: SqliteStorage) -> list[str]:
    """Every COMMIT the connection runs from now on (SQLite's own trace of its statements)."""
    seen: list[str] = []
    storage._conn.set_trace_callback(lambda sql: seen.append(sql) if sql.strip().upper() == "COMMIT" else None)
    return seen


async def test_a_settle_rides_in_the_next_writes_transaction(storage: SqliteStorage) -> None:
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    commits = commits_of(storage)
    await storage.settle_rate("k", at=T0, now=T0 + timedelta(seconds=10))
    await storage.add_event(event("after the call"), now=T0)

    assert len(commits) == 1, "the settle and the write share one commit"
    assert await storage.rate_usage("k", window=60, now=T0 + timedelta(seconds=65)) == 1, "the settle took effect"


async def test_a_settle_with_no_write_after_it_commits_at_the_end_of_the_turn(storage: SqliteStorage) -> None:
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    await storage.settle_rate("k", at=T0, now=T0 + timedelta(seconds=10))
    await asyncio.sleep(0)

    with sqlite3.connect(storage.path) as other:
        at = other.execute("SELECT at FROM rate_events").fetchone()[0]
    assert at == round((T0 + timedelta(seconds=10)).timestamp() * 1_000_000), "another process sees it"


async def test_a_failing_deferred_write_does_not_fail_the_write_it_rides_with(
        storage: SqliteStorage, caplog: pytest.LogCaptureFixture) -> None:
    storage._defer(lambda db: db.execute("UPDATE no_such_table SET x = 1"))
    await storage.add_event(event("kept"), now=T0)

    assert committed_kinds(storage) == ["kept"]
    assert "a deferred write could not be committed" in caplog.text


async def test_deferred_work_outlives_a_write_that_failed(storage: SqliteStorage) -> None:
    await storage.try_acquire_rate("k", limit=5, window=60, now=T0)
    await storage.settle_rate("k", at=T0, now=T0 + timedelta(seconds=10))

    def failing(db: sqlite3.Connection) -> None:
        raise sqlite3.IntegrityError("refused")

    with pytest.raises(sqlite3.IntegrityError):
        await storage._write(failing)
    await asyncio.sleep(0)
    assert await storage.rate_usage("k", window=60, now=T0 + timedelta(seconds=65)) == 1, \
        "the settle was committed after all"


async def test_a_lock_held_by_another_process_is_waited_for_off_the_loop(storage: SqliteStorage) -> None:
    other = sqlite3.connect(storage.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        write = asyncio.ensure_future(storage.add_event(event("waited"), now=T0))
        ticks = 0
        for _ in range(20):
            await asyncio.sleep(0.002)
            ticks += 1
        assert not write.done(), "it waits for the lock"
        assert ticks == 20, "and the loop kept running meanwhile"
    finally:
        other.execute("COMMIT")
        other.close()
    await write
    assert committed_kinds(storage) == ["waited"]


async def test_a_lock_held_past_the_busy_timeout_is_an_error(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "s.db"), busy_timeout=0.05)
    other = sqlite3.connect(storage.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await storage.add_event(event("never"), now=T0)
    finally:
        other.execute("ROLLBACK")
        other.close()
        await storage.close()


async def test_closing_waits_for_the_flush_in_flight(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "s.db"))
    assert isinstance(storage, SqliteStorage)
    writes = [asyncio.ensure_future(storage.add_event(event(f"e{n}"), now=T0)) for n in range(3)]
    await asyncio.sleep(0)

    await storage.close()

    await asyncio.gather(*writes)  # none failed
    assert committed_kinds(storage) == ["e0", "e1", "e2"]


async def test_a_connection_that_never_flushes_has_no_flusher(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "s.db"), synchronous="normal")
    try:
        assert storage._sync is None
        await storage.add_event(event("unflushed"), now=T0)
        assert storage.flushes == 0
    finally:
        await storage.close()


async def test_an_unknown_synchronous_level_is_refused_before_opening(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous must be one of"):
        await connect(str(tmp_path / "s.db"), synchronous="FULL; DROP TABLE jobs")
    assert not (tmp_path / "s.db").exists()
