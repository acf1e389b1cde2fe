"""target_options.tiktok: names users know, typed problems naming what is accepted, aliases, no defaults."""

from __future__ import annotations

import pytest

from crosspost.core.errors import Problem
from crosspost.plugins.tiktok.options import (
    CANONICAL_NAMES,
    OPTION_NAMES,
    TikTokOptions,
    parse_options,
)


def parse_ok(raw):
    options, problems = parse_options(raw)
    assert problems == []
    return options


def test_every_seed_option_name_is_accepted():
    seed_names = {
        "privacy_level", "allow_comment", "allow_duet", "allow_stitch", "content_preview_confirmed",
        "express_consent_given", "video_cover_timestamp_ms", "video_cover_image_url", "media_type",
        "photo_cover_index", "description", "auto_add_music", "video_made_with_ai", "draft",
        "commercial_content_type", "commercialContentType",
    }
    assert seed_names <= OPTION_NAMES


def test_nothing_the_user_must_choose_is_defaulted():
    options = parse_ok({})
    assert options == TikTokOptions()
    assert (options.privacy_level, options.allow_comment, options.allow_duet, options.allow_stitch) == (
        None, None, None, None)
    assert options.video_cover_timestamp_ms == 1000
    assert not options.cover_timestamp_given
    assert options.given == frozenset()


def test_full_seed_settings_are_read():
    options = parse_ok({
        "privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": False, "allow_stitch": True,
        "video_cover_timestamp_ms": 3000, "content_preview_confirmed": True, "express_consent_given": True,
        "video_made_with_ai": True, "draft": False, "commercial_content_type": "brand_organic",
        "content": "ignored here", "media": [],
    })
    assert options.privacy_level == "PUBLIC_TO_EVERYONE"
    assert (options.allow_comment, options.allow_duet, options.allow_stitch) == (True, False, True)
    assert options.video_cover_timestamp_ms == 3000
    assert options.cover_timestamp_given
    assert options.video_made_with_ai
    assert options.brand_organic_toggle
    assert not options.brand_content_toggle
    assert "content" not in options.given


@pytest.mark.parametrize(
    ("kind", "organic", "content"),
    [("none", False, False), ("brand_organic", True, False), ("brand_content", False, True), ("both", True, True)],
)
def test_commercial_content_type_maps_to_tiktoks_two_toggles(kind, organic, content):
    options = parse_ok({"commercial_content_type": kind})
    assert (options.brand_organic_toggle, options.brand_content_toggle) == (organic, content)


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        ({"privacy_level": "PUBLIC"}, "privacy_level",
         "expected one of PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY; got 'PUBLIC'"),
        ({"commercial_content_type": "paid"}, "commercial_content_type",
         "expected one of none, brand_organic, brand_content, both; got 'paid'"),
        ({"allow_comment": "yes"}, "allow_comment", "expected true or false, got 'yes' (string)"),
        ({"draft": 1}, "draft", "expected true or false, got 1 (number)"),
        ({"video_cover_timestamp_ms": -5}, "video_cover_timestamp_ms", "expected a whole number from 0"),
        ({"video_cover_timestamp_ms": 1.5}, "video_cover_timestamp_ms", "got 1.5 (number)"),
        ({"photo_cover_index": True}, "photo_cover_index", "got True (boolean)"),
        ({"description": ["x"]}, "description", "expected a string, got ['x'] (array)"),
        ({"media_type": "carousel"}, "media_type", "expected one of photo, video"),
    ],
)
def test_wrong_types_and_unknown_values_name_what_is_accepted(raw, field, fragment):
    _, problems = parse_options(raw)
    assert len(problems) == 1
    assert problems[0].field == f"target_options.tiktok.{field}"
    assert fragment in problems[0].message


def test_every_problem_is_reported_at_once():
    _, problems = parse_options({"privacy_level": 1, "allow_comment": "no", "draft": "no", "bogus": 1})
    assert {p.field for p in problems} == {f"target_options.tiktok.{k}" for k in
                                           ("privacy_level", "allow_comment", "draft", "bogus")}


def test_unknown_option_suggests_a_close_name_and_lists_the_accepted_ones():
    _, problems = parse_options({"allow_coment": True})
    assert "did you mean 'allow_comment'?" in problems[0].message
    assert "Accepted: allow_comment, allow_duet" in problems[0].message


def test_another_services_name_is_explained_not_guessed():
    options, problems = parse_options({"viewerSetting": "SELF_ONLY", "allowDuet": True})
    assert options.privacy_level is None
    assert options.allow_duet is None
    assert [p.message for p in problems] == [
        "unknown option (another service's name); crosspost calls it 'privacy_level'",
        "unknown option (another service's name); crosspost calls it 'allow_duet'",
    ]


def test_unknown_options_can_be_left_to_the_platform_base():
    _, problems = parse_options({"bogus": 1}, report_unknown=False)
    assert problems == []


def test_null_counts_as_not_given():
    options = parse_ok({"privacy_level": None, "allow_comment": None})
    assert options.privacy_level is None
    assert options.given == frozenset()


# --- TikTok's own names as aliases ---------------------------------------------------------------


@pytest.mark.parametrize(("disable", "allow"), [(True, False), (False, True)])
def test_tiktok_disable_names_keep_tiktoks_meaning(disable, allow):
    options = parse_ok({"disable_comment": disable, "disable_duet": disable, "disable_stitch": disable})
    assert (options.allow_comment, options.allow_duet, options.allow_stitch) == (allow, allow, allow)
    assert {"allow_comment", "allow_duet", "allow_stitch"} <= options.given


def test_is_aigc_and_zernio_spelling_are_aliases():
    options = parse_ok({"is_aigc": True, "commercialContentType": "brand_content"})
    assert options.video_made_with_ai
    assert options.commercial_content_type == "brand_content"


@pytest.mark.parametrize(
    ("toggles", "kind"),
    [
        ({"brand_organic_toggle": True}, "brand_organic"),
        ({"brand_content_toggle": True}, "brand_content"),
        ({"brand_organic_toggle": True, "brand_content_toggle": True}, "both"),
        ({"brand_organic_toggle": False, "brand_content_toggle": False}, "none"),
    ],
)
def test_brand_toggles_combine_into_commercial_content_type(toggles, kind):
    assert parse_ok(toggles).commercial_content_type == kind


def test_agreeing_alias_and_name_are_fine():
    assert parse_ok({"allow_comment": True, "disable_comment": False}).allow_comment is True
    assert parse_ok({"commercial_content_type": "both", "brand_organic_toggle": True,
                     "brand_content_toggle": True}).commercial_content_type == "both"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"allow_comment": True, "disable_comment": True}, "disable_comment"),
        ({"video_made_with_ai": False, "is_aigc": True}, "is_aigc"),
        ({"commercial_content_type": "none", "brand_content_toggle": True}, "brand_content_toggle"),
    ],
)
def test_contradicting_alias_and_name_is_a_problem(raw, field):
    _, problems = parse_options(raw)
    assert problems == [Problem(field=f"target_options.tiktok.{field}", message=problems[0].message)]
    assert "contradicts" in problems[0].message


def test_canonical_names_are_a_subset_of_accepted_names():
    assert CANONICAL_NAMES < OPTION_NAMES
    assert "content" not in OPTION_NAMES
