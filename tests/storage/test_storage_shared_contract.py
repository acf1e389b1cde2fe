"""The storage contract for accounts, the event log, rate windows, locks and durability."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage import open_storage
from crosspost.storage.base import AccountRow, NewEvent, NewJob, NewPost, Storage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def account(name: str = "main", *, version: int = 1, blob: bytes = b"\x01sealed") -> AccountRow:
    return AccountRow(platform="fake", name=name, secrets=blob, profile={"username": name}, scopes=("video.publish",),
                      access_expires_at=T0 + timedelta(hours=2), refresh_expires_at=T0 + timedelta(days=180),
                      version=version, created_at=T0, updated_at=T0)


async def test_accounts_insert_get_list_and_delete(storage: Storage) -> None:
    assert await storage.insert_account(account("main"))
    assert not await storage.insert_account(account("main")), "a second insert of the same account is refused"
    await storage.insert_account(account("alt"))
    row = await storage.get_account("fake", "main")
    assert row == account("main")
    assert [r.name for r in await storage.list_accounts()] == ["alt", "main"]
    assert await storage.list_accounts("other") == []
    assert await storage.delete_account("fake", "alt")
    assert not await storage.delete_account("fake", "alt")
    assert await storage.get_account("fake", "alt") is None


async def test_account_updates_are_version_checked(storage: Storage) -> None:
    await storage.insert_account(account())
    assert await storage.update_account(account(version=2, blob=b"\x01new"), expected_version=1)
    assert not await storage.update_account(account(version=2, blob=b"\x01lost"), expected_version=1)
    row = await storage.get_account("fake", "main")
    assert row is not None
    assert (row.version, row.secrets) == (2, b"\x01new")


async def test_needs_login_flag_bumps_the_version(storage: Storage) -> None:
    await storage.insert_account(account())
    assert await storage.set_needs_login("fake", "main", "refresh token revoked", now=T0)
    row = await storage.get_account("fake", "main")
    assert row is not None
    assert row.needs_login
    assert row.login_reason == "refresh token revoked"
    assert row.version == 2
    assert not await storage.set_needs_login("fake", "nobody", "x", now=T0)


async def test_event_log_keeps_order_and_filters(storage: Storage) -> None:
    await storage.add_event(NewEvent(kind="submitted", post_id="p1", data={"targets": ["fake:main"]}), now=T0)
    await storage.add_event(NewEvent(kind="started", post_id="p1", job_id="j1"), now=T0 + timedelta(seconds=1))
    await storage.add_event(NewEvent(kind="submitted", post_id="p2"), now=T0)
    events = await storage.list_events(post_id="p1")
    assert [(e.kind, e.job_id) for e in events] == [("submitted", None), ("started", "j1")]
    assert events[0].data == {"targets": ["fake:main"]}
    assert events[1].at == T0 + timedelta(seconds=1)
    assert [e.kind for e in await storage.list_events(job_id="j1")] == ["started"]


async def test_rate_window_admits_at_most_limit_and_says_when_a_slot_frees(storage: Storage) -> None:
    for i in range(3):
        assert await storage.try_acquire_rate("tok:init", limit=3, window=60, now=T0 + timedelta(seconds=i)) == 0.0
    wait = await storage.try_acquire_rate("tok:init", limit=3, window=60, now=T0 + timedelta(seconds=10))
    assert wait == 50.0, "the first call leaves the window 60 s after it was made"
    assert await storage.rate_usage("tok:init", window=60, now=T0 + timedelta(seconds=10)) == 3
    assert await storage.try_acquire_rate("other", limit=3, window=60, now=T0) == 0.0, "keys are independent"
    assert await storage.try_acquire_rate("tok:init", limit=3, window=60, now=T0 + timedelta(seconds=60)) == 0.0
    assert await storage.rate_usage("tok:init", window=60, now=T0 + timedelta(seconds=60)) == 3


async def test_a_call_with_a_stale_clock_counts_at_the_latest_recorded_instant(storage: Storage) -> None:
    def at(seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    for _ in range(2):
        assert await storage.try_acquire_rate("k", limit=2, window=60, now=at(0)) == 0.0
    assert await storage.try_acquire_rate("k", limit=2, window=60, now=at(60)) == 0.0
    # This caller read its clock at 1 s, then waited for the database: it counts as calling at 60 s.
    assert await storage.try_acquire_rate("k", limit=2, window=60, now=at(1)) == 0.0
    assert await storage.rate_usage("k", window=60, now=at(61)) == 2
    assert await storage.try_acquire_rate("k", limit=2, window=60, now=at(61)) > 0, \
        "two calls are already recorded within the last 60 s"


async def test_locks_have_one_holder_until_released_or_expired(storage: Storage) -> None:
    until = T0 + timedelta(seconds=30)
    assert await storage.try_lock("account:fake:main", "a", until=until, now=T0)
    assert not await storage.try_lock("account:fake:main", "b", until=until, now=T0)
    assert await storage.try_lock("account:fake:main", "a", until=until, now=T0), "the holder may renew"
    await storage.unlock("account:fake:main", "b")
    assert not await storage.try_lock("account:fake:main", "b", until=until, now=T0), "only the holder unlocks"
    await storage.unlock("account:fake:main", "a")
    assert await storage.try_lock("account:fake:main", "b", until=until, now=T0)
    assert await storage.try_lock("account:fake:main", "c", until=until + timedelta(seconds=60), now=until), \
        "an expired lock (dead holder) is taken over"


async def test_everything_survives_closing_and_reopening(storage_url: str) -> None:
    first = await open_storage(storage_url)
    post = Post(content="kept", targets=[Target.parse("fake:main")], idempotency_key="k1")
    job = NewJob(id="j1", target=Target.parse("fake:main"), status=JobStatus.QUEUED, run_at=T0)
    await first.insert_post(NewPost(id="p1", post=post, created_at=T0, jobs=(job,)))
    claimed = await first.claim_job("w1", now=T0, lease_until=T0 + timedelta(seconds=60))
    assert claimed is not None
    assert claimed.lease is not None
    await first.save_checkpoint(claimed.lease, {"publish_id": "v_1", "next_chunk": 2}, status=JobStatus.UPLOADING,
                                now=T0, lease_until=T0 + timedelta(seconds=60))
    await first.insert_account(account())
    await first.try_acquire_rate("tok", limit=1, window=60, now=T0)
    await first.close()

    second = await open_storage(storage_url)
    try:
        assert await second.pending_migrations() == []
        row = await second.get_post("p1")
        assert row is not None
        assert row.post == post
        assert row.jobs[0].checkpoint == {"publish_id": "v_1", "next_chunk": 2}
        assert row.jobs[0].status is JobStatus.UPLOADING
        assert row.jobs[0].lease == claimed.lease
        assert await second.get_account("fake", "main") == account()
        assert await second.try_acquire_rate("tok", limit=1, window=60, now=T0) > 0
    finally:
        await second.close()


async def test_two_connections_share_rate_windows_like_two_processes(storage_url: str) -> None:
    one, two = await open_storage(storage_url), await open_storage(storage_url)
    try:
        admitted = 0
        for i in range(10):
            gate = one if i % 2 else two
            admitted += await gate.try_acquire_rate("shared", limit=4, window=60, now=T0 + timedelta(seconds=i)) == 0
        assert admitted == 4
    finally:
        await one.close()
        await two.close()


async def test_concurrent_calls_from_two_connections_admit_exactly_the_limit(storage_url: str) -> None:
    """Check-and-record is one step per key: calls racing from two pools never admit a sixth."""
    one, two = await open_storage(storage_url), await open_storage(storage_url)
    try:
        waits = await asyncio.gather(*(
            (one if i % 2 else two).try_acquire_rate("raced", limit=5, window=60, now=T0) for i in range(24)))
        assert sum(wait == 0.0 for wait in waits) == 5
        assert all(wait == 60.0 for wait in waits if wait), "each refused call waits for the first to leave"
        assert await one.rate_usage("raced", window=60, now=T0) == 5
    finally:
        await one.close()
        await two.close()
