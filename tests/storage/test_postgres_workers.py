"""Many worker processes on one PostgreSQL database (issue 9's must-show).

Four worker processes publish 500 posts over 20 accounts through the engine and a fake platform
that keeps TikTok's exactly-once rules (:mod:`tests.storage.postgres_fleet`); two of them are
killed with SIGKILL mid-run. Every post is published exactly once, none is lost, the shared rate
gate admits at most 6 inits per account in any 60 s, and each account's token is refreshed once.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from crosspost.core.accounts import Account
from crosspost.core.models import JobStatus, Post, Target
from tests.storage.postgres_fleet import (
    FLEET_TABLES,
    INIT_LIMIT,
    INIT_WINDOW,
    KEY_ENV,
    VIRTUAL_ORIGIN,
    FleetPlatform,
    open_fleet_hub,
)
from tests.storage.postgres_schemas import fresh_schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 4
ACCOUNTS = 20
POSTS = 500
FLEET = Path(__file__).with_name("postgres_fleet.py")
DEADLINE = 120.0
"""Wall seconds after which a hung run fails (it normally takes well under a minute)."""


@pytest.fixture
async def fleet_url() -> AsyncIterator[str]:
    async with fresh_schema() as url:
        yield url


def start_worker(url: str, origin: float, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path.cwd()), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, str(FLEET), url, repr(origin)], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def published_count(conn: asyncpg.Connection[asyncpg.Record]) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'published'")
    return count


async def wait_for(condition: Callable[[], Awaitable[bool]], what: str, started: float) -> None:
    while not await condition():
        if time.monotonic() - started > DEADLINE:
            raise AssertionError(f"gave up waiting for {what} after {DEADLINE:.0f} s")
        await asyncio.sleep(0.05)


async def submit_everything(url: str, origin: float, data_dir: Path) -> list[str]:
    platform = FleetPlatform(url, "submitter")
    try:
        async with open_fleet_hub(url, origin, platform, data_dir) as hub:
            expired = VIRTUAL_ORIGIN - timedelta(hours=1)
            for n in range(ACCOUNTS):
                await hub.accounts.add(Account(platform="fleet", name=f"acc{n:02}",
                                               secrets={"access_token": "expired"}, access_expires_at=expired))
            ids = []
            for n in range(POSTS):
                target = Target(platform="fleet", account=f"acc{n % ACCOUNTS:02}")
                record = await hub.submit(Post(content=f"post {n}", targets=[target]))
                ids.append(record.id)
            return ids
    finally:
        await platform.close()


async def test_four_worker_processes_publish_500_posts_exactly_once_despite_two_sigkills(
        fleet_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, base64.urlsafe_b64encode(os.urandom(32)).decode())
    origin = time.time()
    # Migrated by the submitting hub; then the fake server's tables and the rate audit trigger.
    post_ids = await submit_everything(fleet_url, origin, tmp_path)
    conn = await asyncpg.connect(fleet_url)
    try:
        await conn.execute(FLEET_TABLES)
        started = time.monotonic()
        workers = [start_worker(fleet_url, origin, tmp_path) for _ in range(WORKERS)]
        try:
            await wait_for(lambda: _at_least(conn, POSTS // 5, workers), "the first 100 posts", started)
            for victim in workers[:2]:
                victim.send_signal(signal.SIGKILL)
            await wait_for(lambda: _all_exited(workers), "the surviving workers to finish", started)
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        for survivor in workers[2:]:
            assert survivor.returncode == 0, survivor.stderr.read().decode()[-3000:] if survivor.stderr else ""
        assert [w.returncode for w in workers[:2]] == [-signal.SIGKILL] * 2
        await check_outcome(conn, post_ids)
    finally:
        await conn.close()


async def _at_least(conn: asyncpg.Connection[asyncpg.Record], count: int,
                    workers: list[subprocess.Popen[bytes]]) -> bool:
    for proc in workers:
        if proc.poll() is not None:  # none may end before the kill: report why at once
            error = proc.stderr.read().decode()[-3000:] if proc.stderr else ""
            raise AssertionError(f"a worker exited early with code {proc.returncode}: {error}")
    return await published_count(conn) >= count


async def _all_exited(workers: list[subprocess.Popen[bytes]]) -> bool:
    return all(w.poll() is not None for w in workers)


async def check_outcome(conn: asyncpg.Connection[asyncpg.Record], post_ids: list[str]) -> None:
    jobs = await conn.fetch("SELECT id, post_id, status, publish_id FROM jobs")
    assert len(jobs) == POSTS
    assert {j["post_id"] for j in jobs} == set(post_ids), "no post lost"
    assert Counter(j["status"] for j in jobs) == {JobStatus.PUBLISHED.value: POSTS}, "none stuck, none failed"
    uploads = await conn.fetch("SELECT publish_id, job_id, account, published FROM fleet_uploads")
    published = Counter(u["job_id"] for u in uploads if u["published"])
    assert set(published.values()) == {1}, "every job published exactly once at the platform"
    assert len(published) == POSTS
    by_id = {u["publish_id"]: u["job_id"] for u in uploads if u["published"]}
    assert all(by_id.get(j["publish_id"]) == j["id"] for j in jobs), "each job records the upload that published"
    await check_rate_windows(conn, uploads)
    refreshes = Counter(r["account"] for r in await conn.fetch("SELECT account FROM fleet_refreshes"))
    assert refreshes == {f"acc{n:02}": 1 for n in range(ACCOUNTS)}, "one token refresh per account, fleet-wide"
    starts = await conn.fetch("SELECT job_id, data->>'owner' AS owner FROM events WHERE kind = 'started'")
    owners: dict[str, set[str]] = defaultdict(set)
    for start in starts:
        owners[start["job_id"]].add(start["owner"])
    assert any(len(o) > 1 for o in owners.values()), "some jobs of the killed workers were taken over"


async def check_rate_windows(conn: asyncpg.Connection[asyncpg.Record], uploads: list[asyncpg.Record]) -> None:
    admitted: dict[str, list[datetime]] = defaultdict(list)
    for row in await conn.fetch("SELECT key, at FROM rate_audit WHERE key LIKE 'fleet:init:%' ORDER BY at"):
        admitted[row["key"].rsplit(":", 1)[1]].append(row["at"])
    window = timedelta(seconds=INIT_WINDOW)
    for account, times in admitted.items():
        crowded = [(a, b) for a, b in zip(times, times[INIT_LIMIT:], strict=False) if b - a < window]
        assert not crowded, f"{account}: more than {INIT_LIMIT} inits within {INIT_WINDOW:.0f} s: {crowded[:3]}"
    inits = Counter(u["account"] for u in uploads)
    assert all(inits[a] <= len(admitted[a]) for a in inits), "every init was admitted by the shared gate"
    assert sum(inits.values()) >= POSTS
