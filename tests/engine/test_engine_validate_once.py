"""Validate once per attempt: the engine hands the platform its own validation as ctx.validation."""

from __future__ import annotations

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


async def test_a_stored_post_run_later_is_validated_again_at_its_run(hub: Hub, platform: FakePlatform) -> None:
    await hub.submit(post("later"))
    await hub.run_worker(until_idle=True)

    assert platform.validate_calls == ["later", "later"], "at submit, then at the run (settings may have changed)"
    [seen] = platform.seen_validations
    assert seen is not None
    assert seen.value == "check 2 of later"


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
