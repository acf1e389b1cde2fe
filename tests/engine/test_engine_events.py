"""Events for progress bars and bots: listeners, lifecycle hooks, the event log, concurrency."""

from __future__ import annotations

import asyncio
import logging

import pytest

from crosspost.core.accounts import Account
from crosspost.core.engine import ProgressEvent
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.platform import JobContext, Outcome
from tests.engine.conftest import HubFactory
from tests.engine.engine_fakes import Broken, FakePlatform, Recorder, publish_in_steps


def post(content: str = "hello") -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")])


async def test_progress_listeners_see_every_phase_and_the_byte_counts(hub: Hub) -> None:
    seen: list[ProgressEvent] = []
    record = await hub.publish(post(), progress=seen.append)
    phases = [e.phase for e in seen if e.total is None]
    assert phases == [JobStatus.QUEUED, JobStatus.VALIDATING, JobStatus.UPLOADING, JobStatus.PROCESSING,
                      JobStatus.PUBLISHED]
    [upload] = [e for e in seen if e.total is not None]
    assert (upload.phase, upload.done, upload.total) == (JobStatus.UPLOADING, 10, 10)
    assert {e.post_id for e in seen} == {record.id}
    assert {str(e.target) for e in seen} == {"fake:main"}


async def test_a_progress_listener_given_to_publish_is_removed_afterwards(hub: Hub) -> None:
    seen: list[ProgressEvent] = []
    await hub.publish(post("one"), progress=seen.append)
    count = len(seen)
    await hub.publish(post("two"))
    assert len(seen) == count


async def test_sync_and_async_listeners_both_get_events_and_a_failing_one_disturbs_nobody(
        hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    sync_seen: list[JobStatus] = []
    async_seen: list[JobStatus] = []

    def broken(event: ProgressEvent) -> None:
        raise RuntimeError("listener bug")

    async def broken_async(event: ProgressEvent) -> None:
        raise RuntimeError("async listener bug")

    async def slow(event: ProgressEvent) -> None:
        await asyncio.sleep(0)
        async_seen.append(event.phase)

    hub.subscribe(broken)
    hub.subscribe(broken_async)
    hub.subscribe(lambda e: sync_seen.append(e.phase))
    unsubscribe = hub.subscribe(slow)
    with caplog.at_level(logging.ERROR, logger="crosspost.engine.progress"):
        record = await hub.publish(post())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    assert record.status is JobStatus.PUBLISHED
    assert sync_seen[-1] is JobStatus.PUBLISHED
    assert sorted(async_seen) == sorted(sync_seen)
    assert "listener bug" in caplog.text
    unsubscribe()
    await hub.publish(post("again"))
    assert len(async_seen) == len(sync_seen) // 2


async def test_lifecycle_hooks_reach_sync_and_async_bots_despite_a_broken_one(
        open_hub: HubFactory, platform: FakePlatform, recorder: Recorder, plugins: list[object],
        caplog: pytest.LogCaptureFixture) -> None:
    async with open_hub(plugins=[Broken(), *plugins, Broken()]) as hub:
        await hub.accounts.add(Account(platform="fake", name="main"))
        with caplog.at_level(logging.ERROR, logger="crosspost.plugins"):
            record = await hub.publish(post())
            scheduled = await hub.submit(Post(content="later", targets=[Target.parse("fake:main")],
                                              scheduled_at="2026-04-01T00:00:00Z"))
            await hub.cancel(scheduled.id)
    assert record.status is JobStatus.PUBLISHED
    assert recorder.kinds() == ["post_scheduled", "target_published", "post_scheduled", "post_cancelled"]
    _, post_id, result = recorder.events[1]
    assert post_id == record.id
    assert result.publish_id is not None
    assert "broken bot" in caplog.text
    assert "broken async bot" in caplog.text


async def test_the_event_log_holds_no_secret(hub: Hub, platform: FakePlatform) -> None:
    record = await hub.publish(post())
    text = repr(await hub.events(record.id))
    assert "act.SECRET" not in text
    assert "published" in text


async def test_concurrency_is_bounded(open_hub: HubFactory, platform: FakePlatform) -> None:
    running = 0
    peak = 0
    full = asyncio.Event()

    async def counted(post: Post, ctx: JobContext) -> Outcome:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        if running == 3:
            full.set()
        await full.wait()  # hold the first jobs until three run at once
        running -= 1
        return await publish_in_steps(post, ctx)

    for i in range(9):
        platform.script(f"post {i}", counted)
    async with open_hub(concurrency=8) as hub:
        await hub.accounts.add(Account(platform="fake", name="main"))
        for i in range(9):
            await hub.submit(post(f"post {i}"))
        await hub.run_worker(until_idle=True, concurrency=3)
        statuses = {r.status for r in await hub.list_posts()}
    assert statuses == {JobStatus.PUBLISHED}
    assert peak == 3
