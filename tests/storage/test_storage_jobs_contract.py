"""The storage contract for posts and jobs: every operation the engine uses, per backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from crosspost.core.models import ErrorInfo, JobStatus, Post, Target
from crosspost.storage.base import JobRow, Lease, NewEvent, NewJob, NewPost, Storage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def new_post(post_id: str, *, targets: tuple[str, ...] = ("fake:main",), run_at: datetime = T0,
             status: JobStatus = JobStatus.QUEUED, key: str | None = None, content: str = "hello") -> NewPost:
    post = Post(content=content, targets=[Target.parse(t) for t in targets], idempotency_key=key)
    jobs = tuple(NewJob(id=f"{post_id}-{i}", target=Target.parse(t), status=status, run_at=run_at)
                 for i, t in enumerate(targets))
    return NewPost(id=post_id, post=post, created_at=T0, jobs=jobs)


async def claim(storage: Storage, owner: str = "w1", now: datetime = T0, post_id: str | None = None) -> JobRow:
    job = await storage.claim_job(owner, now=now, lease_until=now + LEASE, post_id=post_id)
    assert job is not None, "expected a claimable job"
    return job


def lease_of(job: JobRow) -> Lease:
    assert job.lease is not None
    return job.lease


async def test_insert_post_stores_the_post_and_one_job_per_target(storage: Storage) -> None:
    row, created = await storage.insert_post(new_post("p1", targets=("fake:main", "other")),
                                             event=NewEvent(kind="submitted", post_id="p1"))
    assert created
    assert row.post.content == "hello"
    assert [(str(j.target), j.status, j.position) for j in row.jobs] == [
        ("fake:main", JobStatus.QUEUED, 0), ("other", JobStatus.QUEUED, 1)]
    assert row.jobs[0].lease is None
    assert row.jobs[0].attempts == 0
    assert row.jobs[0].checkpoint == {}
    assert [e.kind for e in await storage.list_events(post_id="p1")] == ["submitted"]


async def test_repeated_idempotency_key_returns_the_first_post_and_writes_nothing(storage: Storage) -> None:
    first, _ = await storage.insert_post(new_post("p1", key="client-key"))
    again, created = await storage.insert_post(new_post("p2", key="client-key", content="other"))
    assert not created
    assert again.id == "p1"
    assert again.post.content == "hello"
    assert await storage.get_post("p2") is None
    found = await storage.find_post_by_key("client-key")
    assert found is not None
    assert found.id == first.id


async def test_times_round_trip_to_the_microsecond(storage: Storage) -> None:
    when = datetime(2026, 3, 8, 7, 30, 0, 123457, tzinfo=UTC)
    row, _ = await storage.insert_post(new_post("p1", run_at=when, status=JobStatus.SCHEDULED))
    assert row.jobs[0].run_at == when
    assert row.jobs[0].run_at.tzinfo is not None


async def test_claim_takes_only_due_jobs_and_marks_them_validating(storage: Storage) -> None:
    await storage.insert_post(new_post("later", run_at=T0 + timedelta(hours=1), status=JobStatus.SCHEDULED))
    await storage.insert_post(new_post("now"))
    job = await claim(storage)
    assert job.post_id == "now"
    assert job.status is JobStatus.VALIDATING
    assert job.lease == Lease(job_id="now-0", owner="w1", token=1)
    assert job.lease_until == T0 + LEASE
    assert job.started_at == T0
    assert await storage.claim_job("w2", now=T0, lease_until=T0 + LEASE) is None
    later = await claim(storage, now=T0 + timedelta(hours=1))
    assert later.post_id == "later"


async def test_claim_can_be_limited_to_one_post(storage: Storage) -> None:
    await storage.insert_post(new_post("a"))
    await storage.insert_post(new_post("b"))
    job = await claim(storage, post_id="b")
    assert job.post_id == "b"
    assert await storage.claim_job("w1", now=T0, lease_until=T0 + LEASE, post_id="b") is None


async def test_concurrent_claims_never_hand_out_a_job_twice(storage: Storage) -> None:
    for i in range(40):
        await storage.insert_post(new_post(f"p{i}"))
    claims = await asyncio.gather(*(storage.claim_job(f"w{i}", now=T0, lease_until=T0 + LEASE) for i in range(60)))
    ids = [j.id for j in claims if j is not None]
    assert len(ids) == 40
    assert len(set(ids)) == 40


async def test_expired_lease_is_claimable_again_with_a_new_fencing_token(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    first = await claim(storage, owner="dead")
    await storage.save_checkpoint(lease_of(first), {"chunk": 3}, status=JobStatus.UPLOADING, now=T0,
                                  lease_until=T0 + LEASE)
    assert await storage.claim_job("w2", now=T0 + LEASE - timedelta(seconds=1),
                                   lease_until=T0 + 2 * LEASE) is None
    later = T0 + LEASE + timedelta(seconds=1)
    again = await claim(storage, owner="w2", now=later)
    assert again.id == first.id
    assert lease_of(again).token == lease_of(first).token + 1
    assert again.status is JobStatus.UPLOADING, "a taken-over job keeps its phase"
    assert again.checkpoint == {"chunk": 3}


async def test_a_save_that_need_not_be_durable_is_stored_like_any_other(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    job = await claim(storage)
    assert await storage.save_checkpoint(lease_of(job), {"next_chunk": 4}, status=JobStatus.UPLOADING, now=T0,
                                         lease_until=T0 + LEASE, durable=False)
    stored = await storage.get_job(job.id)
    assert stored is not None
    assert (stored.checkpoint, stored.status) == ({"next_chunk": 4}, JobStatus.UPLOADING)


async def test_a_heartbeat_pushes_the_lease_end_out(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    lease = lease_of(await claim(storage))
    assert await storage.extend_lease(lease, until=T0 + 3 * LEASE)
    job = await storage.get_job("p1-0")
    assert job is not None
    assert job.lease_until == T0 + 3 * LEASE
    later = T0 + 2 * LEASE
    assert await storage.claim_job("w2", now=later, lease_until=later + LEASE) is None


async def test_an_owner_does_not_take_over_its_own_running_job(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    await claim(storage, owner="w1")
    later = T0 + 2 * LEASE
    assert await storage.claim_job("w1", now=later, lease_until=later + LEASE) is None
    assert await storage.next_wakeup(owner="w1") is None
    assert await storage.next_wakeup(owner="w2") == T0 + LEASE


async def test_fencing_refuses_every_update_from_the_previous_holder(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    old = lease_of(await claim(storage, owner="paused"))
    later = T0 + LEASE + timedelta(seconds=1)
    new = lease_of(await claim(storage, owner="w2", now=later))
    assert not await storage.save_checkpoint(old, {"stale": True}, status=None, now=later, lease_until=later + LEASE)
    assert not await storage.extend_lease(old, until=later + LEASE)
    assert not await storage.release_job(old, status=JobStatus.QUEUED, run_at=later, attempts=1, now=later)
    assert not await storage.finish_job(old, status=JobStatus.PUBLISHED, now=later)
    assert await storage.save_checkpoint(new, {"fresh": True}, status=JobStatus.PROCESSING, now=later,
                                         lease_until=later + LEASE)
    job = await storage.get_job("p1-0")
    assert job is not None
    assert job.checkpoint == {"fresh": True}
    assert job.lease == new


async def test_same_owner_with_an_old_token_is_fenced_too(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    first = lease_of(await claim(storage, owner="w1"))
    await storage.release_job(first, status=JobStatus.QUEUED, run_at=T0, attempts=1, now=T0)
    second = lease_of(await claim(storage, owner="w1"))
    assert second.token == first.token + 1
    assert not await storage.finish_job(first, status=JobStatus.PUBLISHED, now=T0)
    assert await storage.finish_job(second, status=JobStatus.PUBLISHED, now=T0, publish_id="pub-1")


async def test_release_keeps_the_checkpoint_and_waits_until_run_at(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    lease = lease_of(await claim(storage))
    await storage.save_checkpoint(lease, {"publish_id": "v_1"}, status=JobStatus.UPLOADING, now=T0,
                                  lease_until=T0 + LEASE)
    retry_at = T0 + timedelta(seconds=30)
    error = ErrorInfo(code="server_error", message="503", retryable=True)
    assert await storage.release_job(lease, status=JobStatus.QUEUED, run_at=retry_at, attempts=1, now=T0,
                                     error=error, event=NewEvent(kind="retry", post_id="p1", job_id="p1-0"))
    job = await storage.get_job("p1-0")
    assert job is not None
    assert (job.status, job.run_at, job.attempts, job.error, job.lease) == (
        JobStatus.QUEUED, retry_at, 1, error, None)
    assert job.checkpoint == {"publish_id": "v_1"}
    assert await storage.next_wakeup() == retry_at
    assert await storage.claim_job("w1", now=T0, lease_until=T0 + LEASE) is None
    resumed = await claim(storage, now=retry_at)
    assert resumed.checkpoint == {"publish_id": "v_1"}
    assert resumed.attempts == 1


async def test_finish_records_the_result_and_the_job_is_never_claimed_again(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    lease = lease_of(await claim(storage))
    assert await storage.finish_job(lease, status=JobStatus.PUBLISHED, now=T0, publish_id="v_1",
                                    post_url="https://example.test/v_1", warnings=["w"])
    job = await storage.get_job("p1-0")
    assert job is not None
    assert (job.status, job.publish_id, job.post_url, job.warnings, job.finished_at) == (
        JobStatus.PUBLISHED, "v_1", "https://example.test/v_1", ("w",), T0)
    assert await storage.claim_job("w2", now=T0 + timedelta(days=1), lease_until=T0 + timedelta(days=2)) is None
    assert await storage.next_wakeup() is None


async def test_status_arguments_are_checked(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    lease = lease_of(await claim(storage))
    with pytest.raises(ValueError, match="terminal"):
        await storage.finish_job(lease, status=JobStatus.QUEUED, now=T0)
    with pytest.raises(ValueError, match="waits"):
        await storage.release_job(lease, status=JobStatus.PUBLISHED, run_at=T0, attempts=0, now=T0)
    with pytest.raises(ValueError, match="running"):
        await storage.save_checkpoint(lease, {}, status=JobStatus.PUBLISHED, now=T0, lease_until=T0)


async def test_blocked_jobs_wait_for_their_event_not_for_time(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    lease = lease_of(await claim(storage))
    assert await storage.release_job(lease, status=JobStatus.DEFERRED, run_at=T0, attempts=0, now=T0,
                                     blocked_on="account:fake:main")
    far = T0 + timedelta(days=30)
    assert await storage.claim_job("w1", now=far, lease_until=far + LEASE) is None
    assert await storage.next_wakeup() is None
    assert await storage.unblock_jobs("account:fake:other", now=T0) == 0
    assert await storage.unblock_jobs("account:fake:main", now=T0) == 1
    job = await claim(storage)
    assert job.id == "p1-0"
    assert job.blocked_on is None


async def test_cancel_stops_waiting_jobs_and_flags_running_ones(storage: Storage) -> None:
    await storage.insert_post(new_post("p1", targets=("fake:a", "fake:b")))
    running = await claim(storage)
    changed = await storage.cancel_post("p1", now=T0, event=NewEvent(kind="cancel_requested", post_id="p1"))
    assert {(j.id, j.status, j.cancel_requested) for j in changed} == {
        ("p1-0", JobStatus.VALIDATING, True), ("p1-1", JobStatus.CANCELLED, False)}
    lease = lease_of(running)
    assert not await storage.save_checkpoint(lease, {"x": 1}, status=None, now=T0, lease_until=T0 + LEASE), \
        "a save after a cancel request must fail so the worker stops"
    assert await storage.finish_job(lease, status=JobStatus.CANCELLED, now=T0)
    assert await storage.cancel_post("p1", now=T0) == [], "cancelling again changes nothing"


async def test_reschedule_moves_only_waiting_jobs(storage: Storage) -> None:
    later = T0 + timedelta(hours=2)
    await storage.insert_post(new_post("p1", targets=("fake:a", "fake:b"), run_at=later, status=JobStatus.SCHEDULED))
    moved_post = Post(content="hello", targets=[Target.parse("fake:a")], scheduled_at="2026-03-01T18:00:00Z")
    new_time = T0 + timedelta(hours=6)
    row = await storage.reschedule_post("p1", moved_post, new_time, now=T0)
    assert row is not None
    assert row.post.scheduled_at == "2026-03-01T18:00:00Z"
    assert {(j.status, j.run_at) for j in row.jobs} == {(JobStatus.SCHEDULED, new_time)}
    now_row = await storage.reschedule_post("p1", moved_post, T0, now=T0)
    assert now_row is not None
    assert {j.status for j in now_row.jobs} == {JobStatus.QUEUED}
    lease = lease_of(await claim(storage))
    await storage.finish_job(lease, status=JobStatus.PUBLISHED, now=T0)
    lease = lease_of(await claim(storage))
    await storage.finish_job(lease, status=JobStatus.FAILED, now=T0)
    assert await storage.reschedule_post("p1", moved_post, new_time, now=T0) is None


async def test_replace_post_only_while_every_job_is_scheduled(storage: Storage) -> None:
    later = T0 + timedelta(hours=2)
    await storage.insert_post(new_post("p1", run_at=later, status=JobStatus.SCHEDULED))
    edited = Post(content="edited", targets=[Target.parse("fake:a"), Target.parse("fake:b")])
    jobs = [NewJob(id=f"n{i}", target=Target.parse(t), status=JobStatus.SCHEDULED, run_at=later)
            for i, t in enumerate(("fake:a", "fake:b"))]
    row = await storage.replace_post("p1", edited, jobs, now=T0, event=NewEvent(kind="edited", post_id="p1"))
    assert row is not None
    assert row.post.content == "edited"
    assert [j.id for j in row.jobs] == ["n0", "n1"]
    await claim(storage, now=later)
    assert await storage.replace_post("p1", edited, jobs, now=later) is None
    assert await storage.replace_post("missing", edited, jobs, now=later) is None


async def test_list_posts_newest_first_and_by_status(storage: Storage) -> None:
    for i in range(3):
        new = new_post(f"p{i}")
        await storage.insert_post(NewPost(id=new.id, post=new.post, created_at=T0 + timedelta(seconds=i),
                                          jobs=new.jobs))
    lease = lease_of(await claim(storage, post_id="p1"))
    await storage.finish_job(lease, status=JobStatus.PUBLISHED, now=T0)
    assert [p.id for p in await storage.list_posts()] == ["p2", "p1", "p0"]
    assert [p.id for p in await storage.list_posts(limit=1)] == ["p2"]
    assert [p.id for p in await storage.list_posts(status=JobStatus.PUBLISHED)] == ["p1"]
    assert [p.id for p in await storage.list_posts(status=JobStatus.QUEUED)] == ["p2", "p0"]
    listed = (await storage.list_posts(status=JobStatus.PUBLISHED))[0]
    assert listed.jobs[0].status is JobStatus.PUBLISHED


async def test_next_wakeup_is_the_earliest_due_time(storage: Storage) -> None:
    assert await storage.next_wakeup() is None
    await storage.insert_post(new_post("a", run_at=T0 + timedelta(hours=3), status=JobStatus.SCHEDULED))
    await storage.insert_post(new_post("b", run_at=T0 + timedelta(hours=1), status=JobStatus.SCHEDULED))
    assert await storage.next_wakeup() == T0 + timedelta(hours=1)
    assert await storage.next_wakeup(post_id="a") == T0 + timedelta(hours=3)
