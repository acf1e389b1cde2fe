"""A Hub with the real TikTok platform, on SQLite or PostgreSQL, against the in-process emulator.

Time is one :class:`FakeClock` shared by the emulator, the hub and the platform, so lease expiry,
upload-URL expiry, rate windows and TikTok's 24 h processing window cost no wall time.

A crash is :class:`ProcessDied`, a ``BaseException``: nothing in the engine catches it, so the job
is left exactly as a SIGKILL would leave it (leased, its last saved checkpoint stored, nothing
recorded after). The test then opens a fresh hub on the same database (a restarted worker),
lets the dead lease run out and runs the worker until idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.engine import RetryPolicy, Timing
from crosspost.core.hookspecs import hookimpl
from crosspost.core.hub import Hub
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.core.platform import RegisterPlatform
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.client import RetryPolicy as ClientRetry
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
KEY = os.urandom(32)
TIMING = Timing(lease=60.0, heartbeat=3600.0, poll=30.0, idle_horizon=7200.0, shutdown_grace=0.0)
"""Fake-clock seconds (one FakeClock for all): an idle worker looks again every 30 s, and keeps
going while a job is due within 2 h (a post TikTok is still processing is looked at hourly)."""
ENGINE_RETRY = RetryPolicy(base=4.0, cap=60.0, max_attempts=4, max_elapsed=3600.0)
"""A tight budget (4 attempts, 1 h): a wait that spent attempts would run out of it at once."""
POLL = PollPolicy(first=5.0, factor=1.0, longest=30.0, per_run=120.0)
"""Two minutes of polling per run, then the job is handed back (StillProcessing)."""
OPTIONS = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True,
           "allow_stitch": True}


class ProcessDied(BaseException):
    """The worker process died at this moment (SIGKILL): nothing after it runs or is recorded.

    The worker logs the dead job task and goes on; :func:`run_until_death` stops that worker as
    soon as a death is raised, so the job is left leased, as a killed process leaves it."""

    watchers: ClassVar[list[asyncio.Event]] = []

    def __init__(self, *args: object) -> None:
        for event in ProcessDied.watchers:
            event.set()
        super().__init__(*args)


async def run_until_death(hub: Hub) -> None:
    """Run ``hub``'s worker until something raises :class:`ProcessDied`, then stop it at once."""
    stop = asyncio.Event()
    ProcessDied.watchers.append(stop)
    try:
        await asyncio.wait_for(hub.run_worker(stop=stop), timeout=60)
    finally:
        ProcessDied.watchers.remove(stop)
    assert stop.is_set(), "the worker never reached the crash point"


class TikTokForTests:
    """Registers the real TikTok platform with test polling and a seeded RNG."""

    def __init__(self, poll: PollPolicy = POLL) -> None:
        self.poll = poll

    @hookimpl
    def register_platforms(self, register: RegisterPlatform) -> None:
        register(TikTokPlatform(retry=ClientRetry(attempts=4, total_time=120.0), poll=self.poll,
                                rng=random.Random(5)))


def video_post(path: Path, content: str = "crash #test") -> Post:
    return Post(content=content, targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(path))], target_options={"tiktok": dict(OPTIONS)})


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def account_for(creator: Creator, clock: FakeClock) -> Account:
    return Account(platform="tiktok", name="main",
                   secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
                   profile={"open_id": creator.open_id, "username": creator.username},
                   access_expires_at=clock.now() + timedelta(days=30))


class TikTokHubs:
    """Opens hubs (one per simulated process lifetime) on one database."""

    def __init__(self, *, db: str, data_dir: Path, clock: FakeClock, env: dict[str, str],
                 poll: PollPolicy = POLL) -> None:
        self.db = db
        self.data_dir = data_dir
        self.clock = clock
        self.env = env
        self.poll = poll

    @contextlib.asynccontextmanager
    async def open(self, **overrides: Any) -> AsyncIterator[Hub]:
        settings = Settings(db=self.db, data_dir=self.data_dir, concurrency=2, env=dict(self.env))
        hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[TikTokForTests(self.poll)]))
        options: dict[str, Any] = {"hooks": hooks, "clock": self.clock, "secret_box": SecretBox(KEY),
                                   "timing": TIMING, "rng": random.Random(7), "retry": ENGINE_RETRY}
        options.update(overrides)
        async with Hub.open(settings, **options) as hub:
            yield hub


def completed(state: EmulatorState) -> list[Any]:
    return [p for p in state.published if p.status == "PUBLISH_COMPLETE"]


def emulator_env(base_url: str) -> dict[str, str]:
    return {
        "CROSSPOST_TIKTOK_API_BASE": base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": "emu-client-key",
        "CROSSPOST_TIKTOK_CLIENT_SECRET": "emu-client-secret",
        "CROSSPOST_ALLOW_HOSTS": "127.0.0.1",
        "CROSSPOST_TIKTOK_CHUNK_SIZE": str(5 * 1024 * 1024),
    }
