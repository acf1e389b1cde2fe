"""The storage contract for platform events: finding a job by its publish id, hurrying a waiting one."""

from __future__ import annotations

from datetime import timedelta

from crosspost.core.models import JobStatus
from crosspost.storage.base import NewEvent, Storage
from tests.storage.test_storage_jobs_contract import LEASE, T0, claim, lease_of, new_post


async def test_a_saved_publish_id_finds_its_job_while_it_is_still_processing(storage: Storage) -> None:
    await storage.insert_post(new_post("p1"))
    job = await claim(storage)
    assert await storage.find_job_by_publish_id("v_1") is None
    assert await storage.save_checkpoint(lease_of(job), {"sealed": "x"}, status=JobStatus.PROCESSING, now=T0,
                                         lease_until=T0 + LEASE, publish_id="v_1")
    assert await storage.save_checkpoint(lease_of(job), {"sealed": "y"}, status=None, now=T0,
                                         lease_until=T0 + LEASE)
    found = await storage.find_job_by_publish_id("v_1")
    assert found is not None
    assert (found.id, found.status, found.publish_id) == ("p1-0", JobStatus.PROCESSING, "v_1")


async def test_hurry_job_makes_a_waiting_job_due_now_and_leaves_a_leased_one_alone(storage: Storage) -> None:
    later = T0 + timedelta(hours=3)
    await storage.insert_post(new_post("p1", run_at=later, status=JobStatus.SCHEDULED))
    event = NewEvent(kind="platform_event", post_id="p1", job_id="p1-0")
    assert await storage.hurry_job("p1-0", now=T0, event=event)
    hurried = await storage.get_job("p1-0")
    assert hurried is not None
    assert (hurried.run_at, hurried.status) == (T0, JobStatus.SCHEDULED)
    assert not await storage.hurry_job("p1-0", now=T0), "already due"
    leased = await claim(storage)
    assert not await storage.hurry_job("p1-0", now=T0 + timedelta(seconds=1), event=event)
    after = await storage.get_job("p1-0")
    assert after is not None
    assert (after.status, after.lease, after.run_at) == (leased.status, leased.lease, leased.run_at)
    assert [e.kind for e in await storage.list_events(job_id="p1-0")] == ["platform_event", "platform_event"]
