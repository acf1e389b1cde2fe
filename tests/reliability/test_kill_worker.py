"""The kill test (issue 4, "Must show"): SIGKILL a worker at random points, again and again.

The TikTok emulator and a loopback media host run in this process. 50 posts over 5 accounts are
submitted through the Hub (42 small videos, 3 videos of 70 MB in 7 chunks, 5 two-photo carousels
TikTok pulls by URL); then a worker subprocess (``kill_worker.py``) is started and killed with
SIGKILL at seeded random points :data:`KILLS` times, restarted each time, and finally run until idle.

At the end the emulator's own record decides: every post published exactly once, with the
SHA-256 of exactly the bytes of its file(s), except photo posts whose kill landed in the
PULL_FROM_URL init window (the init may have reached TikTok, and re-sending it could publish
twice): those are ``uncertain`` with a reason, and TikTok published them at most once. No post is
lost and no job is left in a non-terminal state.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import os
import random
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

import attrs
import pytest

from crosspost.core.accounts import Account
from crosspost.core.convert import post_from_dict
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.demo import LoopbackMediaHost, fast_polling_tiktok
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState, PublishRecord
from crosspost.testing.media import make_image, make_video

WORKER = Path(__file__).with_name("kill_worker.py")
SEED = 20261122
KILLS = 20
ACCOUNTS = 5
POSTS = 50
BIG_POSTS = frozenset({3, 21, 38})
PHOTO_POSTS = frozenset({7, 17, 27, 37, 47})
BIG_SIZE = 70_000_000
CHUNK_SIZE = 10_000_000
FIRST_KILL_S, LAST_KILL_S = 0.65, 1.5
CONCURRENCY = 2
"""Few jobs at a time, so the work spans the kills instead of finishing before the second one."""
"""A kill lands this many seconds after the worker starts (its imports take about half a second)."""
FINAL_RUN_S = 60.0
OPTIONS = {"privacy_level": "SELF_ONLY", "allow_comment": True, "allow_duet": False, "allow_stitch": False}


@attrs.frozen(kw_only=True)
class Planned:
    """One submitted post: its marker (unique text in its caption), files and their joint SHA-256."""

    index: int
    marker: str
    files: tuple[Path, ...]
    sha256: str

    @property
    def photos(self) -> bool:
        return self.index in PHOTO_POSTS


@attrs.define
class Runs:
    kills: int = 0
    starts: int = 0
    logs: list[Path] = attrs.Factory(list)


def sha256_of(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(4 * 1024 * 1024):
                digest.update(block)
    return digest.hexdigest()


def make_media(folder: Path) -> Iterator[tuple[int, tuple[Path, ...]]]:
    """Every post's files: distinct small videos (padded by a few bytes each), sparse big ones, photos."""
    base = make_video(folder / "base.mp4")
    size = base.stat().st_size
    photos = tuple(make_image(folder / f"p{n}.jpg", width=540, height=960) for n in (1, 2))
    for index in range(POSTS):
        if index in PHOTO_POSTS:
            yield index, photos
        elif index in BIG_POSTS:
            yield index, (make_video(folder / f"big{index}.mp4",
                                     pad_to=BIG_SIZE + index),)
        else:
            yield index, (make_video(folder / f"v{index}.mp4",
                                     pad_to=size + 16 + index),)


def post_for(planned: Planned) -> Post:
    kind = "image" if planned.photos else "video"
    return post_from_dict({
        "content": f"Kill test {planned.marker} #crosspost", "targets": [f"tiktok:acct{planned.index % ACCOUNTS}"],
        "media": [{"type": kind, "path": str(path)} for path in planned.files],
        "target_options": {"tiktok": OPTIONS}, "idempotency_key": planned.marker,
    })


@pytest.fixture
async def host(tmp_path: Path) -> AsyncIterator[LoopbackMediaHost]:
    media_host = LoopbackMediaHost(tmp_path / "hosted")
    await media_host.start()
    yield media_host
    await media_host.close()


@pytest.fixture
async def emulator(host: LoopbackMediaHost) -> AsyncIterator[EmulatorServer]:
    # Rate limits off at the emulator because the worker lifts crosspost's own pacing (kill_worker.py).
    state = EmulatorState(rate_limits=False, processing_polls=2, rng_seed=SEED, verified_url_prefixes=[host.prefix])
    async with EmulatorServer(state) as server:
        yield server
    await state.drain()


def environment(tmp_path: Path, server: EmulatorServer, host: LoopbackMediaHost) -> dict[str, str]:
    return {
        "CROSSPOST_DB": str(tmp_path / "crosspost.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
        "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": server.base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": server.state.client_key,
        "CROSSPOST_TIKTOK_CLIENT_SECRET": server.state.client_secret,
        "CROSSPOST_TIKTOK_CHUNK_SIZE": str(CHUNK_SIZE), "CROSSPOST_CONCURRENCY": str(CONCURRENCY),
        "CROSSPOST_TIKTOK_VERIFIED_URL_PREFIXES": host.prefix,
        "KILL_TEST_HOST_DIR": str(host.folder), "KILL_TEST_HOST_PREFIX": host.prefix,
    }


def open_hub(env: dict[str, str], host: LoopbackMediaHost) -> contextlib.AbstractAsyncContextManager[Hub]:
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[fast_polling_tiktok(), host]))
    return Hub.open(Settings.from_env(env), hooks=hooks)


async def submit_all(env: dict[str, str], server: EmulatorServer, host: LoopbackMediaHost,
                     plan: Sequence[Planned]) -> dict[str, Planned]:
    async with open_hub(env, host) as hub:
        for n in range(ACCOUNTS):
            creator = server.state.add_creator(username=f"kill.creator{n}", nickname=f"Kill {n}")
            await hub.accounts.add(Account(
                platform="tiktok", name=f"acct{n}", scopes=creator.scopes,
                secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
                profile={"username": creator.username, "open_id": creator.open_id}))
        return {(await hub.submit(post_for(planned))).id: planned for planned in plan}


async def start_worker(env: dict[str, str], runs: Runs, folder: Path) -> asyncio.subprocess.Process:
    runs.starts += 1
    log = folder / f"worker{runs.starts:02d}.log"
    runs.logs.append(log)
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(sys.executable, str(WORKER), env={**os.environ, **env},
                                                    stdout=out, stderr=out)


async def kill_and_restart(env: dict[str, str], folder: Path, rng: random.Random) -> Runs:
    """Start a worker, SIGKILL it at a random point, KILLS times (fewer if one finishes first)."""
    runs = Runs()
    while runs.kills < KILLS:
        worker = await start_worker(env, runs, folder)
        waiter = asyncio.ensure_future(worker.wait())
        done, _ = await asyncio.wait({waiter}, timeout=rng.uniform(FIRST_KILL_S, LAST_KILL_S))
        if done:
            assert waiter.result() == 0, runs.logs[-1].read_text()[-2000:]
            break
        worker.kill()
        await waiter
        runs.kills += 1
    return runs


async def run_until_idle(env: dict[str, str], folder: Path, runs: Runs) -> None:
    worker = await start_worker(env, runs, folder)
    code = await asyncio.wait_for(worker.wait(), timeout=FINAL_RUN_S)
    assert code == 0, runs.logs[-1].read_text()[-2000:]


def records_for(planned: Planned, published: Sequence[PublishRecord]) -> list[PublishRecord]:
    return [r for r in published if planned.marker in json.dumps(r.request_body)]


@pytest.mark.slow
async def test_sigkilled_workers_publish_every_post_exactly_once_with_exact_bytes(
        tmp_path: Path, emulator: EmulatorServer, host: LoopbackMediaHost) -> None:
    media = tmp_path / "media"
    media.mkdir()
    plan = [Planned(index=i, marker=f"k{i:03d}", files=files, sha256=sha256_of(files))
            for i, files in make_media(media)]
    env = environment(tmp_path, emulator, host)
    posts = await submit_all(env, emulator, host, plan)
    assert len(posts) == POSTS

    runs = await kill_and_restart(env, tmp_path, random.Random(SEED))
    await run_until_idle(env, tmp_path, runs)
    await emulator.state.drain()

    outcomes: collections.Counter[str] = collections.Counter()
    takeovers = resumed = 0
    async with open_hub(env, host) as hub:
        for post_id, planned in posts.items():
            record = await hub.get(post_id)
            (target,) = record.targets
            assert target.status.terminal, f"{planned.marker} stuck in {target.status}"
            outcomes[f"{'photos' if planned.photos else 'video'}:{target.status.value}"] += 1
            started = [e for e in await hub.events(post_id) if e.kind == "started"]
            takeovers += len(started) - 1
            resumed += sum(1 for e in started if e.data.get("resumed"))
            seen = records_for(planned, emulator.state.published)
            complete = [r for r in seen if r.status == "PUBLISH_COMPLETE"]
            if target.status is JobStatus.PUBLISHED:
                assert len(complete) == 1, f"{planned.marker}: {len(complete)} publishes"
                assert complete[0].publish_id == target.publish_id
                assert complete[0].sha256 == planned.sha256, f"{planned.marker}: bytes differ"
                assert all(not r.media_complete for r in seen if r is not complete[0])
            else:
                assert planned.photos, f"{planned.marker} (video) ended {target.status}: {target.error}"
                assert target.status in (JobStatus.UNCERTAIN, JobStatus.FAILED)
                assert target.error is not None
                assert target.error.message
                assert len(complete) <= 1
                assert all(r.sha256 == planned.sha256 for r in complete)
    logs = "".join(log.read_text(errors="replace") for log in runs.logs)
    assert "database is locked" not in logs
    puts = sum(1 for r in emulator.state.requests if r.route == "upload_put")
    print(f"kills={runs.kills} starts={runs.starts} takeovers={takeovers} resumed_from_checkpoint={resumed} "
          f"outcomes={dict(outcomes)} inits={len(emulator.state.published)} chunk_puts={puts}")
    assert runs.kills >= KILLS * 3 // 4, "the workers finished before enough kills landed"
    assert sum(outcomes.values()) == POSTS
