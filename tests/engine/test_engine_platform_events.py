"""Verified platform events (webhooks) move the matching job forward without publishing twice."""

from __future__ import annotations

from datetime import timedelta

from crosspost.core.clock import FakeClock
from crosspost.core.errors import DailyCapReached
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from tests.engine.conftest import T0
from tests.engine.engine_fakes import FakePlatform, raising


def post(content: str) -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")])


async def deferred_with_publish_id(hub: Hub, platform: FakePlatform, content: str) -> str:
    """A post whose job got a publish id, then was released to wait 20 hours (a daily cap)."""
    cap = DailyCapReached("spam_risk_too_many_posts", not_before=T0 + timedelta(hours=20))
    platform.script(content, raising(cap, save={"publish_id": f"v_{content}"}))
    record = await hub.publish(post(content))
    assert record.status is JobStatus.DEFERRED
    return record.id


async def test_an_event_for_an_unknown_publish_id_matches_nothing(hub: Hub) -> None:
    assert not await hub.apply_platform_event("fake", "v_nobody", outcome="complete")


async def test_an_event_makes_a_released_job_due_now_and_a_worker_finishes_it(
        hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    post_id = await deferred_with_publish_id(hub, platform, "hurry")
    await hub.run_worker(until_idle=True)
    assert len(platform.calls_for("hurry")) == 1, "not due before the event"
    assert await hub.apply_platform_event("fake", "v_hurry", outcome="complete", post_id="7001")
    assert (await hub.get(post_id)).run_at == clock.now()
    await hub.run_worker(until_idle=True)
    assert (await hub.get(post_id)).status is JobStatus.PUBLISHED
    assert platform.calls_for("hurry")[-1] == {"publish_id": "v_hurry"}, "the worker resumed the same publish"
    [logged] = [e for e in await hub.events(post_id) if e.kind == "platform_event"]
    assert logged.data["outcome"] == "complete"
    assert logged.data["platform_post_id"] == "7001"


async def test_an_event_for_a_leased_job_overwrites_nothing(
        hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    post_id = await deferred_with_publish_id(hub, platform, "leased")
    assert await hub.apply_platform_event("fake", "v_leased", outcome="inbox_delivered")
    now = clock.now()
    held = await hub.storage.claim_job("other-worker", now=now, lease_until=now + timedelta(seconds=60))
    assert held is not None
    clock.advance(5)
    assert await hub.apply_platform_event("fake", "v_leased", outcome="complete")
    after = await hub.storage.get_job(held.id)
    assert after is not None
    assert (after.status, after.lease, after.run_at, after.updated_at) == (
        held.status, held.lease, held.run_at, held.updated_at)
    assert len([e for e in await hub.events(post_id) if e.kind == "platform_event"]) == 2


async def test_a_redelivered_event_has_no_second_effect(hub: Hub, platform: FakePlatform) -> None:
    post_id = await deferred_with_publish_id(hub, platform, "twice")
    assert await hub.apply_platform_event("fake", "v_twice", outcome="complete")
    assert await hub.apply_platform_event("fake", "v_twice", outcome="complete")
    assert len([e for e in await hub.events(post_id) if e.kind == "platform_event"]) == 1
    await hub.run_worker(until_idle=True)
    assert len(platform.calls_for("twice")) == 2, "one resumed run, not two"
    assert (await hub.get(post_id)).status is JobStatus.PUBLISHED


async def test_an_event_for_another_platform_does_not_match(hub: Hub, platform: FakePlatform) -> None:
    await deferred_with_publish_id(hub, platform, "other")
    assert not await hub.apply_platform_event("tiktok", "v_other", outcome="complete")
