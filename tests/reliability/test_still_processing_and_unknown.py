"""Still processing is a wait, not a failure; an outcome that cannot be known is ``unknown``, and
the user reconciles it (issue 12 item 8, issue 19 item 1), on SQLite and PostgreSQL.

The engine's budget here is tight (4 attempts, 1 h): before the fix, a TikTok post still
processing after a few runs ended ``failed`` although TikTok went on to publish it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.cli.app import cli
from crosspost.core.clock import FakeClock
from crosspost.core.engine.jobs import PostStateError
from crosspost.core.engine.reconcile import reconcile
from crosspost.core.models import JobStatus
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer, EmulatorState
from crosspost.storage import open_storage
from tests.reliability.tiktok_hub import KEY, T0, TikTokHubs, account_for, emulator_env, video_post

HOURLY = PollPolicy(first=3600.0, factor=1.0, longest=3600.0, per_run=7200.0)
"""A poll an hour, two per run: TikTok's 24 h window in 12 runs (three times the attempt budget)."""


async def submit_and_run(hubs: TikTokHubs, creator: Creator, clock: FakeClock, path: Path) -> str:
    async with hubs.open() as hub:
        await hub.accounts.add(account_for(creator, clock))
        record = await hub.submit(video_post(path))
        await hub.run_worker(until_idle=True)
        return record.id


async def the_job(hubs: TikTokHubs, post_id: str) -> object:
    async with hubs.open() as hub:
        row = await hub.storage.get_post(post_id)
        assert row is not None
        return row.jobs[0]


async def test_three_hours_of_processing_spend_no_attempts_and_the_post_publishes(
    hubs: TikTokHubs, state: EmulatorState, creator: Creator, clock: FakeClock,
    video: Callable[[int | None], Path],
) -> None:
    hubs.poll = PollPolicy(first=600.0, factor=1.0, longest=600.0, per_run=1200.0)
    state.processing_polls = 3 * 3600 // 600  # TikTok moderates for about three hours

    post_id = await submit_and_run(hubs, creator, clock, video(None))

    async with hubs.open() as hub:
        record = await hub.get(post_id)
        assert record.status is JobStatus.PUBLISHED, record.targets[0].error
        row = await hub.storage.get_post(post_id)
        assert row is not None
        assert row.jobs[0].attempts == 0, "waiting on TikTok is not a failed attempt"
        kinds = [e.kind for e in await hub.events(post_id)]
    assert kinds.count("still_processing") > 4, "more hand-backs than the 4-attempt budget allows"
    assert clock.now() - T0 >= timedelta(hours=3)
    assert len([p for p in state.published if p.status == "PUBLISH_COMPLETE"]) == 1


async def test_an_unreachable_status_endpoint_while_processing_waits_instead_of_failing(
    hubs: TikTokHubs, state: EmulatorState, creator: Creator, clock: FakeClock,
    video: Callable[[int | None], Path],
) -> None:
    state.processing_polls = 2
    state.faults.add(route="status", kind="status", status=503, times=40)  # ten runs' worth of retries

    post_id = await submit_and_run(hubs, creator, clock, video(None))

    async with hubs.open() as hub:
        record = await hub.get(post_id)
        assert record.status is JobStatus.PUBLISHED, record.targets[0].error
        row = await hub.storage.get_post(post_id)
        assert row is not None
        assert row.jobs[0].attempts == 0
    assert all(rule.exhausted() for rule in state.faults.rules)


async def test_still_processing_past_tiktoks_24_hours_is_unknown_and_the_user_reconciles_it(
    hubs: TikTokHubs, state: EmulatorState, creator: Creator, clock: FakeClock,
    video: Callable[[int | None], Path],
) -> None:
    hubs.poll = HOURLY
    state.processing_polls = 10**9

    post_id = await submit_and_run(hubs, creator, clock, video(None))

    async with hubs.open() as hub:
        record = await hub.get(post_id)
        assert record.status is JobStatus.UNKNOWN
        error = record.targets[0].error
        assert error is not None
        assert "still processing" in error.message
        assert "crosspost reconcile ID --published URL" in error.message
        assert (await hub.list_posts(status=JobStatus.UNKNOWN))[0].id == post_id

        url = "https://www.tiktok.com/@crash.creator/video/7300000000000000001"
        await reconcile(hub.storage, hub.clock, post_id, published_url=url)
        settled = await hub.get(post_id)
        assert settled.status is JobStatus.PUBLISHED
        assert settled.targets[0].post_url == url
        assert "reconciled" in [e.kind for e in await hub.events(post_id)]
        with pytest.raises(PostStateError, match="no target whose outcome is unknown"):
            await reconcile(hub.storage, hub.clock, post_id, failed=True)
    assert clock.now() - T0 >= timedelta(hours=24)
    assert [r.route for r in state.requests].count("video_init") == 1


async def test_rows_stored_as_uncertain_read_and_filter_as_unknown_after_the_migration(
    hubs: TikTokHubs, db_url: str, backend: str, video: Callable[[int | None], Path], creator: Creator,
    clock: FakeClock,
) -> None:
    async with hubs.open() as hub:
        await hub.accounts.add(account_for(creator, clock))
        record = await hub.submit(video_post(video(None)))
    await as_an_older_version_left_it(db_url, backend)

    storage = await open_storage(db_url, migrate=False)
    try:
        assert await storage.pending_migrations() == [migration_name(backend)]
        assert await storage.migrate() == [migration_name(backend)]
        assert [r.post.content for r in await storage.list_posts(status=JobStatus.UNKNOWN)] == ["crash #test"]
        row = await storage.get_post(record.id)
        assert row is not None
        assert row.jobs[0].status is JobStatus.UNKNOWN
    finally:
        await storage.close()


def migration_name(backend: str) -> str:
    return "m007_unknown_status" if backend == "sqlite" else "0007_unknown_status"


async def as_an_older_version_left_it(db_url: str, backend: str) -> None:
    """The job stored as ``uncertain`` and migration 4 not applied, as before this change."""
    if backend == "sqlite":
        with sqlite3.connect(db_url) as db:
            db.execute("UPDATE jobs SET status = 'uncertain'")
            db.execute("DELETE FROM _crosspost_migrations WHERE name = 'm007_unknown_status'")
        return
    import asyncpg

    from crosspost.storage.postgres.connection import split_url

    conn = await asyncpg.connect(split_url(db_url)[0])
    try:
        await conn.execute("UPDATE jobs SET status = 'uncertain'")
        await conn.execute("DELETE FROM crosspost_migrations WHERE name = '0007_unknown_status'")
    finally:
        await conn.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_crosspost_reconcile_marks_an_unknown_post_failed_from_the_cli(
    db_url: str, tmp_path: Path, video: Callable[[int | None], Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    post_id = asyncio.run(an_unknown_post(db_url, tmp_path, video(None)))
    monkeypatch.setenv("CROSSPOST_DB", db_url)
    monkeypatch.setenv("CROSSPOST_SECRET_KEY", base64.urlsafe_b64encode(KEY).decode())
    runner = CliRunner()

    refused = runner.invoke(cli, ["reconcile", post_id], catch_exceptions=False)
    assert refused.exit_code == 2
    assert "exactly one of --published URL or --failed" in refused.output

    done = runner.invoke(cli, ["reconcile", post_id, "--failed", "--json"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["targets"][0]["status"] == "failed"
    assert "posting again is safe" in body["targets"][0]["error"]["message"]

    again = runner.invoke(cli, ["reconcile", post_id, "--failed"], catch_exceptions=False)
    assert again.exit_code != 0
    assert "no target whose outcome is unknown" in " ".join(again.output.split())


async def an_unknown_post(db_url: str, tmp_path: Path, path: Path) -> str:
    clock = FakeClock(T0)
    state = EmulatorState(clock=clock.timestamp, processing_polls=10**9, rng_seed=3)
    creator = state.add_creator(username="cli.creator")
    async with EmulatorServer(state) as server:
        hubs = TikTokHubs(db=db_url, data_dir=tmp_path, clock=clock, env=emulator_env(server.base_url),
                          poll=HOURLY)
        return await submit_and_run(hubs, creator, clock, path)
