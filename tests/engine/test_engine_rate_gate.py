"""The database-backed sliding window: never more than N calls in any window, across processes."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from crosspost.core.clock import FakeClock
from crosspost.core.engine import StorageRateGate
from crosspost.storage import open_storage
from crosspost.storage.sqlite_rows import dt
from tests.engine.conftest import T0


def most_in_any_window(times: list[datetime], window: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for u in ordered if t <= u < t + timedelta(seconds=window)) for t in ordered)


def audit_admissions(path: Path) -> None:
    """Copy every recorded call's instant into an audit table, in the inserting transaction (a
    trigger): the gate deletes calls that left the window, and reading "the latest row" after an
    admission races with the other connection's admissions."""
    with sqlite3.connect(path) as db:
        db.executescript("""CREATE TABLE rate_audit (at INTEGER NOT NULL);
            CREATE TRIGGER rate_audit_insert AFTER INSERT ON rate_events
            BEGIN INSERT INTO rate_audit (at) VALUES (new.at); END;""")


def audited(path: Path) -> list[datetime]:
    with sqlite3.connect(path) as db:
        return [dt(at) for (at,) in db.execute("SELECT at FROM rate_audit ORDER BY at")]


async def test_thirty_calls_for_one_token_never_exceed_six_per_minute(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    storage = await open_storage(str(tmp_path / "rate.db"))
    gate = StorageRateGate(storage, clock)
    admitted: list[datetime] = []
    try:
        for _ in range(30):
            await gate.acquire("tok-1:init", limit=6, window=60)
            admitted.append(clock.now())
    finally:
        await storage.close()
    assert len(admitted) == 30
    assert most_in_any_window(admitted, 60) == 6
    assert clock.now() == T0 + timedelta(seconds=240), "five windows of six, no time wasted"


async def test_concurrent_waiters_on_two_connections_share_one_window(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    one = await open_storage(str(tmp_path / "rate.db"))
    two = await open_storage(str(tmp_path / "rate.db"))
    audit_admissions(tmp_path / "rate.db")
    gates = [StorageRateGate(one, clock), StorageRateGate(two, clock)]

    async def call(i: int) -> None:
        await gates[i % 2].acquire("tok-1:status", limit=5, window=60)

    try:
        await asyncio.gather(*(call(i) for i in range(25)))
    finally:
        await one.close()
        await two.close()
    admitted = audited(tmp_path / "rate.db")
    assert len(admitted) == 25
    assert most_in_any_window(admitted, 60) <= 5


async def test_try_acquire_never_waits_and_says_when_the_cap_reopens(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    storage = await open_storage(str(tmp_path / "rate.db"))
    gate = StorageRateGate(storage, clock)
    day = 24 * 3600.0
    try:
        for _ in range(15):
            assert await gate.try_acquire("fake:main:direct-posts", limit=15, window=day) == 0.0
            clock.advance(60)
        assert await gate.used("fake:main:direct-posts", window=day) == 15
        wait = await gate.try_acquire("fake:main:direct-posts", limit=15, window=day)
        assert wait == day - 15 * 60, "the 16th post waits until the first leaves the 24 h window"
        assert await gate.used("fake:main:direct-posts", window=day) == 15, "a refused call is not recorded"
        assert clock.slept == []
    finally:
        await storage.close()
