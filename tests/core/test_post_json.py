"""The user-facing JSON form of a post: round trips, and every malformed shape named by path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosspost.core.convert import post_from_dict, post_to_dict, result_to_dict
from crosspost.core.errors import InvalidPost
from crosspost.core.models import ErrorInfo, JobStatus, Media, MediaKind, Post, Target, TargetResult

SEED_EXAMPLE: dict[str, Any] = {
    "content": "Check out this amazing sunset! #sunset #nature",
    "targets": ["tiktok:main"],
    "media": [{"path": "sunset.mp4", "type": "video"}],
    "scheduled_at": "now",
    "timezone": "America/New_York",
    "idempotency_key": "optional-client-key",
    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "allow_duet": True, "allow_stitch": False}},
}


def problems_of(data: object) -> dict[str, str]:
    with pytest.raises(InvalidPost) as info:
        post_from_dict(data)
    return {p.field: p.message for p in info.value.problems}


def test_the_documented_request_shape_is_read_as_is() -> None:
    post = post_from_dict(SEED_EXAMPLE)
    assert post.targets == (Target(platform="tiktok", account="main"),)
    assert post.media == (Media(type=MediaKind.VIDEO, path="sunset.mp4"),)
    assert post.options_for("tiktok")["allow_stitch"] is False
    assert post_to_dict(post) == SEED_EXAMPLE


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
targets = st.builds(Target, platform=names.map(lambda s: "p" + s.lower()),
                    account=st.one_of(st.none(), names))
media = st.one_of(
    st.builds(Media, type=st.sampled_from(MediaKind),
              path=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30)),
    # A media URL must be absolute http(s) (a relative one is refused with the fix: use 'path').
    st.builds(Media, type=st.sampled_from(MediaKind), url=names.map(lambda s: f"https://{s}.example/{s}.mp4")),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
options = st.dictionaries(names, st.dictionaries(names, json_scalars, max_size=4), max_size=3)
posts = st.builds(
    Post,
    content=st.text(max_size=200),
    targets=st.lists(targets, min_size=1, max_size=4),
    media=st.lists(media, max_size=5),
    scheduled_at=st.sampled_from(["now", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00"]),
    timezone=st.one_of(st.none(), st.sampled_from(["America/New_York", "Europe/Paris", "UTC"])),
    idempotency_key=st.one_of(st.none(), st.text(min_size=1, max_size=20)),
    target_options=options,
)


@given(posts)
def test_any_post_survives_a_json_round_trip(post: Post) -> None:
    assert post_from_dict(post_to_dict(post)) == post


def test_media_type_names_its_path_and_the_accepted_values() -> None:
    data = dict(SEED_EXAMPLE, media=[{"path": "a.mp4", "type": "video"}, {"path": "b", "type": "gif"}])
    assert problems_of(data) == {"media[1].type": "expected 'video' or 'image', got 'gif'"}


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "content": 3,
        "targets": ["ti ktok"],
        "media": [{"type": "video"}, {"path": "x", "url": "y", "type": "image"}, "clip.mp4"],
        "scheduled_at": "tomorrow",
        "timezone": "Mars/Olympus",
        "colour": "red",
    }
    found = problems_of(data)
    assert set(found) >= {"content", "targets[0]", "media[0]", "media[1]", "media[2]",
                          "scheduled_at", "timezone"}
    assert any("colour" in message for message in found.values())


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ([], "", "expected a JSON object"),
        ({"content": "x"}, "targets", "required"),
        ({"targets": []}, "targets", "non-empty list"),
        ({"targets": "tiktok"}, "targets", "non-empty list"),
        ({"targets": [3]}, "targets[0]", "expected a string"),
        ({"targets": ["tiktok:"]}, "targets[0]", "account name missing"),
        ({"targets": ["tiktok"], "media": {}}, "media", "expected a list"),
        ({"targets": ["tiktok"], "media": [{"path": "", "type": "video"}]}, "media[0].path", "non-empty"),
        ({"targets": ["tiktok"], "media": [{"path": "a", "type": "video", "size": 1}]}, "media[0].size",
         "unknown key"),
        ({"targets": ["tiktok"], "media": [{"path": "a"}]}, "media[0].type", "required"),
        ({"targets": ["tiktok"], "scheduled_at": "soon"}, "scheduled_at", "ISO-8601"),
        ({"targets": ["tiktok"], "timezone": "Nowhere/City"}, "timezone", "IANA"),
        ({"targets": ["tiktok"], "target_options": {"tiktok": []}}, "target_options.tiktok", "object"),
        ({"targets": ["tiktok"], "idempotency_key": 7}, "idempotency_key", "expected a string"),
    ],
)
def test_malformed_shapes_name_their_path(data: object, field: str, fragment: str) -> None:
    found = problems_of(data)
    assert field in found, found
    assert fragment in found[field]


def test_relative_media_paths_resolve_against_the_request_folder(tmp_path: Path) -> None:
    post = post_from_dict({"targets": ["tiktok"], "media": [{"path": "clips/a.mp4", "type": "video"},
                                                             {"url": "https://x/y.jpg", "type": "image"}]},
                          base=tmp_path)
    assert post.media[0].path == str(tmp_path / "clips" / "a.mp4")
    assert post.media[1].url == "https://x/y.jpg"


def test_result_json_follows_the_cli_contract() -> None:
    result = TargetResult(target=Target(platform="tiktok", account="main"), status=JobStatus.FAILED,
                          warnings=("w",), error=ErrorInfo(code="spam_risk", message="no"))
    assert result_to_dict(result) == {
        "target": "tiktok:main", "status": "failed", "publish_id": None, "post_url": None,
        "warnings": ["w"], "error": {"code": "spam_risk", "message": "no", "retryable": False},
    }
