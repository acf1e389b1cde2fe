"""The cross-post kill test (issue 14, "Must show"): 20 SIGKILLs of a worker publishing 30 posts over
3 Mastodon accounts (on two instances) and 2 TikTok accounts leave every target published exactly once.

The TikTok emulator and two Mastodon emulators run in this process; posts are submitted through
the Hub; a worker subprocess (``kill_worker_crosspost.py``) is killed with SIGKILL at seeded random
points :data:`KILLS` times, restarted each time, then run until idle. The emulators' own records
decide: each TikTok target has exactly one PUBLISH_COMPLETE, each Mastodon target exactly one
status per thread part, in order, as a reply chain; no target is left unfinished.

Posts 0-19 go to TikTok *and* Mastodon (a small video); posts 20-29 to Mastodon only (photos, or a
long text posted as a thread). TikTok's daily cap (15 direct posts per creator) is kept as shipped:
10 posts per TikTok account.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import attrs
import pytest

from crosspost.core.accounts import Account
from crosspost.core.convert import post_from_dict
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.mastodon.emulator import EmulatorServer as MastodonServer
from crosspost.plugins.mastodon.emulator import EmulatorState as MastodonState
from crosspost.plugins.mastodon.emulator import InstanceConfig
from crosspost.plugins.tiktok.emulator import EmulatorServer as TikTokServer
from crosspost.plugins.tiktok.emulator import EmulatorState as TikTokState
from crosspost.testing.media import make_image, make_video
from tests.reliability.kill_worker_crosspost import hooks

WORKER = Path(__file__).with_name("kill_worker_crosspost.py")
SEED = 20261202
KILLS = 20
POSTS = 30
BOTH = range(20)
"""Posts going to TikTok and Mastodon; the rest go to Mastodon only."""
TIKTOK_ACCOUNTS = 2
MASTODON_ACCOUNTS = 3
THREAD_POSTS = frozenset({22, 25, 28})
FIRST_KILL_S, LAST_KILL_S = 0.05, 0.9
"""A kill lands this many seconds after the worker says it is ready (its hub is open)."""
READY_TIMEOUT_S = 60.0
FINAL_RUN_S = 90.0
TIKTOK_OPTIONS = {"privacy_level": "SELF_ONLY", "allow_comment": True, "allow_duet": False, "allow_stitch": False}


@attrs.frozen(kw_only=True)
class Planned:
    index: int
    marker: str
    files: tuple[Path, ...]

    @property
    def tiktok(self) -> str | None:
        return f"tiktok:t{self.index % TIKTOK_ACCOUNTS}" if self.index in BOTH else None

    @property
    def mastodon(self) -> str:
        return f"mastodon:m{self.index % MASTODON_ACCOUNTS}"

    def content(self) -> str:
        if self.index in THREAD_POSTS:
            return " ".join(f"{self.marker}-w{n:03d}" for n in range(150))  # ~1,650 characters: 2+ parts anywhere
        return f"Kill test {self.marker} #crosspost"


def post_for(planned: Planned) -> Post:
    kind = "video" if planned.index in BOTH else "image"
    targets = [t for t in (planned.tiktok, planned.mastodon) if t]
    return post_from_dict({
        "content": planned.content(), "targets": targets, "idempotency_key": planned.marker,
        "media": [{"type": kind, "path": str(p), "alt": f"alt {planned.marker}"} for p in planned.files],
        "target_options": {"tiktok": TIKTOK_OPTIONS, "mastodon": {"thread": planned.index in THREAD_POSTS,
                                                                  "visibility": "unlisted"}},
    })


def plan_posts(folder: Path) -> list[Planned]:
    base = make_video(folder / "base.mp4")
    size = base.stat().st_size
    photo = make_image(folder / "photo.jpg", width=640, height=480)
    planned = []
    for index in range(POSTS):
        if index in BOTH:
            files: tuple[Path, ...] = (make_video(folder / f"v{index}.mp4", pad_to=size + 16 + index),)
        elif index in THREAD_POSTS:
            files = ()
        else:
            files = (photo, photo)
        planned.append(Planned(index=index, marker=f"x{index:03d}", files=files))
    return planned


@pytest.fixture
async def tiktok() -> AsyncIterator[TikTokServer]:
    state = TikTokState(rate_limits=False, processing_polls=2, rng_seed=SEED)
    async with TikTokServer(state) as server:
        yield server
    await state.drain()


@pytest.fixture
async def instances() -> AsyncIterator[list[MastodonServer]]:
    """Two instances: m0 and m2 on the first (limit 500), m1 on the second (limit 1,000)."""
    async with contextlib.AsyncExitStack() as stack:
        servers = []
        for limit in (500, 1000):
            state = MastodonState(config=InstanceConfig(max_characters=limit, processing_seconds=0.3))
            servers.append(await stack.enter_async_context(MastodonServer(state)))
        yield servers


def environment(tmp_path: Path, tiktok: TikTokServer) -> dict[str, str]:
    return {"CROSSPOST_DB": str(tmp_path / "crosspost.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
            "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": tiktok.base_url,
            "CROSSPOST_TIKTOK_CLIENT_KEY": tiktok.state.client_key,
            "CROSSPOST_TIKTOK_CLIENT_SECRET": tiktok.state.client_secret, "CROSSPOST_CONCURRENCY": "3",
            "CROSSPOST_MASTODON_MEDIA_POLL_INTERVAL": "0.2"}


def instance_of(name: str, instances: Sequence[MastodonServer]) -> MastodonServer:
    return instances[int(name[-1]) % 2]


async def submit_all(env: dict[str, str], tiktok: TikTokServer, instances: Sequence[MastodonServer],
                     plan: Sequence[Planned]) -> dict[str, Planned]:
    async with Hub.open(Settings.from_env(env), hooks=hooks()) as hub:
        for n in range(TIKTOK_ACCOUNTS):
            creator = tiktok.state.add_creator(username=f"kill.creator{n}", nickname=f"Kill {n}")
            await hub.accounts.add(Account(
                platform="tiktok", name=f"t{n}", scopes=creator.scopes,
                secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
                profile={"username": creator.username, "open_id": creator.open_id}))
        for n in range(MASTODON_ACCOUNTS):
            server = instance_of(f"m{n}", instances)
            account = server.state.add_account(username=f"kill{n}")
            await hub.connect_account("mastodon", f"m{n}", {"instance": server.base_url,
                                                            "access_token": account.token})
        return {(await hub.submit(post_for(p))).id: p for p in plan}


async def start_worker(env: dict[str, str], logs: list[Path], folder: Path) -> asyncio.subprocess.Process:
    log = folder / f"worker{len(logs):02d}.log"
    logs.append(log)
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(sys.executable, str(WORKER), env={**os.environ, **env},
                                                    stdout=asyncio.subprocess.PIPE, stderr=out)


async def kill_and_restart(env: dict[str, str], folder: Path, rng: random.Random, logs: list[Path]) -> int:
    kills = 0
    while kills < KILLS:
        worker = await start_worker(env, logs, folder)
        assert worker.stdout is not None
        ready = await asyncio.wait_for(worker.stdout.readline(), timeout=READY_TIMEOUT_S)
        assert ready == b"ready\n", logs[-1].read_text()[-2000:]
        waiter = asyncio.ensure_future(worker.communicate())
        done, _ = await asyncio.wait({waiter}, timeout=rng.uniform(FIRST_KILL_S, LAST_KILL_S))
        if done:
            assert worker.returncode == 0, logs[-1].read_text()[-2000:]
            break
        worker.kill()
        await waiter
        kills += 1
    return kills


def check_mastodon(planned: Planned, server: MastodonServer) -> None:
    statuses = sorted((s for s in server.state.statuses.values() if planned.marker in s.text),
                      key=lambda s: int(s.id))
    assert statuses, f"{planned.marker}: no status at the instance"
    texts = [s.text for s in statuses]
    assert len(texts) == len(set(texts)), f"{planned.marker}: a part was posted twice"
    assert " ".join(texts).split() == planned.content().split(), f"{planned.marker}: parts missing or out of order"
    assert statuses[0].in_reply_to_id is None
    assert [s.in_reply_to_id for s in statuses[1:]] == [s.id for s in statuses[:-1]]
    if planned.index in THREAD_POSTS:
        assert len(statuses) >= 2
    else:
        assert len(statuses) == 1
        assert len(statuses[0].media_ids) == len(planned.files)


@pytest.mark.slow
async def test_sigkilled_workers_publish_every_cross_post_target_exactly_once(
        tmp_path: Path, tiktok: TikTokServer, instances: list[MastodonServer]) -> None:
    media = tmp_path / "media"
    media.mkdir()
    plan = plan_posts(media)
    env = environment(tmp_path, tiktok)
    posts = await submit_all(env, tiktok, instances, plan)
    assert len(posts) == POSTS

    logs: list[Path] = []
    kills = await kill_and_restart(env, tmp_path, random.Random(SEED), logs)
    worker = await start_worker(env, logs, tmp_path)
    await asyncio.wait_for(worker.communicate(), timeout=FINAL_RUN_S)
    assert worker.returncode == 0, logs[-1].read_text()[-2000:]
    await tiktok.state.drain()

    takeovers = 0
    async with Hub.open(Settings.from_env(env), hooks=hooks()) as hub:
        for post_id, planned in posts.items():
            record = await hub.get(post_id)
            takeovers += sum(1 for e in await hub.events(post_id) if e.kind == "started") - len(record.targets)
            statuses = {str(t.target): t.status for t in record.targets}
            assert set(statuses.values()) == {JobStatus.PUBLISHED}, f"{planned.marker}: {statuses}"
            if planned.tiktok:
                seen = [r for r in tiktok.state.published if planned.marker in str(r.request_body)]
                complete = [r for r in seen if r.status == "PUBLISH_COMPLETE"]
                assert len(complete) == 1, f"{planned.marker}: {len(complete)} TikTok publishes"
            check_mastodon(planned, instance_of(planned.mastodon, instances))
    logs_text = "".join(log.read_text(errors="replace") for log in logs)
    assert "database is locked" not in logs_text
    posted = sum(len(s.state.statuses) for s in instances)
    print(f"kills={kills} starts={len(logs)} takeovers={takeovers} tiktok_inits={len(tiktok.state.published)} "
          f"mastodon_statuses={posted} "
          f"mastodon_media={sum(len(s.state.media) for s in instances)}")
    assert kills >= KILLS * 3 // 4, "the workers finished before enough kills landed"
    assert takeovers > 0, "no kill landed while a job ran"
