"""Metrics honour the per-token window and are taken by ordinary workers."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.metrics import MetricRef
from crosspost.core.models import Target
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok import analytics_client
from crosspost.plugins.tiktok.client import EndpointLimit
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import MemoryAccountAccess, MemoryRateGate
from tests.analytics.conftest import ANALYTICS_SCOPES, HubFactory, add_account, video_post


class RecordingGate(MemoryRateGate):
    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.limits: list[tuple[str, int, float]] = []

    async def acquire(self, key: str, *, limit: int, window: float) -> None:
        self.limits.append((key, limit, window))
        await super().acquire(key, limit=limit, window=window)


@attrs.define
class Ctx:
    settings: Settings
    http: aiohttp.ClientSession
    clock: FakeClock
    rate: RecordingGate
    log: logging.Logger
    account: MemoryAccountAccess


async def test_45_ids_take_three_queries_each_through_the_600_a_minute_gate(
        emulator: EmulatorServer, creator: Creator, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    account = Account(platform="tiktok", name="main", scopes=ANALYTICS_SCOPES,
                      secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
                      access_expires_at=clock.now() + timedelta(days=1))
    refs = [MetricRef(job_id=f"j{i}", post_id="p", target=Target.parse("tiktok:main"),
                      platform_post_id=str(7600000000000000000 + i), published_at=clock.now()) for i in range(45)]
    settings = Settings(db=":memory:", data_dir=tmp_path, env={"CROSSPOST_TIKTOK_API_BASE": emulator.base_url})
    async with aiohttp.ClientSession() as http:
        gate = RecordingGate(clock)
        ctx: Any = Ctx(settings=settings, http=http, clock=clock, rate=gate, log=logging.getLogger("t"),
                       account=MemoryAccountAccess(account))
        assert await TikTokPlatform().fetch_metrics(refs, ctx) == []  # none of these ids are the creator's
        assert [(limit, window) for key, limit, window in gate.limits] == [(600, 60.0)] * 3
        assert all(key.endswith(":video_query") for key, _, _ in gate.limits)

        # A tighter window is waited out on the clock, not exceeded.
        monkeypatch.setattr(analytics_client, "VIDEO_QUERY_LIMIT", EndpointLimit(name="video_query_tight", limit=2))
        clock.slept.clear()
        await TikTokPlatform().fetch_metrics(refs, ctx)
        assert sum(clock.slept) >= 59.0


async def test_a_worker_takes_due_readings_between_jobs(
        open_hub: HubFactory, creator: Creator, clock: FakeClock) -> None:
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        record = await hub.publish(video_post())
        clock.advance(3600 + 60)
        await hub.run_worker(until_idle=True)
        [target] = await hub.post_metrics(record.id)
    assert len(target.snapshots) == 1
    assert target.snapshots[0].metrics["views"] > 0
