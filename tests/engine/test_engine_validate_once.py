"""Validate once per attempt: the engine hands the platform its own validation as ctx.validation."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.engine.validation import FRESH_FOR, REMEMBERED, Preparer
from crosspost.core.errors import TransientError
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from tests.engine.engine_fakes import FakePlatform, raising


def post(content: str) -> Post:
    return Post(content=content, targets=[Target.parse("fake:main")])


async def test_publish_validates_once_and_hands_the_result_to_publish(hub: Hub, platform: FakePlatform) -> None:
    record = await hub.publish(post("once"))

    assert record.status is JobStatus.PUBLISHED
    assert platform.validate_calls == ["once"]
    [seen] = platform.seen_validations
    assert seen is not None
    assert seen.value == "check 1 of once"


async def test_a_due_post_run_soon_by_a_worker_of_the_same_process_is_validated_once(
        hub: Hub, platform: FakePlatform) -> None:
    await hub.submit(post("soon"))
    await hub.run_worker(until_idle=True)

    assert platform.validate_calls == ["soon"], "the submission's check stands in for the run's"
    [seen] = platform.seen_validations
    assert seen is not None
    assert seen.value == "check 1 of soon"


async def test_a_run_that_reuses_the_submission_check_does_not_read_the_stored_post(
        hub: Hub, platform: FakePlatform, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    read = hub.storage.get_post_body

    async def counted(post_id: str) -> Post | None:
        reads.append(post_id)
        return await read(post_id)

    monkeypatch.setattr(hub.storage, "get_post_body", counted)
    soon = await hub.submit(post("soon"))
    await hub.run_worker(until_idle=True)
    assert reads == [], "the kept check carries the post as the platform publishes it"

    later = await hub.submit(post("later"))
    clock.advance(FRESH_FOR + 1)
    await hub.run_worker(until_idle=True)
    assert reads == [later.id], "no kept check: the run reads the stored post"
    assert [r.status for r in (await hub.get(soon.id), await hub.get(later.id))] == [JobStatus.PUBLISHED] * 2
    assert [content for _, content, _ in platform.publish_calls] == ["soon", "later"]


async def test_a_stored_post_run_later_is_validated_again_at_its_run(
        hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    await hub.submit(post("later"))
    clock.advance(FRESH_FOR + 1)
    await hub.run_worker(until_idle=True)

    assert platform.validate_calls == ["later", "later"], "at submit, then at the run (settings may have changed)"
    [seen] = platform.seen_validations
    assert seen is not None
    assert seen.value == "check 2 of later"


async def test_a_scheduled_post_is_validated_again_at_its_time(
        hub: Hub, platform: FakePlatform, clock: FakeClock) -> None:
    await hub.submit(attrs.evolve(post("scheduled"), scheduled_at=(clock.now() + timedelta(seconds=5)).isoformat()))
    clock.advance(10)
    await hub.run_worker(until_idle=True)

    assert platform.validate_calls == ["scheduled", "scheduled"], "only a due post's check is kept for its run"


def test_a_process_that_only_submits_keeps_a_bounded_number_of_checks(
        hub: Hub, clock: FakeClock) -> None:
    preparer = Preparer(hub._rt, lambda platform, target, account: None)  # type: ignore[arg-type,return-value]
    kept = attrs.make_class("Kept", [])()
    for index in range(REMEMBERED + 10):
        preparer.remember(f"job{index}", kept)  # type: ignore[arg-type]
    assert preparer.take("job0") is None, "the oldest went first"
    assert preparer.take(f"job{REMEMBERED + 9}") is kept
    clock.advance(FRESH_FOR + 1)
    preparer.remember("late", kept)  # type: ignore[arg-type]
    assert list(preparer._fresh) == ["late"], "expired checks are dropped when another is kept"


async def test_each_attempt_validates_once(hub: Hub, platform: FakePlatform) -> None:
    platform.script("retry", raising(TransientError("busy")))

    record = await hub.publish(post("retry"))

    assert record.status is JobStatus.PUBLISHED
    assert platform.validate_calls == ["retry", "retry"], "submission (reused by attempt 1), then attempt 2"
    assert [v.value if v else None for v in platform.seen_validations] == ["check 1 of retry", "check 2 of retry"]


async def test_a_resumed_job_is_not_judged_again_and_says_so(hub: Hub, platform: FakePlatform) -> None:
    platform.script("resume", raising(TransientError("reset"), save={"publish_id": "p1"}))

    await hub.publish(post("resume"))

    assert platform.validate_calls == ["resume"]
    assert platform.seen_validations[1] is None, "a checkpointed job resumes without a validation"


async def test_plan_receives_the_validation_of_its_own_check(hub: Hub, platform: FakePlatform) -> None:
    await hub.plan(post("dry"))

    assert platform.validate_calls == ["dry"]
    [planned] = platform.planned_with
    assert planned is not None
    assert planned.value == "check 1 of dry"
