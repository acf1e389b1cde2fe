"""Every problem at once, one per field: the platform's own checks run even when generic ones fail."""

from __future__ import annotations

import pytest

from crosspost.core.errors import DailyCapReached, InvalidPost, Problem, TransientError, one_per_field
from crosspost.core.hub import Hub
from crosspost.core.models import Post, Target
from tests.engine.engine_fakes import FakePlatform

PRIVACY = "target_options.fake.privacy"


def post(**options: object) -> Post:
    return Post(content="hello", targets=[Target.parse("fake:main")], target_options={"fake": dict(options)})


async def test_an_unknown_option_does_not_hide_the_platforms_problem_with_another_field(
        hub: Hub, platform: FakePlatform) -> None:
    platform.problems = [Problem(field=PRIVACY, message="'PUBLIC' is not offered; did you mean 'PUBLIC_ALL'?")]

    with pytest.raises(InvalidPost) as caught:
        await hub.submit(post(colour="red", privacy="PUBLIC"))

    assert [p.field for p in caught.value.problems] == ["target_options.fake.colour", PRIVACY]
    assert platform.validate_calls == ["hello"]


async def test_a_field_both_checks_report_gets_one_problem_the_platforms(hub: Hub, platform: FakePlatform) -> None:
    platform.problems = [Problem(field="content", message="50 is this account's limit: 60 characters given")]

    with pytest.raises(InvalidPost) as caught:
        await hub.submit(Post(content="x" * 60, targets=[Target.parse("fake:main")]))

    assert [str(p) for p in caught.value.problems] == ["content: 50 is this account's limit: 60 characters given"]


async def test_a_platform_that_cannot_be_asked_does_not_hide_the_generic_problems(
        hub: Hub, platform: FakePlatform) -> None:
    platform.validate_error = TransientError("creator info answered 503")

    with pytest.raises(InvalidPost) as caught:
        await hub.submit(post(colour="red"))

    assert [p.field for p in caught.value.problems] == ["target_options.fake.colour"]


async def test_a_posting_cap_does_not_defer_a_post_that_has_problems(hub: Hub, platform: FakePlatform) -> None:
    platform.validate_error = DailyCapReached("too many posts today")

    with pytest.raises(InvalidPost):
        await hub.submit(post(colour="red"))

    assert await hub.list_posts() == []


def test_one_per_field_keeps_the_general_order_and_appends_the_rest() -> None:
    general = [Problem(field="a", message="general a"), Problem(field="b", message="general b")]
    specific = [Problem(field="c", message="specific c"), Problem(field="a", message="specific a")]

    merged = one_per_field(general, specific)

    assert [str(p) for p in merged] == ["a: specific a", "b: general b", "c: specific c"]
