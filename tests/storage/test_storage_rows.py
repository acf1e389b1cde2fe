"""Storage owns its rows: one mapper for both backends, stored posts read without user-edge checks."""

from __future__ import annotations

from datetime import UTC, datetime

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
