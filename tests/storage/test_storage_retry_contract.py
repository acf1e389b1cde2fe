"""The storage contract for retrying a post's failed targets (``crosspost retry``), per backend."""

from __future__ import annotations

from datetime import timedelta

from crosspost.core.models import ErrorInfo, JobStatus
from crosspost.storage.base import NewEvent, Storage
from tests.storage.test_storage_jobs_contract import LEASE, T0, claim, lease_of, new_post


async def test_retry_failed_requeues_only_the_failed_jobs_keeping_their_checkpoint(storage: Storage) -> None:
    await storage.insert_post(new_post("p1", targets=("fake:a", "fake:b", "fake:c")))
    done = lease_of(await claim(storage))
    assert await storage.finish_job(done, status=JobStatus.PUBLISHED, now=T0, publish_id="ok-1")
    failed = lease_of(await claim(storage))
    assert await storage.save_checkpoint(failed, {"parts": ["1"]}, status=None, now=T0, lease_until=T0 + LEASE)
    assert await storage.finish_job(failed, status=JobStatus.FAILED, now=T0,
                                    error=ErrorInfo(code="http_422", message="refused"))
    running = await claim(storage)
    later = T0 + timedelta(minutes=5)
    queued = await storage.retry_failed("p1", now=later, event=NewEvent(kind="retry_requested", post_id="p1"))
    assert [(j.id, j.status, j.run_at, j.attempts, j.error) for j in queued] == [
        ("p1-1", JobStatus.QUEUED, later, 0, None)]
    assert queued[0].checkpoint == {"parts": ["1"]}
    row = await storage.get_post("p1")
    assert row is not None
    assert [(j.id, j.status) for j in row.jobs] == [
        ("p1-0", JobStatus.PUBLISHED), ("p1-1", JobStatus.QUEUED), (running.id, running.status)]
    assert row.jobs[0].publish_id == "ok-1"
    assert [e.kind for e in await storage.list_events(post_id="p1")][-1] == "retry_requested"
    again = await claim(storage, now=later)
    assert again.id == "p1-1"


async def test_retry_failed_changes_nothing_when_nothing_failed(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    assert await storage.retry_failed("p1", now=T0, event=NewEvent(kind="retry_requested", post_id="p1")) == []
    assert [e.kind for e in await storage.list_events(post_id="p1")] == []
    assert await storage.retry_failed("missing", now=T0) == []
