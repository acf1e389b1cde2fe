"""FakeJobContext and its in-memory rate gate and account access behave like the engine's."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import Cancelled
from crosspost.core.models import JobStatus, Target
from crosspost.core.platform import AccountAccess, JobContext, RateGate
from crosspost.testing.context import (
    AccountChanged,
    FakeJobContext,
    MemoryAccountAccess,
    MemoryRateGate,
    isolated_settings,
)

TARGET = Target(platform="example", account="main")


@pytest.fixture
def http(crosspost_http: aiohttp.ClientSession) -> aiohttp.ClientSession:
    return crosspost_http


def protocol_members(protocol: type) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")} | set(protocol.__annotations__)


def test_the_fakes_have_every_member_of_the_engine_protocols(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    # Annotated with the protocols so mypy checks the signatures too.
    ctx: JobContext = FakeJobContext(target=TARGET, http=http, clock=clock)
    rate: RateGate = MemoryRateGate(clock)
    access: AccountAccess = MemoryAccountAccess(Account(platform="example", name="main"))

    for fake, protocol in ((ctx, JobContext), (rate, RateGate), (access, AccountAccess)):
        assert {m for m in protocol_members(protocol) if not hasattr(fake, m)} == set(), protocol.__name__


async def test_saves_are_recorded_as_json_and_become_the_checkpoint(http: aiohttp.ClientSession) -> None:
    ctx = FakeJobContext(target=TARGET, http=http)
    ids = ["m1"]

    await ctx.save({"media_ids": ids}, status=JobStatus.UPLOADING)
    ids.append("changed later")
    await ctx.save({"media_ids": ("m1", "m2"), "post_id": None})

    assert ctx.checkpoint == {"media_ids": ["m1", "m2"], "post_id": None}
    assert [s.checkpoint for s in ctx.saves] == [{"media_ids": ["m1"]}, ctx.checkpoint]
    assert ctx.statuses == [JobStatus.UPLOADING]


async def test_a_checkpoint_storage_could_not_keep_is_refused(http: aiohttp.ClientSession) -> None:
    ctx = FakeJobContext(target=TARGET, http=http)

    with pytest.raises(TypeError, match="JSON values only"):
        await ctx.save({"when": datetime(2026, 1, 1)})
    assert ctx.saves == []


async def test_cancel_at_save_raises_from_that_save_on_and_stores_nothing_more(http: aiohttp.ClientSession) -> None:
    seen: list[int] = []
    ctx = FakeJobContext(target=TARGET, http=http, cancel_at_save=1, on_save=lambda i, _: seen.append(i))

    await ctx.save({"step": 1})
    with pytest.raises(Cancelled):
        await ctx.save({"step": 2})
    with pytest.raises(Cancelled):
        await ctx.save({"step": 3})

    assert seen == [0, 1, 2]
    assert ctx.checkpoint == {"step": 1}


async def test_the_next_attempt_starts_from_the_last_checkpoint_with_the_same_account(
        http: aiohttp.ClientSession, tmp_path: Path) -> None:
    account = Account(platform="example", name="main", secrets={"access_token": "t"})
    ctx = FakeJobContext(target=TARGET, http=http, account=account, settings=isolated_settings(tmp_path),
                         job_id="job-9")
    await ctx.save({"post_id": "p1"})
    ctx.warn("first attempt")

    again = ctx.next_attempt()

    assert (again.checkpoint, again.job_id, again.account, again.rate) == ({"post_id": "p1"}, "job-9",
                                                                           ctx.account, ctx.rate)
    assert (again.saves, again.warnings) == ([], [])


async def test_progress_warnings_and_media_hosting_are_recorded(http: aiohttp.ClientSession) -> None:
    async def host(path: str) -> str:
        return f"https://cdn.invalid/{Path(path).name}"

    ctx = FakeJobContext(target=TARGET, http=http, media_host=host)
    ctx.progress(5, 10)
    ctx.warn("comments are off for this account")

    assert await ctx.host_media("/tmp/a.jpg") == "https://cdn.invalid/a.jpg"
    assert (ctx.progress_reports, ctx.warnings, ctx.hosted) == (
        [(5, 10)], ["comments are off for this account"], ["/tmp/a.jpg"])
    assert await FakeJobContext(target=TARGET, http=http).host_media("/tmp/a.jpg") is None


async def test_the_rate_gate_waits_out_a_sliding_window_on_the_fake_clock() -> None:
    clock = FakeClock()
    gate = MemoryRateGate(clock)

    for _ in range(3):
        await gate.acquire("k", limit=2, window=60)
        clock.advance(10)
    await gate.acquire("other", limit=2, window=60)

    assert clock.slept == [40.0]
    assert gate.keys == ["k", "k", "k", "other"]


async def test_account_updates_are_version_checked_and_login_marks_stick() -> None:
    access = MemoryAccountAccess(Account(platform="example", name="main", secrets={"access_token": "old"}))
    read = await access.get()

    stored = await access.update(Account(platform="example", name="main", secrets={"access_token": "new"}))
    with pytest.raises(AccountChanged, match="changed since it was read"):
        await access.update(read)
    await access.mark_needs_login("token revoked")

    assert stored.version == 1
    assert (access.account.needs_login, access.account.secrets, access.login_reasons) == (
        True, {"access_token": "new"}, ["token revoked"])


async def test_the_account_lock_is_single_flight() -> None:
    access = MemoryAccountAccess(Account(platform="example", name="main"))
    order: list[str] = []

    async def refresh(name: str) -> None:
        async with access.lock():
            order.append(f"{name} in")
            await asyncio.sleep(0)
            order.append(f"{name} out")

    await asyncio.gather(refresh("a"), refresh("b"))

    assert order == ["a in", "a out", "b in", "b out"]
