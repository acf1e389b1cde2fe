"""The lease heartbeat of a running job (core/engine/runner.py ``Heartbeat``): a timer that
renews the lease on the wall clock's cadence, stops at once, and stops by itself when the
lease is lost."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.engine import Timing
from crosspost.core.engine.runner import Heartbeat
from crosspost.core.engine.runtime import Runtime
from crosspost.storage.base import Lease
from tests.engine.conftest import T0

LEASE = Lease(job_id="j1", owner="w1", token=1)


class Leases:
    """``extend_lease`` only: records each renewal; ``keep`` says whether the lease is still held."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.renewed: list[datetime] = []

    async def extend_lease(self, lease: Lease, *, until: datetime) -> bool:
        assert lease == LEASE
        self.renewed.append(until)
        return self.keep


def runtime(leases: Leases, clock: FakeClock, *, every: float) -> Runtime:
    return cast(Runtime, SimpleNamespace(storage=leases, clock=clock, timing=Timing(lease=60.0, heartbeat=every)))


async def wait_for(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.002)


async def test_it_renews_the_lease_on_the_injected_clock_until_stopped() -> None:
    leases, clock = Leases(), FakeClock(T0)
    beat = Heartbeat(runtime(leases, clock, every=0.001), LEASE)
    await wait_for(lambda: len(leases.renewed) >= 3)
    await beat.stop()
    beats = len(leases.renewed)
    await asyncio.sleep(0.02)

    assert beats >= 3
    assert len(leases.renewed) == beats, "no renewal after stop"
    assert set(leases.renewed) == {T0 + timedelta(seconds=60)}, "the lease end is the fake clock's now + lease"


async def test_a_job_that_ends_before_its_first_beat_never_renews() -> None:
    leases = Leases()
    beat = Heartbeat(runtime(leases, FakeClock(T0), every=0.01), LEASE)
    await beat.stop()
    await asyncio.sleep(0.03)

    assert leases.renewed == []


async def test_a_lost_lease_stops_the_beats_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    leases = Leases(keep=False)
    caplog.set_level(logging.WARNING, logger="crosspost.engine")
    beat = Heartbeat(runtime(leases, FakeClock(T0), every=0.001), LEASE)
    await wait_for(lambda: leases.renewed)
    await asyncio.sleep(0.02)
    await beat.stop()

    assert len(leases.renewed) == 1
    assert "lost the lease on job j1" in caplog.text
