"""hub.plan: the dry run carries every warning the real run stores with the post."""

from __future__ import annotations

from crosspost.core.hub import Hub, TargetPlan
from crosspost.core.models import Post, Target
from tests.engine.engine_fakes import FakePlatform


def post(**options: object) -> Post:
    return Post(content="hello", targets=[Target.parse("fake:main")], target_options={"fake": dict(options)})


async def test_plan_carries_the_validation_warnings_the_real_run_stores(hub: Hub, platform: FakePlatform) -> None:
    platform.warnings = ("the title is cut to 90 characters",)

    [plan] = (await hub.plan(post(privacy="FRIENDS"))).values()
    record = await hub.publish(post(privacy="FRIENDS"))

    assert isinstance(plan, TargetPlan)
    assert set(record.targets[0].warnings) <= set(plan.warnings)
    assert plan.warnings == ("the title is cut to 90 characters", "privacy FRIENDS is shown as followers-only")


async def test_plan_carries_the_schedule_note(hub: Hub) -> None:
    spring_gap = Post(content="hello", targets=[Target.parse("fake:main")], scheduled_at="2026-03-08T02:30:00",
                      timezone="America/New_York")

    [plan] = (await hub.plan(spring_gap)).values()

    assert any("does not exist in America/New_York" in w for w in plan.warnings)
