"""Analytics fixtures: a hub publishing to the TikTok emulator on one FakeClock.

The emulator, the rate gate, the engine and the metrics schedule all read the same
:class:`FakeClock`, so a test walks a post through a simulated week by advancing it.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.engine import Timing
from crosspost.core.hookspecs import hookimpl
from crosspost.core.hub import Hub
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.core.platform import Platform
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
KEY = os.urandom(32)
TIMING = Timing(lease=60.0, heartbeat=3600.0, poll=1.0, idle_horizon=60.0, shutdown_grace=0.0)
SAMPLE = Path(__file__).resolve().parents[2] / "plugins" / "tiktok" / "assets" / "sample.mp4"
ANALYTICS_SCOPES = ("user.info.basic", "user.info.stats", "video.publish", "video.upload", "video.list")
PUBLIC = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": False, "allow_stitch": False}


def registering(*platforms: Platform) -> object:
    class _Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[Platform], None]) -> None:
            for platform in platforms:
                register(platform)

    return _Plugin()


def video_post(caption: str = "A week of numbers", **options: Any) -> Post:
    return Post(content=caption, targets=(Target(platform="tiktok", account="main"),),
                media=(Media(type=MediaKind.VIDEO, path=str(SAMPLE)),),
                target_options={"tiktok": {**PUBLIC, **options}})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def emulator_state(clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=clock.timestamp, processing_polls=0, rng_seed=11)


@pytest.fixture
async def emulator(emulator_state: EmulatorState) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(emulator_state) as running:
        yield running


HubFactory = Callable[..., contextlib.AbstractAsyncContextManager[Hub]]


@pytest.fixture
def open_hub(tmp_path: Path, clock: FakeClock, emulator: EmulatorServer) -> HubFactory:
    db = tmp_path / "analytics.db"

    def factory(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Hub]:
        env = {"CROSSPOST_TIKTOK_API_BASE": emulator.base_url, "CROSSPOST_TIKTOK_AUTH_BASE": emulator.base_url,
               "CROSSPOST_TIKTOK_CLIENT_KEY": emulator.state.client_key,
               "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator.state.client_secret}
        settings = Settings(db=str(db), data_dir=tmp_path, env=env, concurrency=2)
        platform = TikTokPlatform(poll=PollPolicy(first=1.0, factor=1.0, longest=1.0, per_run=30.0))
        hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[registering(platform)]))
        options: dict[str, Any] = {"hooks": hooks, "clock": clock, "secret_box": SecretBox(KEY), "timing": TIMING,
                                   "rng": random.Random(3)}
        options.update(overrides)
        return Hub.open(settings, **options)

    return factory


async def add_account(hub: Hub, creator: Creator, clock: FakeClock, scopes: tuple[str, ...]) -> None:
    await hub.accounts.add(Account(
        platform="tiktok", name="main", scopes=scopes,
        secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
        profile={"open_id": creator.open_id, "username": creator.username},
        access_expires_at=clock.now() + timedelta(days=365)), replace=True)


@pytest.fixture
def creator(emulator_state: EmulatorState) -> Creator:
    return emulator_state.add_creator(username="week.creator", nickname="Week Creator", scopes=ANALYTICS_SCOPES,
                                      access_token="act.analytics", refresh_token="rft.analytics")


async def publish_and_read_a_week(hub: Hub, creator: Creator, clock: FakeClock) -> str:
    """Publish one video, then take the 1 h, 24 h and 7 d readings; the post's id."""
    await add_account(hub, creator, clock, ANALYTICS_SCOPES)
    record = await hub.publish(video_post())
    await hub.collect_metrics()
    for hours in (1, 24, 7 * 24):
        clock.advance(hours * 3600 - (clock.now() - record.created_at).total_seconds() + 60)
        await hub.collect_metrics()
    return record.id


@attrs.frozen(kw_only=True)
class Scenario:
    """A week on one account: a published video read three times, a failed post, a scheduled one."""

    published: str
    failed: str
    scheduled: str
    scheduled_day: str


SCHEDULED_AT = "2026-03-12T15:30:00Z"


async def build_scenario(hub: Hub, creator: Creator, clock: FakeClock, emulator_state: EmulatorState) -> Scenario:
    published = await publish_and_read_a_week(hub, creator, clock)
    emulator_state.fail_next_publish("frame_rate_check_failed")
    failed = await hub.publish(video_post("This one fails"))
    scheduled = await hub.submit(attrs.evolve(video_post("Launch day teaser"), scheduled_at=SCHEDULED_AT))
    return Scenario(published=published, failed=failed.id, scheduled=scheduled.id, scheduled_day="2026-03-12")
