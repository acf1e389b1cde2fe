"""What each platform error does to a job: retry with backoff, fail, defer, park, wait for a login."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.engine import RetryPolicy
from crosspost.core.errors import (
    AuthError,
    DailyCapReached,
    InvalidPost,
    PermanentError,
    RateLimited,
    TransientError,
    UncertainOutcome,
)
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage.base import JobRow
from tests.engine.conftest import T0, HubFactory
from tests.engine.engine_fakes import FakePlatform, Recorder, raising


def post(content: str, **changes: object) -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")], **changes)  # type: ignore[arg-type]


async def job_of(hub: Hub, post_id: str) -> JobRow:
    row = await hub.storage.get_post(post_id)
    assert row is not None
    return row.jobs[0]


async def test_transient_error_is_retried_after_a_jittered_backoff(hub: Hub, platform: FakePlatform,
                                                                  clock: FakeClock) -> None:
    platform.script("flaky", raising(TransientError("upstream answered 503")))
    record = await hub.publish(post("flaky"))
    assert record.status is JobStatus.PUBLISHED
    assert len(platform.calls_for("flaky")) == 2
    job = await job_of(hub, record.id)
    assert job.attempts == 1
    retry = [e for e in await hub.events(record.id) if e.kind == "retry"]
    assert len(retry) == 1
    waited = (clock.now() - T0).total_seconds()
    assert 0 <= waited <= 4.0 + 1.0, "the first delay is drawn from [0, base)"


async def test_retries_stop_after_the_attempt_bound_with_the_reason(hub: Hub, platform: FakePlatform,
                                                                   recorder: Recorder) -> None:
    platform.script("down", *[raising(TransientError("upstream answered 503"))] * 10)
    record = await hub.publish(post("down"))
    assert record.status is JobStatus.FAILED
    assert len(platform.calls_for("down")) == 4
    error = record.targets[0].error
    assert error is not None
    assert "upstream answered 503" in error.message
    assert "gave up after 4 attempt(s)" in error.message
    assert recorder.kinds()[-1] == "target_failed"


async def test_retries_stop_once_the_total_time_bound_is_spent(open_hub: HubFactory, platform: FakePlatform) -> None:
    policy = RetryPolicy(base=100.0, cap=100.0, max_attempts=50, max_elapsed=150.0)
    async with open_hub(retry=policy, rng=random.Random(3)) as hub:
        await hub.accounts.add(Account(platform="fake", name="main"))
        platform.script("slow", *[raising(TransientError("timeout"))] * 50)
        record = await hub.publish(post("slow"))
    assert record.status is JobStatus.FAILED
    assert 1 < len(platform.calls_for("slow")) < 10


async def test_rate_limited_waits_at_least_retry_after(hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    platform.script("busy", raising(RateLimited("rate_limit_exceeded", retry_after=120.0)))
    record = await hub.publish(post("busy"))
    assert record.status is JobStatus.PUBLISHED
    assert clock.now() - T0 >= timedelta(seconds=120)
    started = [e.at for e in await hub.events(record.id) if e.kind == "started"]
    assert started[1] - started[0] >= timedelta(seconds=120)


async def test_permanent_error_fails_at_once_with_the_platforms_reason(hub: Hub, platform: FakePlatform) -> None:
    platform.script("bad", raising(PermanentError("privacy_level_option_mismatch", code="privacy_level_option_mismatch",
                                                  hint="Pick one of the creator's privacy options.")))
    record = await hub.publish(post("bad"))
    assert record.status is JobStatus.FAILED
    assert len(platform.calls_for("bad")) == 1
    error = record.targets[0].error
    assert error is not None
    assert error.code == "privacy_level_option_mismatch"
    assert "Pick one of the creator's privacy options." in error.message


async def test_daily_cap_defers_the_job_instead_of_failing_or_looping(hub: Hub, platform: FakePlatform,
                                                                     clock: FakeClock) -> None:
    reopens = T0 + timedelta(hours=20)
    platform.script("capped", raising(DailyCapReached("spam_risk_too_many_posts", not_before=reopens)))
    record = await hub.publish(post("capped"))
    assert record.status is JobStatus.DEFERRED
    assert record.run_at == reopens
    error = record.targets[0].error
    assert error is not None
    assert "spam_risk_too_many_posts" in error.message
    await hub.run_worker(until_idle=True)
    assert len(platform.calls_for("capped")) == 1, "a deferred job is not retried before its time"
    assert clock.now() < reopens
    clock.advance((reopens - clock.now()).total_seconds())
    await hub.run_worker(until_idle=True)
    final = await hub.get(record.id)
    assert final.status is JobStatus.PUBLISHED
    assert len(platform.calls_for("capped")) == 2
    assert (await job_of(hub, record.id)).attempts == 0, "a deferral is not a failed attempt"


async def test_uncertain_outcome_is_parked_and_never_retried(hub: Hub, platform: FakePlatform,
                                                            recorder: Recorder) -> None:
    platform.script("unsure", raising(UncertainOutcome("init sent, no answer; check the creator's profile"),
                                      save={"intent": "init"}))
    record = await hub.publish(post("unsure"))
    assert record.status is JobStatus.UNCERTAIN
    await hub.run_worker(until_idle=True)
    assert len(platform.calls_for("unsure")) == 1
    kind, _, result = recorder.events[-1]
    assert kind == "target_failed"
    assert result.status is JobStatus.UNCERTAIN


async def test_dead_login_flags_the_account_and_its_jobs_wait_until_it_is_updated(
        hub: Hub, platform: FakePlatform) -> None:
    platform.script("first", raising(AuthError("refresh token revoked", needs_login=True)))
    first = await hub.submit(post("first"))
    second = await hub.submit(post("second"))
    await hub.run_worker(until_idle=True, concurrency=1)
    assert (await hub.accounts.get("fake", "main")).needs_login
    assert [r.status for r in (await hub.get(first.id), await hub.get(second.id))] == [JobStatus.DEFERRED] * 2
    assert platform.calls_for("second") == [], "the other job waits instead of failing"
    error = (await hub.get(second.id)).targets[0].error
    assert error is not None
    assert error.code == "needs_login"

    account = await hub.accounts.get("fake", "main")
    await hub.accounts.update(Account(platform="fake", name="main", secrets={"access_token": "act.NEW"},
                                      version=account.version))
    await hub.run_worker(until_idle=True)
    assert (await hub.get(first.id)).status is JobStatus.PUBLISHED
    assert (await hub.get(second.id)).status is JobStatus.PUBLISHED


async def test_auth_error_without_login_problem_fails(hub: Hub, platform: FakePlatform) -> None:
    platform.script("scope", raising(AuthError("scope_not_authorized: video.publish missing")))
    record = await hub.publish(post("scope"))
    assert record.status is JobStatus.FAILED
    assert not (await hub.accounts.get("fake", "main")).needs_login


async def test_a_post_for_an_account_needing_login_is_refused_before_storing(hub: Hub) -> None:
    await hub.accounts.mark_needs_login("fake", "main", "revoked")
    with pytest.raises(InvalidPost, match="needs a new login"):
        await hub.submit(post("x"))


async def test_a_cap_found_while_checking_stores_the_post_deferred(hub: Hub, platform: FakePlatform) -> None:
    platform.validate_error = DailyCapReached("spam_risk_too_many_posts", not_before=T0 + timedelta(hours=3))
    record = await hub.submit(post("later"))
    assert record.status is JobStatus.DEFERRED
    assert record.run_at == T0 + timedelta(hours=3)
