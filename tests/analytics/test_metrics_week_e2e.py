"""A published TikTok video's metrics over a simulated week, against the emulator."""

from __future__ import annotations

from crosspost.core.clock import FakeClock
from crosspost.core.models import JobStatus
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from crosspost.storage.metrics import COLLECTING, DONE, RESOLVING
from tests.analytics.conftest import ANALYTICS_SCOPES, HubFactory, add_account, video_post

HOUR = 3600.0
DAY = 24 * HOUR


async def test_three_readings_over_a_week_grow_and_keep_the_19_digit_id(
        open_hub: HubFactory, creator: Creator, clock: FakeClock, emulator_state: EmulatorState) -> None:
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        record = await hub.publish(video_post())
        assert record.status is JobStatus.PUBLISHED
        public_id = str(emulator_state.published[0].post_ids[0])
        assert len(public_id) == 19
        assert int(public_id) > 2**53

        first = await hub.collect_metrics()
        assert first.discovered == 1
        assert first.snapshots == 0
        for hours in (1, 24, 7 * 24):
            clock.advance(hours * HOUR - (clock.now() - record.created_at).total_seconds() + 60)
            done = await hub.collect_metrics()
            assert done.snapshots == 1, done

        tasks = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert [t.platform_post_id for t in tasks] == [public_id]
        snaps = await hub.metrics.store.list_snapshots(job_ids=[tasks[0].job_id])
    assert [s.step for s in snaps] == [0, 2, 4]  # 1 h, 24 h and 7 d: the skipped 6 h and 3 d are not taken twice
    assert all(s.platform_post_id == public_id for s in snaps)
    views = [s.metrics["views"] for s in snaps]
    assert views == sorted(views)
    assert views[0] < views[-1]
    assert set(snaps[0].metrics) == {"views", "likes", "comments", "shares"}
    assert tasks[0].state == COLLECTING
    assert tasks[0].step == 5
    queries = [r for r in emulator_state.requests if r.route == "video_query"]
    # Three readings; the emulator's one-day access token died on the way, and was refreshed once.
    assert [r.status for r in queries].count(200) == 3
    assert [r.status for r in queries if r.status != 200] == [401]


async def test_public_id_that_comes_after_the_polling_window_is_resolved_by_a_slow_status_poll(
        open_hub: HubFactory, creator: Creator, clock: FakeClock, emulator_state: EmulatorState) -> None:
    emulator_state.post_id_format = "absent"  # moderation still running when the job finishes
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        record = await hub.publish(video_post())
        assert record.targets[0].post_url is None
        await hub.collect_metrics()
        clock.advance(3 * 60)
        await hub.collect_metrics()  # asked once: still no id
        tasks = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert tasks[0].state == RESOLVING
        assert tasks[0].platform_post_id is None
        emulator_state.post_id_format = "int"  # TikTok now answers with a bare 19-digit number
        clock.advance(10 * 60)
        resolved = await hub.collect_metrics()
        assert resolved.resolved == 1
        public_id = str(emulator_state.published[0].post_ids[0])
        tasks = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert tasks[0].platform_post_id == public_id
        assert tasks[0].resolved_by == "status"
        again = await hub.get(record.id)
        assert again.targets[0].post_url == f"https://www.tiktok.com/@week.creator/video/{public_id}"
        clock.advance(HOUR)
        assert (await hub.collect_metrics()).snapshots == 1
        kinds = [e.kind for e in await hub.events(record.id)]
        assert "public_id" in kinds
        assert "metrics" in kinds


async def test_webhook_names_the_public_id_and_the_link_is_recorded(
        open_hub: HubFactory, creator: Creator, clock: FakeClock, emulator_state: EmulatorState) -> None:
    emulator_state.post_id_format = "absent"
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        record = await hub.publish(video_post())
        publish_id = record.targets[0].publish_id
        assert publish_id is not None
        post_id = "7678907398077074696"
        assert await hub.apply_platform_event("tiktok", publish_id, outcome="publicly_available", post_id=post_id)
        tasks = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert tasks[0].platform_post_id == post_id
        assert tasks[0].resolved_by == "webhook"
        assert tasks[0].state == COLLECTING
        assert (await hub.get(record.id)).targets[0].post_url == f"https://www.tiktok.com/@week.creator/video/{post_id}"


async def test_missing_video_list_scope_is_a_typed_error_and_waits_a_day(
        open_hub: HubFactory, creator: Creator, clock: FakeClock, emulator_state: EmulatorState) -> None:
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ("user.info.basic", "video.publish", "video.upload"))
        record = await hub.publish(video_post())
        await hub.collect_metrics()
        clock.advance(HOUR + 60)
        for _ in range(5):  # many rounds in the same hour: one try, no loop
            await hub.collect_metrics()
            clock.advance(60)
        tasks = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        task = tasks[0]
        assert task.error is not None
        assert task.error.code == "scope_missing"
        assert "video.list" in task.error.message
        assert "crosspost accounts login tiktok main" in task.error.message
        assert task.attempts == 1
        assert (task.due_at - clock.now()).total_seconds() > 20 * HOUR
        assert not [r for r in emulator_state.requests if r.route == "video_query"]  # checked before any call
        assert (await hub.get(record.id)).targets[0].status is JobStatus.PUBLISHED
        account = await hub.accounts.get("tiktok", "main")
        assert not account.needs_login  # posting is not blocked by a metrics scope

        # Reconnected with the scope: the waiting task runs at once.
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        await hub.metrics.account_reconnected(task.target)
        assert (await hub.collect_metrics()).snapshots == 1
        events = [e for e in await hub.events(record.id) if e.kind == "metrics_error"]
        assert len(events) == 1


async def test_account_totals_come_from_user_info_stats(
        open_hub: HubFactory, creator: Creator, clock: FakeClock) -> None:
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        await hub.publish(video_post())
        clock.advance(2 * DAY)
        totals = await hub.account_metrics("tiktok:main")
        assert totals.metrics["videos"] == 1
        assert totals.metrics["followers"] > 10
        stored = await hub.metrics.store.list_account_snapshots(totals.target)
        assert [s.metrics for s in stored] == [dict(totals.metrics)]


async def test_a_schedule_that_ran_out_closes_the_task(
        open_hub: HubFactory, creator: Creator, clock: FakeClock) -> None:
    async with open_hub() as hub:
        await add_account(hub, creator, clock, ANALYTICS_SCOPES)
        record = await hub.publish(video_post())
        await hub.collect_metrics()
        clock.advance(31 * DAY)
        assert (await hub.collect_metrics()).snapshots == 1  # one late reading, not six
        tasks = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert tasks[0].state == DONE
