"""Example's error responses mapped to crosspost's error types (pure: no I/O).

The engine decides from the type alone what happens next: ``TransientError`` and ``RateLimited``
are retried later from the saved checkpoint, ``PermanentError`` (and ``AuthError``) fail the job
with the message and hint shown to the user. AUTHOR: map your platform's own error codes here;
the status-code fallbacks below suit most HTTP APIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from crosspost.core.errors import AuthError, PermanentError, PlatformError, RateLimited, TransientError

from crosspost_example.sansio import PLATFORM

RELOGIN_HINT = f"Add the account again with a fresh token: crosspost accounts add {PLATFORM} NAME --access-token T"

_HINTS = {
    400: "The request was refused as malformed; check the post's options.",
    404: "The post or media no longer exists at the platform.",
    409: "The post is in a state that does not allow this.",
    413: "Shrink the file below the platform's upload limit.",
    422: "Fix the field named in the message and post again.",
}


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def _error_body(body: object) -> Mapping[str, Any]:
    error = body.get("error") if isinstance(body, Mapping) else None
    return error if isinstance(error, Mapping) else {}


def error_for_response(status: int, body: object, headers: Mapping[str, str], *, now: datetime,
                       what: str) -> PlatformError:
    """The crosspost error for a non-2xx answer to the call described by ``what``.

    4xx are permanent (401/403 as AuthError, 401 marking the account for login), 429 is
    RateLimited carrying ``Retry-After``, 5xx are transient.
    """
    error = _error_body(body)
    code = str(error.get("code") or f"http_{status}")
    detail = str(error.get("message") or f"HTTP {status}")
    message = f"{what} failed: {detail}"
    common: dict[str, Any] = {"code": code, "platform": PLATFORM}
    if isinstance(error.get("field"), str):
        common["field"] = error["field"]
    retry_after = retry_after_seconds(headers.get("Retry-After"), now)
    if status == 429:
        return RateLimited(message, retry_after=retry_after, hint="Too many requests; crosspost waits and retries.",
                           **common)
    if status >= 500:
        return TransientError(message, retry_after=retry_after, **common)
    if status == 401:
        return AuthError(message, needs_login=True, hint=RELOGIN_HINT, **common)
    if status == 403:
        return AuthError(message, hint="The token is not allowed to post; give it the posting permission.",
                         **common)
    return PermanentError(message, hint=_HINTS.get(status, ""), **common)


def unreadable_response(what: str, problem: str) -> PermanentError:
    """A 2xx answer we cannot read: retrying the same call would read the same thing."""
    return PermanentError(f"{what}: unexpected response from {PLATFORM} ({problem})",
                          code="bad_response", platform=PLATFORM,
                          hint="The API may have changed; update the plugin.")
