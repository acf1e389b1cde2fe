"""Scheduling: due times (DST included), until-idle workers, rescheduling and editing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.errors import InvalidPost
from crosspost.core.hub import Hub, PostStateError
from crosspost.core.models import JobStatus, Post, Target
from tests.engine.conftest import T0
from tests.engine.engine_fakes import FakePlatform, Recorder

NY = "America/New_York"


def post(content: str = "hello", **changes: object) -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")], **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(("local", "instant", "rule"), [
    # 2026-03-08 02:00 EST clocks jump to 03:00 EDT: 02:30 does not exist and moves to 03:30 EDT.
    ("2026-03-08T02:30:00", datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "does not exist"),
    ("2026-03-08T01:59:00", datetime(2026, 3, 8, 6, 59, tzinfo=UTC), None),
    ("2026-03-08T03:00:00", datetime(2026, 3, 8, 7, 0, tzinfo=UTC), None),
    # 2026-11-01 02:00 EDT clocks fall back to 01:00 EST: 01:30 happens twice; the first one counts.
    ("2026-11-01T01:30:00", datetime(2026, 11, 1, 5, 30, tzinfo=UTC), "happens twice"),
    ("2026-11-01T02:30:00", datetime(2026, 11, 1, 7, 30, tzinfo=UTC), None),
])
async def test_local_times_around_dst_changes_give_the_documented_instants(
        hub: Hub, local: str, instant: datetime, rule: str | None) -> None:
    record = await hub.submit(post(scheduled_at=local, timezone=NY))
    assert record.status is JobStatus.SCHEDULED
    assert record.run_at == instant
    notes = [w for w in record.targets[0].warnings if NY in w]
    if rule is None:
        assert notes == []
    else:
        assert len(notes) == 1
        assert rule in notes[0]


async def test_a_scheduled_post_runs_at_its_instant_not_before(hub: Hub, clock: FakeClock) -> None:
    clock.advance((datetime(2026, 3, 8, 7, 29, tzinfo=UTC) - clock.now()).total_seconds())
    record = await hub.submit(post(scheduled_at="2026-03-08T02:30:00", timezone=NY))
    await hub.run_worker(until_idle=True)
    assert (await hub.get(record.id)).status is JobStatus.PUBLISHED
    [started] = [e.at for e in await hub.events(record.id) if e.kind == "started"]
    assert started >= datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    assert started - datetime(2026, 3, 8, 7, 30, tzinfo=UTC) <= timedelta(seconds=1)


async def test_until_idle_runs_what_is_due_soon_and_leaves_later_posts(hub: Hub, clock: FakeClock,
                                                                      platform: FakePlatform) -> None:
    soon = await hub.submit(post("soon", scheduled_at=(T0 + timedelta(seconds=5)).isoformat()))
    later = await hub.submit(post("later", scheduled_at=(T0 + timedelta(hours=2)).isoformat()))
    assert soon.status is JobStatus.SCHEDULED
    await hub.run_worker(until_idle=True)
    assert (await hub.get(soon.id)).status is JobStatus.PUBLISHED
    assert (await hub.get(later.id)).status is JobStatus.SCHEDULED
    assert platform.calls_for("later") == []
    assert T0 + timedelta(seconds=5) <= clock.now() < T0 + timedelta(seconds=60)


async def test_until_idle_returns_at_once_when_nothing_is_due(hub: Hub, clock: FakeClock) -> None:
    await hub.submit(post(scheduled_at=(T0 + timedelta(seconds=61)).isoformat()))
    await hub.run_worker(until_idle=True)
    assert clock.now() == T0


async def test_publish_of_a_post_scheduled_later_stores_it_and_returns(hub: Hub, platform: FakePlatform,
                                                                        recorder: Recorder) -> None:
    record = await hub.publish(post(scheduled_at="2026-03-05T09:00:00Z"))
    assert record.status is JobStatus.SCHEDULED
    assert record.run_at == datetime(2026, 3, 5, 9, tzinfo=UTC)
    assert platform.publish_calls == []
    assert recorder.events == [("post_scheduled", record.id, "2026-03-05T09:00:00+00:00")]


async def test_reschedule_moves_a_waiting_post_and_keeps_the_users_words(hub: Hub, clock: FakeClock) -> None:
    record = await hub.submit(post(scheduled_at="2026-03-05T09:00:00Z"))
    moved = await hub.reschedule(record.id, "2026-11-01T01:30:00", timezone=NY)
    assert moved.run_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert moved.post.scheduled_at == "2026-11-01T01:30:00"
    assert moved.post.timezone == NY
    now = await hub.reschedule(record.id, "now")
    assert now.status is JobStatus.QUEUED
    await hub.run_worker(until_idle=True)
    with pytest.raises(PostStateError, match="no target waiting"):
        await hub.reschedule(record.id, "2026-12-01T00:00:00Z")
    assert [e.kind for e in await hub.events(record.id)].count("rescheduled") == 2


async def test_reschedule_names_a_bad_time_or_zone(hub: Hub) -> None:
    record = await hub.submit(post(scheduled_at="2026-03-05T09:00:00Z"))
    with pytest.raises(InvalidPost) as caught:
        await hub.reschedule(record.id, "tomorrow-ish", timezone="Mars/Olympus")
    assert {p.field for p in caught.value.problems} == {"timezone", "scheduled_at"}


async def test_edit_replaces_a_scheduled_post_after_validating_it(hub: Hub, platform: FakePlatform) -> None:
    record = await hub.submit(post("first draft", scheduled_at="2026-03-05T09:00:00Z", idempotency_key="k"))
    edited = await hub.edit(record.id, post("second draft", scheduled_at="2026-03-06T09:00:00Z"))
    assert edited.id == record.id
    assert edited.post.content == "second draft"
    assert edited.post.idempotency_key == "k"
    assert edited.run_at == datetime(2026, 3, 6, 9, tzinfo=UTC)
    with pytest.raises(InvalidPost, match="content"):
        await hub.edit(record.id, post("x" * 80, scheduled_at="2026-03-06T09:00:00Z"))
    assert (await hub.get(record.id)).post.content == "second draft"


async def test_edit_is_refused_once_the_post_ran(hub: Hub) -> None:
    record = await hub.publish(post())
    with pytest.raises(PostStateError, match="only a post whose targets are all still scheduled"):
        await hub.edit(record.id, post("changed"))


async def test_wait_times_out_on_the_hubs_clock(hub: Hub, clock: FakeClock) -> None:
    record = await hub.submit(post(scheduled_at="2026-03-05T09:00:00Z"))
    with pytest.raises(TimeoutError, match="still scheduled"):
        await hub.wait(record.id, timeout=30)
    assert clock.monotonic() >= 30


async def test_wait_returns_once_a_worker_finished_the_post(hub: Hub) -> None:
    record = await hub.submit(post("now"))
    waiter = asyncio.create_task(hub.wait(record.id))
    await asyncio.sleep(0)
    assert not waiter.done()
    await hub.run_worker(until_idle=True)
    assert (await waiter).status is JobStatus.PUBLISHED
