"""Mastodon's error answers as crosspost's typed errors, each with the field and the fix (pure).

Mastodon answers errors as ``{"error": "text"}`` (OAuth adds ``error_description``). The text
of a 422 says which part of the status was refused, so it is matched to a field here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from crosspost.core.errors import AuthError, PermanentError, PlatformError, RateLimited, TransientError
from crosspost.plugins.mastodon.options import PLATFORM

RELOGIN_HINT = ("Log in again: crosspost accounts login mastodon NAME --instance URL (or add a fresh token with "
                "crosspost accounts add mastodon NAME --instance URL --access-token TOKEN --replace).")
SCOPE_HINT = ("The token may lack a scope (crosspost needs read, write:statuses, write:media) or the account is "
              "suspended or limited; log in again to grant the scopes, or check the account at the instance.")

_422_RULES: tuple[tuple[re.Pattern[str], str, str, str], ...] = (
    (re.compile(r"character limit of (\d+) exceeded", re.I), "content", "too_long",
     "Shorten the text, or set target_options.mastodon.thread: true."),
    (re.compile(r"can't be blank", re.I), "content", "blank", "Give some text or attach media."),
    (re.compile(r"video to a post that already contains images", re.I), "media", "mixed_media",
     "Post the video on its own, or images only."),
    (re.compile(r"more than \d+ (files|media)", re.I), "media", "too_many_media",
     "Attach fewer media items; the instance's limit is in GET /api/v2/instance."),
    (re.compile(r"content type|file is invalid|file size", re.I), "media", "bad_media",
     "Give a file type and size the instance takes (see crosspost accounts info mastodon:NAME)."),
    (re.compile(r"language", re.I), "target_options.mastodon.language", "bad_language",
     "Give a two-letter ISO 639-1 code."),
    (re.compile(r"visibility", re.I), "target_options.mastodon.visibility", "bad_visibility",
     "Use public, unlisted, private or direct."),
)

NOT_PROCESSED = re.compile(r"not finished processing", re.I)


def error_text(body: object) -> str:
    """The human text of an error body (``error`` as a string, or a nested ``message``)."""
    if not isinstance(body, Mapping):
        return ""
    error = body.get("error")
    if isinstance(error, Mapping):
        return str(error.get("message") or error.get("code") or "")
    text = str(error or "")
    description = body.get("error_description")
    return f"{text}: {description}" if isinstance(description, str) and description else text


def retry_after_seconds(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else ``X-RateLimit-Reset``
    (an ISO 8601 time); None when neither is usable."""
    value = (headers.get("Retry-After") or "").strip()
    if value.isdigit():
        return float(value)
    if value:
        try:
            return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            pass
    reset = reset_at(headers)
    return None if reset is None else max(0.0, (reset - now).total_seconds())


def reset_at(headers: Mapping[str, str]) -> datetime | None:
    """``X-RateLimit-Reset`` as an aware time, or None."""
    value = (headers.get("X-RateLimit-Reset") or "").strip()
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def error_for_response(status: int, body: object, headers: Mapping[str, str], *, now: datetime,
                       what: str, instance: str) -> PlatformError:
    """The crosspost error for a non-2xx answer to the call described by ``what``."""
    text = error_text(body) or f"HTTP {status}"
    message = f"{what} failed at {instance}: {text}"
    common: dict[str, Any] = {"platform": PLATFORM}
    if status == 429:
        return RateLimited(message, code="rate_limited", retry_after=retry_after_seconds(headers, now),
                           hint="The instance's rate limit is reached; crosspost waits for its reset.", **common)
    if status >= 500:
        return TransientError(message, code=f"http_{status}", retry_after=retry_after_seconds(headers, now),
                              hint="The instance is failing or overloaded; crosspost retries later.", **common)
    if status == 401:
        return AuthError(message, code="invalid_token", needs_login=True, hint=RELOGIN_HINT, **common)
    if status == 403:
        return AuthError(message, code="forbidden", hint=SCOPE_HINT, **common)
    if status == 404:
        return PermanentError(message, code="not_found", hint=(
            "The media or status no longer exists at the instance (unattached media is removed after about a "
            "day); post again."), **common)
    if status == 422:
        return _unprocessable(message, text, common)
    return PermanentError(message, code=f"http_{status}", hint="The instance refused the request as malformed.",
                          **common)


def _unprocessable(message: str, text: str, common: dict[str, Any]) -> PlatformError:
    if NOT_PROCESSED.search(text):
        # Never attach unprocessed media: the platform polls first, so this is a race; retry.
        return TransientError(message, code="media_processing", retry_after=5.0, field="media",
                              hint="The instance is still processing the media; crosspost retries.", **common)
    for pattern, field, code, hint in _422_RULES:
        if pattern.search(text):
            return PermanentError(message, code=code, field=field, hint=hint, **common)
    return PermanentError(message, code="unprocessable", hint="Fix what the message names and post again.",
                          **common)


def unreadable_response(what: str, problem: str) -> PermanentError:
    return PermanentError(f"{what}: unexpected response from the instance ({problem})", code="bad_response",
                          platform=PLATFORM, hint="The server may not be Mastodon-compatible; check the instance URL.")
