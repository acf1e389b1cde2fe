"""The metrics part of the storage contract, on every backend: tasks, claims, snapshots, ids."""

from __future__ import annotations

from datetime import timedelta

from crosspost.core.models import ErrorInfo, JobStatus, Target
from crosspost.storage.base import NewEvent, Storage
from crosspost.storage.metrics import (
    COLLECTING,
    DONE,
    RESOLVING,
    AccountSnapshotRow,
    NewMetricTask,
    SnapshotRow,
    TaskUpdate,
    metric_store,
)
from tests.storage.test_storage_jobs_contract import LEASE, T0, claim, lease_of, new_post

BIG_ID = "7678907398077074696"  # > 2**53: a float would round it


async def published(storage: Storage, post_id: str = "p1", target: str = "tiktok:main",
                    url: str | None = None) -> str:
    await storage.insert_post(new_post(post_id, targets=(target,)))
    job = await claim(storage, post_id=post_id)
    assert await storage.finish_job(lease_of(job), status=JobStatus.PUBLISHED, now=T0, publish_id="v_pub_file~1",
                                    post_url=url)
    return job.id


def task(job_id: str, *, state: str = COLLECTING, platform_post_id: str | None = BIG_ID,
         due: timedelta = timedelta(hours=1), post_id: str = "p1") -> NewMetricTask:
    return NewMetricTask(job_id=job_id, post_id=post_id, target=Target.parse("tiktok:main"),
                         publish_id="v_pub_file~1", platform_post_id=platform_post_id, post_url=None,
                         published_at=T0, state=state, step=0, due_at=T0 + due)


async def test_published_jobs_without_a_task_are_found_once_per_platform(storage: Storage) -> None:
    store = metric_store(storage)
    job_id = await published(storage)
    await published(storage, "p2", target="fake:main")
    found = await store.published_without_metrics(["tiktok"])
    assert [(f.job_id, f.publish_id, f.finished_at) for f in found] == [(job_id, "v_pub_file~1", T0)]
    assert await store.insert_metric_tasks([task(job_id)], now=T0) == 1
    assert await store.insert_metric_tasks([task(job_id)], now=T0) == 0  # idempotent
    assert await store.published_without_metrics(["tiktok"]) == []
    assert await store.published_without_metrics([]) == []


async def test_a_due_task_is_claimed_by_one_worker_until_its_lease_ends(storage: Storage) -> None:
    store = metric_store(storage)
    job_id = await published(storage)
    await store.insert_metric_tasks([task(job_id)], now=T0)
    assert await store.claim_metric_tasks("w1", now=T0, lease_until=T0 + LEASE) == []  # not due yet
    due = T0 + timedelta(hours=1)
    [claimed] = await store.claim_metric_tasks("w1", now=due, lease_until=due + LEASE)
    assert claimed.platform_post_id == BIG_ID
    assert claimed.lease_owner == "w1"
    assert await store.claim_metric_tasks("w2", now=due, lease_until=due + LEASE) == []
    later = due + LEASE + timedelta(seconds=1)
    [taken_over] = await store.claim_metric_tasks("w2", now=later, lease_until=later + LEASE)
    assert taken_over.lease_owner == "w2"
    update = TaskUpdate(state=COLLECTING, step=1, due_at=T0 + timedelta(hours=6))
    assert not await store.finish_metric_task(job_id, "w1", update, now=later)  # fenced: w1 lost it


async def test_a_snapshot_is_stored_once_per_step_with_the_id_as_text(storage: Storage) -> None:
    store = metric_store(storage)
    job_id = await published(storage)
    await store.insert_metric_tasks([task(job_id, due=timedelta(0))], now=T0)
    snapshot = SnapshotRow(job_id=job_id, step=0, taken_at=T0, platform_post_id=BIG_ID,
                           metrics={"views": 10, "likes": 2}, extras={"share_url": "https://x/1"})
    for owner in ("w1", "w2"):
        now = T0 + (LEASE * 2 if owner == "w2" else timedelta(0))
        [mine] = await store.claim_metric_tasks(owner, now=now, lease_until=now + LEASE)
        update = TaskUpdate(state=COLLECTING, step=0, due_at=now)
        event = NewEvent(kind="metrics", post_id="p1", job_id=job_id)
        assert await store.finish_metric_task(mine.job_id, owner, update, now=now, snapshot=snapshot, event=event)
    stored = await store.list_snapshots(job_ids=[job_id])
    assert stored == [snapshot]
    assert isinstance(stored[0].platform_post_id, str)
    assert [e.kind for e in await storage.list_events(job_id=job_id)].count("metrics") == 2


async def test_finishing_records_errors_and_a_resolved_link_on_the_job(storage: Storage) -> None:
    store = metric_store(storage)
    job_id = await published(storage)
    await store.insert_metric_tasks([task(job_id, state=RESOLVING, platform_post_id=None, due=timedelta(0))],
                                    now=T0)
    assert len(await store.claim_metric_tasks("w1", now=T0, lease_until=T0 + LEASE)) == 1
    url = f"https://www.tiktok.com/@me/video/{BIG_ID}"
    update = TaskUpdate(state=COLLECTING, step=0, due_at=T0 + timedelta(hours=1), platform_post_id=BIG_ID,
                        post_url=url, resolved_by="status")
    assert await store.finish_metric_task(job_id, "w1", update, now=T0)
    [row] = await store.list_metric_tasks(post_id="p1")
    assert (row.state, row.platform_post_id, row.post_url, row.resolved_by) == (COLLECTING, BIG_ID, url, "status")
    job = await storage.get_job(job_id)
    assert job is not None
    assert job.post_url == url
    due = T0 + timedelta(hours=1)
    assert len(await store.claim_metric_tasks("w1", now=due, lease_until=due + LEASE)) == 1
    error = ErrorInfo(code="scope_missing", message="needs video.list")
    assert await store.finish_metric_task(job_id, "w1", TaskUpdate(state=DONE, step=0, due_at=due, attempts=3,
                                                                   error=error), now=due)
    [row] = await store.list_metric_tasks(post_id="p1")
    assert (row.state, row.attempts, row.error) == (DONE, 3, error)
    assert row.platform_post_id == BIG_ID  # an update without an id keeps the known one


async def test_a_webhook_public_id_moves_a_resolving_task_to_collecting_now(storage: Storage) -> None:
    store = metric_store(storage)
    job_id = await published(storage)
    await store.insert_metric_tasks([task(job_id, state=RESOLVING, platform_post_id=None,
                                          due=timedelta(hours=2))], now=T0)
    now = T0 + timedelta(minutes=5)
    event = NewEvent(kind="public_id", post_id="p1", job_id=job_id)
    assert await store.public_id_arrived(job_id, BIG_ID, post_url="https://t/v", resolved_by="webhook", now=now,
                                         event=event)
    [row] = await store.list_metric_tasks(post_id="p1")
    assert (row.state, row.step, row.due_at, row.platform_post_id) == (COLLECTING, 0, now, BIG_ID)
    assert not await store.public_id_arrived("nope", BIG_ID, post_url=None, resolved_by="webhook", now=now)


async def test_waking_an_account_makes_its_waiting_tasks_due(storage: Storage) -> None:
    store = metric_store(storage)
    job_id = await published(storage)
    await store.insert_metric_tasks([task(job_id, due=timedelta(days=1))], now=T0)
    assert await store.wake_metric_tasks(Target.parse("tiktok:main"), now=T0) == 1
    assert [t.job_id for t in await store.claim_metric_tasks("w1", now=T0, lease_until=T0 + LEASE)] == [job_id]


async def test_account_snapshots_are_listed_oldest_first(storage: Storage) -> None:
    store = metric_store(storage)
    target = Target.parse("tiktok:main")
    for hours, followers in ((0, 10), (24, 12), (48, 15)):
        await store.add_account_snapshot(AccountSnapshotRow(target=target, taken_at=T0 + timedelta(hours=hours),
                                                            metrics={"followers": followers}))
    rows = await store.list_account_snapshots(target, limit=2)
    assert [r.metrics["followers"] for r in rows] == [12, 15]
    assert await store.list_account_snapshots(Target.parse("tiktok:other")) == []
