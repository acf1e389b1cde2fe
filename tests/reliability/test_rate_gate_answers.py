"""The shared rate gate counts a call until its answer and believes the platform's "too many",
on SQLite and PostgreSQL (issue 19 item 2)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.engine.ratelimit import StorageRateGate
from crosspost.storage import open_storage
from tests.reliability.tiktok_hub import T0


@pytest.fixture
async def gate(db_url: str, clock: FakeClock) -> AsyncIterator[StorageRateGate]:
    storage = await open_storage(db_url)
    try:
        yield StorageRateGate(storage, clock)
    finally:
        await storage.close()


async def test_a_slow_answer_keeps_its_call_in_the_window_until_it_came(gate: StorageRateGate,
                                                                       clock: FakeClock) -> None:
    first = await gate.acquire("k", limit=2, window=60)
    clock.advance(10)  # the answer took 10 s: the platform may have counted the call at any point
    await gate.answered("k", admitted_at=first)
    assert await gate.try_acquire("k", limit=2, window=60) == 0.0
    clock.advance(55)  # 65 s after the send, 55 s after the answer
    assert await gate.try_acquire("k", limit=2, window=60) == pytest.approx(5.0)
    clock.advance(5)
    assert await gate.try_acquire("k", limit=2, window=60) == 0.0


async def test_without_the_answer_a_call_counts_from_its_send(gate: StorageRateGate, clock: FakeClock) -> None:
    await gate.acquire("k", limit=1, window=60)
    clock.advance(60)
    assert await gate.try_acquire("k", limit=1, window=60) == 0.0


async def test_a_rate_limit_answer_fills_the_window_for_every_process(gate: StorageRateGate,
                                                                      clock: FakeClock) -> None:
    await gate.acquire("k", limit=6, window=63)
    clock.advance(30)
    await gate.refused("k", limit=6, window=63)
    assert await gate.try_acquire("k", limit=6, window=63) == pytest.approx(63.0), "a whole window from now"
    assert clock.now() == T0 + timedelta(seconds=30)
    await gate.refused("k", limit=6, window=63)
    assert await gate.used("k", window=63) == 7, "filling a window already full from now adds nothing"
    clock.advance(63)
    assert await gate.try_acquire("k", limit=6, window=63) == 0.0
