"""Instance limits and the checks made against them (sans-I/O: no server)."""

from __future__ import annotations

import pytest

from crosspost.core.models import MediaKind
from crosspost.plugins.mastodon.limits import (
    DEFAULT_MAX_CHARACTERS,
    InstanceLimits,
    MediaFacts,
    count_characters,
    media_problems,
    parse_instance_v1,
    parse_instance_v2,
    split_thread,
    text_problems,
)

V2 = {"version": "4.4.0", "configuration": {
    "statuses": {"max_characters": 1000, "max_media_attachments": 6, "characters_reserved_per_url": 30},
    "media_attachments": {"supported_mime_types": ["image/jpeg", "video/mp4"], "image_size_limit": 1000,
                          "video_size_limit": 5000, "description_limit": 10}}}


def test_v2_instance_configuration_is_read_field_by_field() -> None:
    limits = parse_instance_v2(V2)
    assert (limits.max_characters, limits.max_media_attachments, limits.characters_reserved_per_url) == (1000, 6, 30)
    assert limits.supported_mime_types == ("image/jpeg", "video/mp4")
    assert (limits.image_size_limit, limits.video_size_limit, limits.description_limit) == (1000, 5000, 10)
    assert (limits.version, limits.source) == ("4.4.0", "v2")


def test_missing_or_nonsense_values_fall_back_to_the_documented_defaults() -> None:
    limits = parse_instance_v2({"configuration": {"statuses": {"max_characters": -3, "max_media_attachments": "4"}}})
    assert limits.max_characters == DEFAULT_MAX_CHARACTERS
    assert limits.max_media_attachments == 4
    assert "image/png" in limits.supported_mime_types


def test_old_servers_report_max_toot_chars_in_v1() -> None:
    assert parse_instance_v1({"version": "3.5.0", "max_toot_chars": 5000}).max_characters == 5000
    assert parse_instance_v1({"version": "3.0.0"}).max_characters == 500
    assert parse_instance_v1({"max_toot_chars": 5000}).source == "v1"


def test_an_instance_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        parse_instance_v2(["not", "an", "object"])


def test_limits_survive_a_json_round_trip() -> None:
    limits = parse_instance_v2(V2)
    assert InstanceLimits.from_json(limits.to_json()) == limits


def test_every_url_counts_as_characters_reserved_per_url() -> None:
    long = "https://example.org/" + "a" * 200
    assert count_characters(f"see {long}", url_characters=23) == 4 + 23
    assert count_characters(f"see {long}", url_characters=30) == 4 + 30
    assert count_characters("see http://x.io.", url_characters=23) == 4 + 23 + 1  # the full stop is not the URL's


def test_remote_mentions_count_the_username_only() -> None:
    assert count_characters("hi @alice@example.social") == len("hi @alice")
    assert count_characters("hi @alice") == len("hi @alice")


def test_the_content_warning_counts_with_the_text() -> None:
    assert count_characters("body", spoiler_text="cw: spoilers") == 4 + 12


def test_characters_are_grapheme_clusters() -> None:
    assert count_characters("👩‍👩‍👧 e\u0301 🇫🇷") == 5


def test_a_700_character_text_fits_1000_and_not_500() -> None:
    text = "y" * 700
    assert text_problems(text, spoiler_text="", limits=InstanceLimits(max_characters=1000), instance="big.example",
                         has_media=False) == []
    (problem,) = text_problems(text, spoiler_text="", limits=InstanceLimits(max_characters=500),
                               instance="small.example", has_media=False)
    assert problem.field == "content"
    assert "700" in problem.message
    assert "500" in problem.message
    assert "small.example" in problem.message
    assert "thread: true" in problem.message


def test_a_text_exactly_at_the_limit_passes() -> None:
    assert text_problems("z" * 500, spoiler_text="", limits=InstanceLimits(), instance="i", has_media=False) == []


def test_blank_text_needs_media() -> None:
    (problem,) = text_problems("  ", spoiler_text="", limits=InstanceLimits(), instance="i", has_media=False)
    assert problem.field == "content"
    assert text_problems("", spoiler_text="", limits=InstanceLimits(), instance="i", has_media=True) == []


def _image(i: int, **kw: object) -> MediaFacts:
    return MediaFacts(index=i, kind=MediaKind.IMAGE, mime="image/jpeg", size=100, **kw)  # type: ignore[arg-type]


def test_more_media_than_the_instance_takes_names_its_limit() -> None:
    problems = media_problems([_image(i) for i in range(5)], InstanceLimits(max_media_attachments=4))
    assert [(p.field, "at most 4" in p.message) for p in problems] == [("media", True)]
    assert media_problems([_image(i) for i in range(6)], InstanceLimits(max_media_attachments=6)) == []


def test_a_video_goes_alone() -> None:
    video = MediaFacts(index=1, kind=MediaKind.VIDEO, mime="video/mp4", size=100)
    problems = media_problems([_image(0), video], InstanceLimits())
    assert [p.field for p in problems] == ["media"]
    assert "one video" in problems[0].message


def test_a_type_the_instance_does_not_take_lists_what_it_takes() -> None:
    limits = parse_instance_v2(V2)
    (problem,) = media_problems([MediaFacts(index=0, kind=MediaKind.IMAGE, mime="image/png", size=10)], limits)
    assert problem.field == "media[0].path"
    assert "image/png" in problem.message
    assert "image/jpeg, video/mp4" in problem.message


def test_a_declared_kind_that_is_not_the_files_kind_is_reported() -> None:
    (problem,) = media_problems([MediaFacts(index=0, kind=MediaKind.VIDEO, mime="image/jpeg", size=10)],
                                InstanceLimits())
    assert problem.field == "media[0].type"


def test_sizes_are_checked_against_the_instances_image_and_video_limits() -> None:
    limits = parse_instance_v2(V2)
    big_image = MediaFacts(index=0, kind=MediaKind.IMAGE, mime="image/jpeg", size=1001)
    ok_video = MediaFacts(index=0, kind=MediaKind.VIDEO, mime="video/mp4", size=4000)
    big_video = MediaFacts(index=0, kind=MediaKind.VIDEO, mime="video/mp4", size=5001)
    assert [p.field for p in media_problems([big_image], limits)] == ["media[0].path"]
    assert media_problems([ok_video], limits) == []
    assert "5000 bytes" in media_problems([big_video], limits)[0].message


def test_alt_text_longer_than_the_description_limit_is_reported() -> None:
    limits = parse_instance_v2(V2)
    (problem,) = media_problems([_image(0, alt="x" * 11)], limits)
    assert problem.field == "media[0].alt"
    assert "10" in problem.message
    assert media_problems([_image(0, alt="x" * 10)], limits) == []


def test_a_missing_file_is_reported_at_its_path() -> None:
    (problem,) = media_problems([MediaFacts(index=2, kind=MediaKind.IMAGE, missing=True)], InstanceLimits())
    assert problem.field == "media[2].path"


def test_thread_split_cuts_at_word_boundaries_within_the_budget() -> None:
    words = [f"word{i:03d}" for i in range(200)]
    text = " ".join(words)
    parts = split_thread(text, budget=100, url_characters=23)
    assert len(parts) > 1
    assert all(count_characters(p) <= 100 for p in parts)
    assert " ".join(parts).split() == words  # nothing lost, nothing cut inside a word


def test_thread_split_never_cuts_a_url_and_counts_it_as_reserved() -> None:
    url = "https://example.org/" + "p" * 300
    parts = split_thread(f"{'a ' * 40}{url} end", budget=50, url_characters=23)
    assert any(url in p for p in parts)
    assert all(count_characters(p, url_characters=23) <= 50 for p in parts)


def test_a_word_longer_than_the_budget_is_cut_inside() -> None:
    parts = split_thread("x" * 25, budget=10, url_characters=23)
    assert parts == ["x" * 10, "x" * 10, "x" * 5]


def test_a_text_within_the_budget_stays_one_part() -> None:
    assert split_thread("short text", budget=100, url_characters=23) == ["short text"]
