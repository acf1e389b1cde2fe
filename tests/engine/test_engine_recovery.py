"""Crashes, shutdowns, lease takeovers and cancels: the checkpoint carries the job across them."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import attrs
import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.engine import Timing
from crosspost.core.engine.checkpoints import open_checkpoint
from crosspost.core.errors import Cancelled, RateLimited, TransientError
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.secrets import SecretBox
from crosspost.storage.base import JobRow
from tests.engine.conftest import T0, HubFactory
from tests.engine.engine_fakes import FakePlatform, Gate, Recorder, paused, raising


def post(content: str, **changes: object) -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")], **changes)  # type: ignore[arg-type]


async def only_job(hub: Hub, post_id: str) -> JobRow:
    """The post's one job, its checkpoint opened (storage keeps it sealed)."""
    row = await hub.storage.get_post(post_id)
    assert row is not None
    [job] = row.jobs
    return attrs.evolve(job, checkpoint=open_checkpoint(hub.accounts.cipher(), job.id, job.checkpoint))


async def test_a_retry_resumes_from_the_last_checkpoint_without_validating_again(
        hub: Hub, platform: FakePlatform) -> None:
    platform.script("resume", raising(TransientError("connection reset"), save={"publish_id": "v_1", "next_chunk": 2}))
    record = await hub.publish(post("resume"))
    assert record.status is JobStatus.PUBLISHED
    assert platform.calls_for("resume") == [{}, {"publish_id": "v_1", "next_chunk": 2}]
    assert platform.validate_calls == ["resume"], "checked at submit (the first run reuses it), not on resuming"


async def test_a_worker_cancelled_mid_publish_leaves_the_job_resumable(
        hub: Hub, platform: FakePlatform, open_hub: HubFactory) -> None:
    gate = Gate()
    platform.script("long", paused(gate, first={"chunk": 1}))
    record = await hub.submit(post("long"))
    worker = asyncio.create_task(hub.run_worker())
    await gate.entered.wait()
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    job = await only_job(hub, record.id)
    assert job.status is JobStatus.QUEUED
    assert job.lease is None
    assert job.checkpoint == {"chunk": 1}
    assert "released" in [e.kind for e in await hub.events(record.id)]

    async with open_hub() as restarted:
        await restarted.run_worker(until_idle=True)
        assert (await restarted.get(record.id)).status is JobStatus.PUBLISHED
    assert platform.calls_for("long") == [{}, {"chunk": 1}]


async def test_a_killed_workers_job_resumes_once_its_lease_expires(hub: Hub, platform: FakePlatform,
                                                                   clock: FakeClock) -> None:
    record = await hub.submit(post("crash"))
    lease_until = clock.now() + timedelta(seconds=60)
    dead = await hub.storage.claim_job("deadhost:1:dead", now=clock.now(), lease_until=lease_until)
    assert dead is not None
    assert dead.lease is not None
    assert await hub.storage.save_checkpoint(dead.lease, {"publish_id": "v_9", "next_chunk": 3},
                                             status=JobStatus.UPLOADING, now=clock.now(),
                                             lease_until=clock.now() + timedelta(seconds=60))
    await hub.run_worker(until_idle=True)
    assert (await hub.get(record.id)).status is JobStatus.PUBLISHED
    assert clock.now() >= T0 + timedelta(seconds=60), "the job was not taken before the lease ran out"
    assert platform.calls_for("crash") == [{"publish_id": "v_9", "next_chunk": 3}]
    assert platform.validate_calls == ["crash"], "a job the platform already holds is finished, not re-judged"
    job = await only_job(hub, record.id)
    assert job.lease is not None
    assert job.lease.token == 2


async def test_a_paused_worker_cannot_overwrite_the_new_owners_work(hub: Hub, platform: FakePlatform,
                                                                    clock: FakeClock) -> None:
    gate = Gate()
    platform.script("paused", paused(gate, first={"a": 1}, then={"a": 2}))
    record = await hub.submit(post("paused"))
    worker = asyncio.create_task(hub.run_worker(until_idle=True))
    await gate.entered.wait()
    clock.advance(61)  # the worker stalled past its lease; another process takes the job over
    taken = await hub.storage.claim_job("otherhost:2:alive", now=clock.now(),
                                        lease_until=clock.now() + timedelta(seconds=60))
    assert taken is not None
    assert open_checkpoint(hub.accounts.cipher(), taken.id, taken.checkpoint) == {"a": 1}
    gate.resume.set()
    await worker
    assert [type(e) for e in gate.errors] == [Cancelled], "the stale save raised Cancelled"
    assert platform.calls_for("paused")[1] == {"a": 1}, "the stale worker's {'a': 2} was never stored"
    assert (await hub.get(record.id)).status is JobStatus.PUBLISHED


async def test_cancelling_a_running_job_stops_it_at_its_next_save(hub: Hub, platform: FakePlatform,
                                                                  recorder: Recorder) -> None:
    gate = Gate()
    platform.script("stop me", paused(gate, first={"publish_id": "v_3"}, then={"next_chunk": 2}))
    record = await hub.submit(post("stop me"))
    worker = asyncio.create_task(hub.run_worker(until_idle=True))
    await gate.entered.wait()
    during = await hub.cancel(record.id)
    assert during.status is JobStatus.UPLOADING, "a running target finishes its current step first"
    gate.resume.set()
    await worker
    final = await hub.get(record.id)
    assert final.status is JobStatus.CANCELLED
    assert [type(e) for e in gate.errors] == [Cancelled]
    job = await only_job(hub, record.id)
    assert platform.cancel_calls == [(job.id, {"publish_id": "v_3"})]
    assert "post_cancelled" in recorder.kinds()
    assert "target_failed" not in recorder.kinds()


async def test_cancelling_waiting_targets_is_immediate(hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    scheduled = await hub.submit(post("later", scheduled_at="2026-03-02T09:00:00Z"))
    cancelled = await hub.cancel(scheduled.id)
    assert cancelled.status is JobStatus.CANCELLED
    assert platform.cancel_calls == [], "nothing was started at the platform"

    platform.script("retry", raising(RateLimited("rate_limit_exceeded", retry_after=3600), save={"publish_id": "v_7"}))
    retrying = await hub.submit(post("retry"))
    await hub.run_worker(until_idle=True)
    assert (await only_job(hub, retrying.id)).status is JobStatus.QUEUED
    await hub.cancel(retrying.id)
    job = await only_job(hub, retrying.id)
    assert job.status is JobStatus.CANCELLED
    assert platform.cancel_calls == [(job.id, {"publish_id": "v_7"})], "work held at the platform is dropped"
    assert await hub.cancel(retrying.id) == await hub.get(retrying.id), "cancelling twice changes nothing"


async def test_a_stop_request_releases_running_jobs_with_their_checkpoints(hub: Hub, platform: FakePlatform) -> None:
    gate = Gate()
    platform.script("slow", paused(gate, first={"chunk": 4}))
    record = await hub.submit(post("slow"))
    stop = asyncio.Event()
    worker = asyncio.create_task(hub.run_worker(stop=stop))
    await gate.entered.wait()
    stop.set()
    await worker
    job = await only_job(hub, record.id)
    assert job.status is JobStatus.QUEUED
    assert job.checkpoint == {"chunk": 4}


async def test_heartbeats_renew_the_lease_while_a_job_runs(open_hub: HubFactory, platform: FakePlatform,
                                                           clock: FakeClock) -> None:
    gate = Gate()
    platform.script("beat", paused(gate, first={"x": 1}))
    fast = Timing(lease=60.0, heartbeat=0.005, poll=1.0, idle_horizon=60.0, shutdown_grace=0.0)
    async with open_hub(timing=fast) as hub:
        await hub.accounts.add(Account(platform="fake", name="main"))
        record = await hub.submit(post("beat"))
        worker = asyncio.create_task(hub.run_worker(until_idle=True))
        await gate.entered.wait()
        first = (await only_job(hub, record.id)).lease_until
        assert first is not None
        clock.advance(45)
        for _ in range(1000):
            renewed = (await only_job(hub, record.id)).lease_until
            if renewed is not None and renewed > first:
                break
            await asyncio.sleep(0.005)
        assert renewed == clock.now() + timedelta(seconds=60)
        gate.resume.set()
        await worker
        assert (await hub.get(record.id)).status is JobStatus.PUBLISHED


async def test_a_checkpoint_sealed_with_another_key_fails_the_job_at_once_naming_the_key(
        open_hub: HubFactory, platform: FakePlatform, clock: FakeClock) -> None:
    platform.script("sealed", raising(TransientError("connection reset", retry_after=3600.0),
                                      save={"publish_id": "v_1", "next_chunk": 2}))
    async with open_hub() as hub:
        await hub.accounts.add(Account(platform="fake", name="main"))
        record = await hub.submit(post("sealed"))
        await hub.run_worker(until_idle=True)
        assert (await hub.get(record.id)).status is JobStatus.QUEUED, "waiting for its retry, checkpoint sealed"
    clock.advance(3601)
    started = clock.now()

    async with open_hub(secret_box=SecretBox(os.urandom(32))) as other_key:
        await other_key.run_worker(until_idle=True)
        [target] = (await other_key.get(record.id)).targets
        job = await only_job_row(other_key, record.id)

    assert target.status is JobStatus.FAILED
    assert target.error is not None
    assert target.error.code == "checkpoint_unreadable"
    assert "CROSSPOST_SECRET_KEY" in target.error.message
    assert "key file" in target.error.message
    assert job.status is JobStatus.FAILED
    assert job.finished_at is not None, "finished at once, not left running until the lease runs out"
    assert clock.now() - started < timedelta(seconds=60), "no wait for a lease expiry"
    assert platform.calls_for("sealed") == [{}], "the platform was not called with an unreadable checkpoint"


async def only_job_row(hub: Hub, post_id: str) -> JobRow:
    row = await hub.storage.get_post(post_id)
    assert row is not None
    [job] = row.jobs
    return job
