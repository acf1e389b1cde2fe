"""XRPC error answers mapped to crosspost's error types (pure: no I/O).

Every non-2xx XRPC answer has the body ``{"error": "<Name>", "message": "<text>"}``. The name
decides the type where it is known (``ExpiredToken`` is a refresh, ``InvalidToken`` a dead
login, ``RateLimitExceeded`` a wait); otherwise the status does (4xx permanent, 5xx transient).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime

import attrs

from crosspost.core.errors import AuthError, PermanentError, PlatformError, RateLimited, TransientError

PLATFORM = "bluesky"
RELOGIN_HINT = ("Connect the account again with a fresh app password: crosspost accounts add bluesky NAME "
                "--handle HANDLE --app-password xxxx-xxxx-xxxx-xxxx --replace")

_DEAD_LOGIN = frozenset({"InvalidToken", "AuthenticationRequired", "AuthMissing", "AccountTakedown",
                         "AccountDeactivated", "InvalidPassword"})
_TRANSIENT = frozenset({"InternalServerError", "UpstreamFailure", "NotEnoughResources", "UpstreamTimeout",
                        "ServiceOverloaded"})
_HINTS = {
    "InvalidRequest": "The record was refused as invalid; the message names the field.",
    "PayloadTooLarge": "The file is larger than this PDS accepts in one upload.",
    "BlobTooLarge": "The file is larger than this PDS accepts in one upload.",
    "MethodNotImplemented": "This server does not offer that call (a PDS without a video service?).",
    "AuthFactorTokenRequired": "The account asks for an email code at login: connect it with an app password "
                               "(Settings > Privacy and security > App passwords), which skips that step.",
    "AccountTakedown": "The account was taken down by its host; posting is not possible.",
}


@attrs.frozen(kw_only=True)
class XrpcFailure:
    """A non-2xx answer, read: the status, the XRPC error name (None when absent) and message."""

    status: int
    name: str | None
    message: str

    @property
    def expired_token(self) -> bool:
        """The access token timed out: refresh the session and send the call once more."""
        return self.name == "ExpiredToken"


def read_failure(status: int, body: object) -> XrpcFailure:
    """The error name and message of ``body`` (tolerating bodies that are not XRPC's shape)."""
    name = body.get("error") if isinstance(body, Mapping) else None
    message = body.get("message") if isinstance(body, Mapping) else None
    return XrpcFailure(status=status, name=name if isinstance(name, str) else None,
                       message=message if isinstance(message, str) else "")


def retry_after(headers: Mapping[str, str], now: datetime) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else ``ratelimit-reset`` (epoch s)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = (lowered.get("retry-after") or "").strip()
    if value:
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
        except (TypeError, ValueError):
            pass
    reset = (lowered.get("ratelimit-reset") or "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) - now.timestamp())
    return None


def error_for(failure: XrpcFailure, headers: Mapping[str, str], *, now: datetime, what: str) -> PlatformError:
    """The crosspost error for ``failure`` of the call described by ``what``."""
    name = failure.name or f"HTTP {failure.status}"
    text = f"Bluesky refused {what}: {name}" + (f" ({failure.message})" if failure.message else "")
    hint = _HINTS.get(failure.name or "", "")
    code = failure.name or f"http_{failure.status}"
    if failure.status == 429 or failure.name == "RateLimitExceeded":
        return RateLimited(text, retry_after=retry_after(headers, now), hint=hint, code=code, platform=PLATFORM)
    if failure.name in _DEAD_LOGIN or failure.status == 401:
        return AuthError(text, needs_login=True, hint=hint or RELOGIN_HINT, code=code, platform=PLATFORM)
    if failure.name == "ExpiredToken":
        return AuthError(text, needs_login=False, hint=hint or RELOGIN_HINT, code=code, platform=PLATFORM)
    if failure.name == "AuthFactorTokenRequired":
        return AuthError(text, needs_login=True, hint=hint, code=code, platform=PLATFORM)
    if failure.name == "MethodNotImplemented":
        return PermanentError(text, hint=hint, code=code, platform=PLATFORM)
    if failure.status >= 500 or failure.name in _TRANSIENT:
        return TransientError(text, hint=hint, code=code, platform=PLATFORM)
    return PermanentError(text, hint=hint, code=code, platform=PLATFORM)


def unreadable(what: str, detail: str) -> TransientError:
    """A 2xx answer crosspost could not read: retried, since a proxy may have mangled it."""
    return TransientError(f"Bluesky's answer to {what} could not be read: {detail}", code="unreadable_response",
                          platform=PLATFORM)
