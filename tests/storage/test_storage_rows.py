"""Storage owns its rows: one mapper for both backends, stored posts read without user-edge checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.core import convert
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.storage import rows
from crosspost.storage.base import NewJob, NewPost, Storage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POST = Post(content="stored #once", targets=[Target.parse("fake:main"), Target(platform="open")],
            media=[Media(type=MediaKind.VIDEO, path="/media/v.mp4", alt="a clip"),
                   Media(type=MediaKind.IMAGE, url="https://cdn.example/p.jpg")],
            scheduled_at="2026-03-02T09:00", timezone="Europe/Paris", idempotency_key="k1",
            target_options={"fake": {"privacy": "FRIENDS", "nested": {"a": [1, 2]}}})


def test_the_stored_body_is_the_request_shape_users_write() -> None:
    # Stored rows written before the split, and exported files, stay readable both ways.
    assert rows.post_value(POST) == convert.post_to_dict(POST)
    assert convert.post_from_dict(rows.post_value(POST)) == POST


def test_a_stored_body_reads_back_equal() -> None:
    assert rows.post_from_value(rows.post_value(POST)) == POST


async def test_reading_a_stored_post_never_runs_the_user_converter(
        storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = tuple(NewJob(id=f"j{i}", target=t, status=JobStatus.QUEUED, run_at=T0) for i, t in enumerate(POST.targets))
    await storage.insert_post(NewPost(id="p1", post=POST, created_at=T0, jobs=jobs))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("storage re-validated a stored post through the user-facing converter")

    monkeypatch.setattr(convert, "post_from_dict", refuse)
    monkeypatch.setattr(convert, "user_converter", refuse)

    row = await storage.get_post("p1")

    assert row is not None
    assert row.post == POST
    assert [j.target for j in row.jobs] == list(POST.targets)


def new_post(post_id: str = "p1") -> NewPost:
    jobs = tuple(NewJob(id=f"{post_id}-j{i}", target=t, status=JobStatus.QUEUED, run_at=T0, warnings=("w",))
                 for i, t in enumerate(POST.targets))
    return NewPost(id=post_id, post=POST, created_at=T0, jobs=jobs)


async def test_insert_returns_exactly_what_a_read_gives_without_reading_back(storage: Storage) -> None:
    inserted, created = await storage.insert_post(new_post())

    assert created
    assert inserted == await storage.get_post("p1")


async def test_a_post_body_is_one_read_without_jobs(storage: Storage) -> None:
    await storage.insert_post(new_post())

    assert await storage.get_post_body("p1") == POST
    assert await storage.get_post_body("nope") is None


async def test_a_claim_can_log_its_start_in_the_same_write(storage: Storage) -> None:
    await storage.insert_post(new_post())

    job = await storage.claim_job("w1", now=T0, lease_until=T0 + timedelta(seconds=60), log_start=True)

    assert job is not None
    assert job.lease is not None
    [event] = [e for e in await storage.list_events(job_id=job.id)]
    assert (event.kind, event.post_id, event.at) == ("started", "p1", T0)
    assert event.data == {"owner": "w1", "token": job.lease.token, "resumed": False}


async def test_a_claim_logs_nothing_unless_asked_or_when_nothing_is_due(storage: Storage) -> None:
    await storage.insert_post(new_post())

    assert await storage.claim_job("w1", now=T0, lease_until=T0 + timedelta(seconds=60)) is not None
    assert await storage.claim_job("w1", now=T0 - timedelta(days=1), lease_until=T0, log_start=True) is None
    assert await storage.list_events(post_id="p1") == []
