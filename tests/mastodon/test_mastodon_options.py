"""``target_options.mastodon``: each option checked and sent as Mastodon expects (sans-I/O)."""

from __future__ import annotations

import pytest

from crosspost.core.options import option_problems
from crosspost.plugins.mastodon.options import OPTIONS, MastodonOptions, language_problem
from crosspost.plugins.mastodon.sansio import status_request

PATH = "target_options.mastodon"


def problems(options: dict[str, object]) -> dict[str, str]:
    return {p.field: p.message for p in option_problems(options, OPTIONS, path=PATH)}


def test_visibility_takes_the_four_mastodon_values_and_suggests_the_closest() -> None:
    for value in ("public", "unlisted", "private", "direct"):
        assert problems({"visibility": value}) == {}
    message = problems({"visibility": "privat"})[f"{PATH}.visibility"]
    assert "did you mean 'private'" in message
    assert "public, unlisted, private, direct" in message


def test_visibility_is_optional_and_absent_sends_nothing() -> None:
    assert problems({}) == {}
    request = status_request("hi", MastodonOptions(), media_ids=[], in_reply_to=None, key="k")
    assert request.json is not None
    assert "visibility" not in request.json


def test_visibility_is_sent_when_given() -> None:
    request = status_request("hi", MastodonOptions(visibility="private"), media_ids=[], in_reply_to=None, key="k")
    assert request.json is not None
    assert request.json["visibility"] == "private"


def test_sensitive_must_be_a_boolean_and_marks_the_media() -> None:
    assert "true or false" in problems({"sensitive": "yes"})[f"{PATH}.sensitive"]
    request = status_request("hi", MastodonOptions(sensitive=True), media_ids=["1"], in_reply_to=None, key="k")
    assert request.json is not None
    assert request.json["sensitive"] is True
    assert request.json["media_ids"] == ["1"]


def test_spoiler_text_is_a_string_sent_as_is() -> None:
    assert "a string" in problems({"spoiler_text": 3})[f"{PATH}.spoiler_text"]
    options = MastodonOptions.from_options({"spoiler_text": "cw: food"})
    request = status_request("hi", options, media_ids=[], in_reply_to=None, key="k")
    assert request.json is not None
    assert request.json["spoiler_text"] == "cw: food"


@pytest.mark.parametrize(("value", "expected"), [
    ("en", None), ("ja", None),
    ("EN", "write it as 'en'"), ("en-US", "e.g. 'en'"), ("english", "not an ISO 639-1"), ("xx", "not an ISO 639-1"),
])
def test_language_is_a_two_letter_iso_639_1_code(value: str, expected: str | None) -> None:
    found = language_problem(value)
    assert (found is None) if expected is None else (found is not None and expected in found)


def test_language_is_sent_when_given() -> None:
    request = status_request("hi", MastodonOptions(language="de"), media_ids=[], in_reply_to=None, key="k")
    assert request.json is not None
    assert request.json["language"] == "de"


def test_thread_must_be_a_boolean() -> None:
    assert "true or false" in problems({"thread": 1})[f"{PATH}.thread"]
    assert MastodonOptions.from_options({"thread": True}).thread is True


def test_unknown_options_suggest_the_closest_name_and_overrides_are_generic() -> None:
    message = problems({"visiblity": "public"})[f"{PATH}.visiblity"]
    assert "did you mean 'visibility'" in message
    assert problems({"content": "other text", "media": []}) == {}


def test_a_reply_names_the_part_before_and_carries_the_idempotency_key() -> None:
    request = status_request("two", MastodonOptions(), media_ids=[], in_reply_to="111", key="key-1")
    assert request.json is not None
    assert request.json["in_reply_to_id"] == "111"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert (request.method, request.path) == ("POST", "/api/v1/statuses")
