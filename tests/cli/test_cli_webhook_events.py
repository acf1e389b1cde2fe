"""Webhook events reach the hub through ``apply_webhook_events``, which hurries the matching job."""

from __future__ import annotations

from datetime import timedelta

from crosspost.core.cli.webhooks_cmd import describe
from crosspost.core.clock import FakeClock
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.webhooks import EventKind, PlatformEvent
from crosspost.storage.base import NewJob, NewPost


def complete(publish_id: str) -> PlatformEvent:
    return PlatformEvent(kind=EventKind.POST, event_id=f"e-{publish_id}", outcome="published", publish_id=publish_id,
                         account_ref="user-1")


async def released_tiktok_job(hub: Hub, clock: FakeClock, publish_id: str) -> str:
    """A TikTok job that got ``publish_id`` and then waits an hour for its retry."""
    now = clock.now()
    target = Target.parse("tiktok:main")
    job = NewJob(id="j1", target=target, status=JobStatus.QUEUED, run_at=now)
    await hub.storage.insert_post(NewPost(id="p1", post=Post(content="hi", targets=[target]), created_at=now,
                                          jobs=(job,)))
    claimed = await hub.storage.claim_job("w1", now=now, lease_until=now + timedelta(seconds=60))
    assert claimed is not None
    assert claimed.lease is not None
    assert await hub.storage.save_checkpoint(claimed.lease, {"sealed": "x"}, status=JobStatus.PROCESSING, now=now,
                                             lease_until=now + timedelta(seconds=60), publish_id=publish_id)
    assert await hub.storage.release_job(claimed.lease, status=JobStatus.QUEUED, run_at=now + timedelta(hours=1),
                                         attempts=1, now=now)
    return claimed.id


async def test_a_publish_webhook_makes_the_waiting_job_due_now(
        crosspost_hub: Hub, fake_clock: FakeClock) -> None:
    job_id = await released_tiktok_job(crosspost_hub, fake_clock, "v_pub_1")
    [applied] = await crosspost_hub.apply_webhook_events("tiktok", [complete("v_pub_1")])
    job = await crosspost_hub.storage.get_job(job_id)
    assert job is not None
    assert (job.status, job.run_at) == (JobStatus.QUEUED, fake_clock.now())
    assert describe("tiktok", applied) == "tiktok: published for v_pub_1"


async def test_a_publish_webhook_for_an_unknown_publish_id_says_so(
        crosspost_hub: Hub) -> None:
    [applied] = await crosspost_hub.apply_webhook_events("tiktok", [complete("v_unknown")])
    assert not applied.matched
    assert "no matching job" in describe("tiktok", applied)
