"""TikTok's per-token rate limits hold across worker processes (issue 19 item 2).

The emulator counts each request on *arrival*, by its own (wall) clock, with TikTok's limits
(6 inits, 20 creator-info, 30 status calls per window per access token). 20 posts to one account
are submitted, then 3 or 5 ``rate_worker.py`` processes share one database (a SQLite file, or a
PostgreSQL schema) and run until idle. The window is shrunk from 60 s to :data:`WINDOW` seconds in
the emulator and in the workers alike (margin kept in proportion), so the test takes seconds.

Must hold: TikTok never answered ``rate_limit_exceeded``; every post published exactly once; and,
read from the emulator's own record, no 7 inits ever arrived within one window.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from crosspost.core.models import JobStatus
from crosspost.core.secrets import generate_key
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.testing.media import make_video
from tests.reliability.tiktok_hub import video_post

WORKER = Path(__file__).with_name("rate_worker.py")
WINDOW = 1.5
"""Seconds standing in for TikTok's one-minute window."""
POSTS = 20
INIT_ROUTES = ("video_init", "inbox_init", "content_init")


async def publish_with_workers(db: str, tmp_path: Path, workers: int) -> tuple[EmulatorState, list[JobStatus]]:
    state = EmulatorState(processing_polls=1, rng_seed=19, daily_post_cap=10_000, rate_window_s=WINDOW)
    creator = state.add_creator(username="busy.creator")
    clip = tmp_path / "clip.mp4"
    make_video(clip, container="mp4")
    async with EmulatorServer(state) as server:
        env = {
            "CROSSPOST_DB": db, "CROSSPOST_DATA_DIR": str(tmp_path), "CROSSPOST_SECRET_KEY": generate_key(),
            "CROSSPOST_TIKTOK_API_BASE": server.base_url, "CROSSPOST_TIKTOK_CLIENT_KEY": "emu-client-key",
            "CROSSPOST_TIKTOK_CLIENT_SECRET": "emu-client-secret", "CROSSPOST_ALLOW_HOSTS": "127.0.0.1",
            "RATE_TEST_WINDOW": str(WINDOW), "CROSSPOST_CONCURRENCY": "4",
        }
        ids = await submit(env, creator, clip)
        procs = [await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE) for _ in range(workers)]
        results = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), timeout=120)
        for proc, (_, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err.decode()[-2000:]
        statuses = await final_statuses(env, ids)
    return state, statuses


async def submit(env: dict[str, str], creator: object, clip: Path) -> list[str]:
    from crosspost.core.clock import SystemClock
    from crosspost.core.hub import Hub
    from crosspost.core.settings import Settings
    from tests.reliability.tiktok_hub import account_for

    async with Hub.open(Settings.from_env(env)) as hub:
        await hub.accounts.add(account_for(creator, SystemClock()))  # type: ignore[arg-type]
        return [(await hub.submit(video_post(clip, content=f"busy {i} #test"))).id for i in range(POSTS)]


async def final_statuses(env: dict[str, str], ids: list[str]) -> list[JobStatus]:
    from crosspost.core.hub import Hub
    from crosspost.core.settings import Settings

    async with Hub.open(Settings.from_env(env)) as hub:
        return [(await hub.get(post_id)).status for post_id in ids]


def crowded_windows(arrivals: list[float], limit: int) -> list[tuple[float, float]]:
    """Pairs of arrivals ``limit`` apart that lie within one window (each is one request too many)."""
    ordered = sorted(arrivals)
    return [(a, b) for a, b in zip(ordered, ordered[limit:], strict=False) if b - a < WINDOW]


@pytest.mark.parametrize("workers", [3, 5])
async def test_worker_processes_sharing_one_account_never_exceed_tiktoks_limits(
    db_url: str, workers: int, tmp_path: Path,
) -> None:
    state, statuses = await publish_with_workers(db_url, tmp_path, workers)

    refused = [(r.route, r.status) for r in state.requests if r.status == 429]
    assert refused == [], f"TikTok answered rate_limit_exceeded: {refused}"
    assert statuses == [JobStatus.PUBLISHED] * POSTS
    done = [p for p in state.published if p.status == "PUBLISH_COMPLETE"]
    assert len(done) == POSTS
    assert len({p.request_body["post_info"]["title"] for p in done}) == POSTS, "a post was published twice"
    inits = [r.time for r in state.requests if r.route in INIT_ROUTES]
    assert len(inits) == POSTS
    assert crowded_windows(inits, 6) == []
