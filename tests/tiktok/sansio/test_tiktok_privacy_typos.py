"""A mistyped privacy level or option name: one problem per field, the creator's own levels, "did you mean"."""

from __future__ import annotations

import pytest

from crosspost.core.models import Post, Target
from crosspost.core.platform import for_platform
from crosspost.plugins.tiktok.validate import closest_privacy_level, validate_post
from tests.tiktok.sansio.test_tiktok_validate import (
    CREATOR,
    OPTS,
    PRIVATE_CREATOR,
    VERIFIED_DOMAIN,
    VIDEO_OPTIONS,
    check,
    local_video,
    only_problem,
    video_info,
)


@pytest.mark.parametrize(("typed", "meant"), [
    ("PUBLIC", "PUBLIC_TO_EVERYONE"),
    ("public_to_everyone", "PUBLIC_TO_EVERYONE"),
    ("self-only", "SELF_ONLY"),
    ("private", "SELF_ONLY"),
    ("friends", "MUTUAL_FOLLOW_FRIENDS"),
    ("PUBLIC_TO_EVRYONE", "PUBLIC_TO_EVERYONE"),
])
def test_a_privacy_typo_is_one_problem_with_did_you_mean_and_the_creators_options(typed: str, meant: str) -> None:
    message = only_problem(check([local_video()], options={**VIDEO_OPTIONS, "privacy_level": typed}),
                           f"{OPTS}.privacy_level")

    assert message == (f"{typed!r} is not a TikTok privacy level; did you mean '{meant}'? Choose one of this "
                       "creator's options: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY")


def test_a_privacy_typo_never_suggests_a_level_this_creator_does_not_offer() -> None:
    result = check([local_video()], options={**VIDEO_OPTIONS, "privacy_level": "PUBLIC", "allow_duet": False,
                                             "allow_stitch": False}, creator=PRIVATE_CREATOR)

    message = only_problem(result, f"{OPTS}.privacy_level")
    assert "did you mean" not in message
    assert message.endswith("this creator's options: FOLLOWER_OF_CREATOR, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY")


def test_a_privacy_level_of_the_wrong_type_is_one_problem() -> None:
    message = only_problem(check([local_video()], options={**VIDEO_OPTIONS, "privacy_level": 3}),
                           f"{OPTS}.privacy_level")

    assert message.startswith("3 is not a TikTok privacy level.")


def test_an_unknown_option_and_a_privacy_typo_are_both_reported_with_suggestions() -> None:
    options = {**VIDEO_OPTIONS, "privacy_level": "PUBLIC", "alow_comment": True}
    post = Post(content="hi", targets=[Target(platform="tiktok")], media=[local_video()],
                target_options={"tiktok": options})

    _, result = validate_post(for_platform(post, "tiktok"), CREATOR, [video_info()],
                              verified_domains=(VERIFIED_DOMAIN,), has_media_host=True, report_unknown=True)

    by_field = {p.field: p.message for p in result.problems}
    assert len(by_field) == len(result.problems), "one problem per field"
    assert set(by_field) == {f"{OPTS}.alow_comment", f"{OPTS}.privacy_level"}
    assert "did you mean 'allow_comment'?" in by_field[f"{OPTS}.alow_comment"]
    assert "did you mean 'PUBLIC_TO_EVERYONE'?" in by_field[f"{OPTS}.privacy_level"]


def test_closest_privacy_level_gives_up_on_nonsense() -> None:
    assert closest_privacy_level("banana", CREATOR.privacy_level_options) is None
    assert closest_privacy_level("", CREATOR.privacy_level_options) is None


