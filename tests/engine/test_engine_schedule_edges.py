"""Schedule edges: a past time is refused unless allowed; a post due soon is still 'scheduled' at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.errors import InvalidPost
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from tests.engine.conftest import T0
from tests.engine.engine_fakes import FakePlatform


def post(content: str = "hello", **changes: object) -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")], **changes)  # type: ignore[arg-type]


def iso(delta: timedelta) -> str:
    return (T0 + delta).isoformat()


async def test_a_time_hours_in_the_past_is_refused_naming_the_ways_out(hub: Hub, platform: FakePlatform) -> None:
    with pytest.raises(InvalidPost) as caught:
        await hub.submit(post(scheduled_at="2020-01-01T00:00:00Z"))

    [problem] = caught.value.problems
    assert problem.field == "scheduled_at"
    assert "is 2251 days in the past" in problem.message
    assert "'now'" in problem.message
    assert "--allow-past" in problem.message
    assert await hub.list_posts() == []
    assert platform.publish_calls == []


async def test_a_past_time_and_a_bad_option_are_reported_together(hub: Hub) -> None:
    with pytest.raises(InvalidPost) as caught:
        await hub.submit(post(scheduled_at=iso(-timedelta(hours=3)), target_options={"fake": {"colour": "red"}}))

    assert [p.field for p in caught.value.problems] == ["scheduled_at", "target_options.fake.colour"]


async def test_a_time_a_minute_ago_still_means_now(hub: Hub) -> None:
    record = await hub.submit(post(scheduled_at=iso(-timedelta(minutes=1))))

    assert record.status is JobStatus.QUEUED
    assert record.targets[0].warnings == ()


async def test_allow_past_publishes_at_once_with_a_warning(hub: Hub) -> None:
    record = await hub.publish(post(scheduled_at=iso(-timedelta(days=2))), allow_past=True)

    assert record.status is JobStatus.PUBLISHED
    assert any("2 days in the past; publishing at once" in w for w in record.targets[0].warnings)


async def test_the_dry_run_refuses_a_past_time_like_the_real_run_and_warns_when_allowed(hub: Hub) -> None:
    with pytest.raises(InvalidPost, match="scheduled_at"):
        await hub.plan(post(scheduled_at=iso(-timedelta(hours=1))))

    [plan] = (await hub.plan(post(scheduled_at=iso(-timedelta(hours=1))), allow_past=True)).values()
    assert any("1 hour in the past" in w for w in plan.warnings)


async def test_reschedule_to_the_past_is_refused_too(hub: Hub) -> None:
    record = await hub.submit(post(scheduled_at=iso(timedelta(hours=1))))

    with pytest.raises(InvalidPost, match="in the past"):
        await hub.reschedule(record.id, iso(-timedelta(hours=1)))


@pytest.mark.parametrize("ahead", [timedelta(seconds=5), timedelta(seconds=59), timedelta(seconds=61)])
async def test_publish_returns_scheduled_at_once_however_soon_it_is_due(
        hub: Hub, platform: FakePlatform, clock: FakeClock, ahead: timedelta) -> None:
    record = await hub.publish(post(scheduled_at=iso(ahead)))

    assert record.status is JobStatus.SCHEDULED
    assert platform.publish_calls == []
    assert clock.now() == T0, "publish waited for the schedule"


async def test_publish_with_wait_stays_until_the_time_and_publishes(
        hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    record = await hub.publish(post(scheduled_at=iso(timedelta(seconds=30))), wait=True)

    assert record.status is JobStatus.PUBLISHED
    assert clock.now() >= T0 + timedelta(seconds=30)
