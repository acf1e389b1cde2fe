"""Example's request building, response parsing and error mapping: pure functions, no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from crosspost.core.errors import (
    AuthError,
    ConfigError,
    CrosspostError,
    PermanentError,
    RateLimited,
    TransientError,
)
from crosspost.core.models import MediaKind, Post, Target

from crosspost_example import sansio
from crosspost_example.errors import error_for_response, retry_after_seconds

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_config_needs_the_url_and_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="CROSSPOST_EXAMPLE_URL"):
        sansio.ExampleConfig.from_settings({})


def test_config_reads_numbers_and_drops_a_trailing_slash() -> None:
    config = sansio.ExampleConfig.from_settings({"url": "https://api.invalid/", "poll_interval": "0.5",
                                                 "max_upload_bytes": "1000"})

    assert (config.url, config.poll_interval, config.max_upload_bytes) == ("https://api.invalid", 0.5, 1000)


@pytest.mark.parametrize(("values", "variable"), [
    ({"poll_timeout": "soon"}, "CROSSPOST_EXAMPLE_POLL_TIMEOUT"),
    ({"poll_interval": "-1"}, "poll_interval must be positive"),
])
def test_config_refuses_bad_numbers_naming_them(values: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        sansio.ExampleConfig.from_settings({"url": "http://127.0.0.1:1", **values})


@pytest.mark.parametrize(("status", "headers", "expected", "retryable"), [
    (400, {}, PermanentError, False),
    (401, {}, AuthError, False),
    (403, {}, AuthError, False),
    (404, {}, PermanentError, False),
    (413, {}, PermanentError, False),
    (429, {"Retry-After": "7"}, RateLimited, True),
    (500, {}, TransientError, True),
    (503, {"Retry-After": "30"}, TransientError, True),
])
def test_statuses_map_to_crosspost_errors(status: int, headers: dict[str, str],
                                          expected: type[CrosspostError], retryable: bool) -> None:
    error = error_for_response(status, None, headers, now=NOW, what="creating the post")

    assert type(error) is expected
    assert error.retryable is retryable
    assert str(error).startswith(f"creating the post failed: HTTP {status}")


def test_error_code_message_and_field_come_from_the_body() -> None:
    body = {"error": {"code": "text_too_long", "message": "text is too long", "field": "text"}}

    error = error_for_response(422, body, {}, now=NOW, what="creating the post")

    assert error.to_dict() == {"code": "text_too_long", "field": "text", "retryable": False,
                               "message": "creating the post failed: text is too long "
                                          "Fix the field named in the message and post again."}


def test_an_expired_token_marks_the_account_for_login() -> None:
    error = error_for_response(401, None, {}, now=NOW, what="uploading")

    assert isinstance(error, AuthError)
    assert error.needs_login
    assert "crosspost accounts add example" in error.hint


@pytest.mark.parametrize(("value", "seconds"), [
    ("120", 120.0), ("Thu, 01 Jan 2026 12:01:30 GMT", 90.0), ("Wed, 31 Dec 2025 00:00:00 GMT", 0.0),
    ("soon", None), (None, None),
])
def test_retry_after_reads_seconds_and_http_dates(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_the_create_request_carries_the_idempotency_key_and_tags_without_hashes() -> None:
    post = Post(content="hi", targets=(Target(platform="example"),),
                target_options={"example": {"tags": ["#a", "b"], "visibility": "private"}})

    request = sansio.create_post_request(post, ["med_1"], sansio.idempotency_key("job-7"))

    assert request.headers == {"Idempotency-Key": "crosspost-job-7"}
    assert request.json == {"text": "hi", "media": ["med_1"], "visibility": "private", "tags": ["a", "b"]}


def test_uploads_declare_their_length() -> None:
    request = sansio.upload_request(MediaKind.IMAGE, 1234)

    assert (request.method, request.path, dict(request.query)) == ("POST", "/v1/media", {"kind": "image"})
    assert request.headers["Content-Length"] == "1234"


@pytest.mark.parametrize("body", [None, {}, {"id": "p1", "state": "exploded"}, {"state": "published", "id": ""}])
def test_unreadable_status_responses_are_value_errors(body: object) -> None:
    with pytest.raises(ValueError, match=r"response|state"):
        sansio.parse_post_state(body)


def test_a_failed_state_carries_the_servers_error() -> None:
    state = sansio.parse_post_state({"id": "p1", "state": "failed", "error": {"code": "spam", "message": "no"}})

    assert (state.state, state.error_code, state.error_message) == ("failed", "spam", "no")


def test_the_checkpoint_round_trips_through_json() -> None:
    checkpoint = sansio.Checkpoint(media_ids=("m1", "m2"), post_id="p1")

    assert sansio.Checkpoint.from_json(checkpoint.to_json()) == checkpoint
    assert sansio.Checkpoint.from_json({}) == sansio.Checkpoint()
