"""Engine fixtures: a hub on a temporary SQLite file, a fake clock and a scriptable platform."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.engine import RetryPolicy, Timing
from crosspost.core.hub import Hub
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings
from tests.engine.engine_fakes import FakePlatform, OpenPlatform, Recorder, registering

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = os.urandom(32)
TEST_TIMING = Timing(lease=60.0, heartbeat=3600.0, poll=1.0, idle_horizon=60.0, shutdown_grace=0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def plugins(platform: FakePlatform, recorder: Recorder) -> list[object]:
    return [registering(platform, OpenPlatform()), recorder]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "engine.db"


HubFactory = Callable[..., contextlib.AbstractAsyncContextManager[Hub]]


@pytest.fixture
def open_hub(db_path: Path, clock: FakeClock, plugins: list[object]) -> HubFactory:
    """Open a hub on the test database (call again to simulate another process or a restart)."""

    def factory(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Hub]:
        settings = Settings(db=str(db_path), data_dir=db_path.parent, concurrency=overrides.pop("concurrency", 4))
        hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=overrides.pop("plugins", plugins)))
        options: dict[str, Any] = {"hooks": hooks, "clock": clock, "secret_box": SecretBox(KEY),
                                   "timing": TEST_TIMING, "rng": random.Random(7),
                                   "retry": RetryPolicy(base=4.0, cap=60.0, max_attempts=4, max_elapsed=3600.0)}
        options.update(overrides)
        return Hub.open(settings, **options)

    return factory


@pytest.fixture
async def hub(open_hub: HubFactory) -> AsyncIterator[Hub]:
    async with open_hub() as opened:
        await opened.accounts.add(Account(platform="fake", name="main", secrets={"access_token": "act.SECRET"}))
        yield opened
