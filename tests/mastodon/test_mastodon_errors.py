"""Mastodon's error answers mapped to crosspost's types, with field and fix (sans-I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crosspost.core.errors import AuthError, PermanentError, RateLimited, TransientError
from crosspost.plugins.mastodon.errors import error_for_response, retry_after_seconds

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def mapped(status: int, text: str = "", headers: dict[str, str] | None = None) -> Exception:
    return error_for_response(status, {"error": text} if text else None, headers or {}, now=NOW, what="posting",
                              instance="https://m.example")


def test_401_asks_for_a_new_login() -> None:
    error = mapped(401, "The access token is invalid")
    assert isinstance(error, AuthError)
    assert error.needs_login
    assert "crosspost accounts login mastodon" in str(error)
    assert "The access token is invalid" in str(error)


def test_403_is_an_auth_error_naming_the_scopes() -> None:
    error = mapped(403, "This action is not allowed")
    assert isinstance(error, AuthError)
    assert not error.needs_login
    assert "write:statuses" in str(error)


def test_404_is_permanent() -> None:
    error = mapped(404, "Record not found")
    assert isinstance(error, PermanentError)
    assert error.code == "not_found"


@pytest.mark.parametrize(("text", "field", "code"), [
    ("Validation failed: Text character limit of 500 exceeded", "content", "too_long"),
    ("Validation failed: Text can't be blank", "content", "blank"),
    ("Cannot attach a video to a post that already contains images", "media", "mixed_media"),
    ("Cannot attach more than 4 files", "media", "too_many_media"),
    ("Validation failed: File content type is invalid, File is invalid", "media", "bad_media"),
])
def test_422_texts_name_the_field(text: str, field: str, code: str) -> None:
    error = mapped(422, text)
    assert isinstance(error, PermanentError)
    assert not error.retryable
    assert (error.field, error.code) == (field, code)
    assert error.hint


def test_422_for_unprocessed_media_is_retried() -> None:
    error = mapped(422, "Cannot attach files that have not finished processing. Try again in a moment!")
    assert isinstance(error, TransientError)
    assert error.code == "media_processing"


def test_429_waits_until_x_ratelimit_reset() -> None:
    reset = (NOW + timedelta(seconds=90)).isoformat(timespec="microseconds")
    error = mapped(429, "Too many requests", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    assert isinstance(error, RateLimited)
    assert error.retry_after == pytest.approx(90.0)


def test_retry_after_wins_over_the_reset_header() -> None:
    reset = (NOW + timedelta(seconds=90)).isoformat()
    assert retry_after_seconds({"Retry-After": "7", "X-RateLimit-Reset": reset}, NOW) == 7.0
    assert retry_after_seconds({}, NOW) is None
    assert retry_after_seconds({"X-RateLimit-Reset": "garbage"}, NOW) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status: int) -> None:
    assert isinstance(mapped(status, "oops"), TransientError)


def test_oauth_errors_show_their_description() -> None:
    error = error_for_response(400, {"error": "invalid_grant", "error_description": "The grant is invalid"}, {},
                               now=NOW, what="exchanging the code", instance="https://m.example")
    assert "invalid_grant: The grant is invalid" in str(error)
