"""TikTok's error codes and fail reasons, each mapped by equality to a crosspost error type.

Two tables, looked up with ``dict.get`` (never substring matching, so ``spam_risk`` and
``spam_risk_text`` can never be confused): :data:`ERROR_CODES` for ``error.code`` in a
response envelope, :data:`FAIL_REASONS` for ``fail_reason`` in a FAILED status. Each entry names
the crosspost type (which fixes ``retryable``), says whether a retry can help and what the user
should do, with the hosted services' "Common Errors" guidance folded in. A code missing from the
tables becomes a plain :class:`PlatformError` carrying TikTok's raw code.

Check ``error.code``, not the HTTP status: creator_info reports cap errors with HTTP 200.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from crosspost.core.errors import (
    AuthError,
    DailyCapReached,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
    UncertainOutcome,
)

PLATFORM = "tiktok"
RATE_WINDOW_S = 60.0
"""TikTok's rate limits use a one-minute sliding window; waiting this long always clears it."""


class TokenInvalid(AuthError):
    """``access_token_invalid``: refresh the token and send the request again (once).

    Not a login problem yet: only when the refresh itself fails must the user log in again.
    """

    refresh_may_help = True


class PublishCancelled(PermanentError):
    """The post was cancelled through the cancel endpoint (``publish_cancelled``)."""


class UploadUrlRejected(PermanentError):
    """The upload URL expired (1 h) or is unknown: a FILE_UPLOAD must start again with a new init.

    Safe to redo: a FILE_UPLOAD that never completes never publishes.
    """

    reinit_may_help = True


@attrs.frozen(kw_only=True)
class ErrorSpec:
    """What crosspost does with one TikTok code."""

    kind: type[PlatformError]
    message: str
    """What happened, in the user's words."""
    hint: str
    """Whether retrying can help, and what to do."""
    needs_login: bool = False
    field: str | None = None


_PRIVACY_FIELD = "target_options.tiktok.privacy_level"
_NO_RETRY = "Retrying will not help:"
_CAP = "Retrying now will not help; crosspost waits and tries again later."

ERROR_CODES: Mapping[str, ErrorSpec] = {
    "invalid_param": ErrorSpec(
        kind=PermanentError, message="TikTok rejected the request's parameters",
        hint=f"{_NO_RETRY} the request must change. TikTok's message names the field."),
    "invalid_params": ErrorSpec(
        kind=PermanentError, message="TikTok rejected the request's parameters",
        hint=f"{_NO_RETRY} the request must change. TikTok's message names the field."),
    "app_version_check_failed": ErrorSpec(
        kind=PermanentError, message="the creator's TikTok app is too old for photo drafts (MEDIA_UPLOAD)",
        hint=f"{_NO_RETRY} update the TikTok app to version 31.8 or later, or post directly (draft: false)."),
    "invalid_publish_id": ErrorSpec(
        kind=PermanentError, message="TikTok does not know this publish_id",
        hint=f"{_NO_RETRY} the post was never started or is too old to look up; check the profile in the app."),
    "token_not_authorized_for_specified_publish_id": ErrorSpec(
        kind=PermanentError, message="this account's token may not read that publish_id",
        hint=f"{_NO_RETRY} the post belongs to another TikTok account or app."),
    "publish_not_cancellable": ErrorSpec(
        kind=PermanentError, message="the post can no longer be cancelled (already in a final state)",
        hint=f"{_NO_RETRY} only a PULL_FROM_URL download still in progress can be cancelled; delete the post "
             "in the TikTok app instead."),
    "spam_risk_too_many_posts": ErrorSpec(
        kind=DailyCapReached, message="You have created too many posts in the last 24 hours via the API",
        hint=f"{_CAP} TikTok allows about 15 direct posts per creator per rolling 24 h, shared by every "
             "app. Wait until the limit resets or post directly in the TikTok app."),
    "spam_risk_too_many_pending_share": ErrorSpec(
        kind=DailyCapReached, message="the creator has too many drafts waiting in their TikTok inbox",
        hint=f"{_CAP} TikTok allows at most 5 pending shares per 24 h: the creator should finish or "
             "discard drafts in the TikTok app."),
    "reached_active_user_cap": ErrorSpec(
        kind=DailyCapReached, message="this TikTok app reached its daily limit of creators who may post",
        hint=f"{_CAP} Unaudited apps may serve 5 creators per 24 h; audited apps have the cap from their "
             "audit. Ask the app owner to request a higher cap."),
    "spam_risk_user_banned_from_posting": ErrorSpec(
        kind=PermanentError, message="TikTok has banned this creator from posting",
        hint=f"{_NO_RETRY} TikTok says not to retry. The creator must resolve it with TikTok."),
    "unaudited_client_can_only_post_to_private_accounts": ErrorSpec(
        kind=PermanentError, message="this TikTok app is not audited, so it may only post to private accounts",
        hint=f"{_NO_RETRY} switch the TikTok account itself to private (privacy_level SELF_ONLY alone "
             "is not enough), or have the app pass TikTok's Content Posting audit."),
    "url_ownership_unverified": ErrorSpec(
        kind=PermanentError, message="the media URL is not on a domain or URL prefix verified for this app",
        hint=f"{_NO_RETRY} verify the domain or URL prefix in the TikTok developer portal (URL properties), "
             "or remove it from CROSSPOST_TIKTOK_VERIFIED_DOMAINS / _PREFIXES so crosspost uploads the "
             "video itself."),
    "privacy_level_option_mismatch": ErrorSpec(
        kind=PermanentError, field=_PRIVACY_FIELD,
        message="Selected privacy level is not available for this creator",
        hint=f"{_NO_RETRY} choose one of the creator's current privacy options (crosspost's validation "
             "lists them; the creator may have changed their account settings)."),
    "access_token_invalid": ErrorSpec(
        kind=TokenInvalid, message="the access token is invalid or expired",
        hint="crosspost refreshes the token and retries once; if it keeps failing, run "
             "`crosspost accounts login tiktok`."),
    "scope_not_authorized": ErrorSpec(
        kind=AuthError, needs_login=True, message="Missing required TikTok permissions",
        hint=f"{_NO_RETRY} reconnect the TikTok account and grant every requested permission "
             "(video.publish for posts, video.upload for drafts)."),
    "scope_permission_missed": ErrorSpec(
        kind=AuthError, needs_login=True, message="Missing required TikTok permissions for some fields",
        hint=f"{_NO_RETRY} reconnect the TikTok account and grant every requested permission."),
    "rate_limit_exceeded": ErrorSpec(
        kind=RateLimited, message="TikTok's per-minute rate limit for this account was exceeded",
        hint="Retrying after the one-minute window helps; crosspost waits and retries."),
    "internal_error": ErrorSpec(
        kind=TransientError, message="TikTok had an internal error",
        hint="Retrying can help; crosspost retries with backoff."),
    "invalid_file_upload": ErrorSpec(
        kind=PermanentError, message="the uploaded file does not meet TikTok's specifications",
        hint=f"{_NO_RETRY} use an MP4, MOV or WebM video (H.264/H.265/VP8/VP9, 23-60 fps, 360-4096 px)."),
}
"""Every ``error.code`` TikTok documents for the Content Posting and generic v2 APIs."""

INVALID_PARAM_MESSAGES: Mapping[str, str] = {
    "The chunk size is invalid": (
        "TikTok refused the upload's chunk plan. Known TikTok behaviour since 2026-08 for some "
        "multi-chunk uploads; a video up to 64,000,000 bytes uploads in one piece and is not affected."
    ),
}
"""Extra guidance for exact ``invalid_param(s)`` messages seen in the field."""

_FIX_MEDIA = f"{_NO_RETRY} fix the media and post again."

FAIL_REASONS: Mapping[str, ErrorSpec] = {
    "file_format_check_failed": ErrorSpec(
        kind=PermanentError, message="TikTok could not use the file's format",
        hint=f"{_FIX_MEDIA} Videos: MP4, MOV or WebM (H.264 recommended); photos: JPEG or WebP. "
             "TikTok's message may say '.mp4' only, but all three video formats work."),
    "duration_check_failed": ErrorSpec(
        kind=PermanentError, message="the video is too short or too long for this creator",
        hint=f"{_FIX_MEDIA} Videos must last from 3 seconds to the creator's maximum "
             "(max_video_post_duration_sec)."),
    "frame_rate_check_failed": ErrorSpec(
        kind=PermanentError, message="the video's frame rate is not supported",
        hint=f"{_FIX_MEDIA} Use 23 to 60 frames per second."),
    "picture_size_check_failed": ErrorSpec(
        kind=PermanentError, message="the picture size is not supported",
        hint=f"{_FIX_MEDIA} Videos need 360-4096 px on each side; photos at most 1080p and 20 MB."),
    "internal": ErrorSpec(
        kind=TransientError, message="TikTok's servers failed while processing the post",
        hint="Retrying can help: TikTok calls this retryable; crosspost starts the post again."),
    "video_pull_failed": ErrorSpec(
        kind=TransientError, message="TikTok video upload failed: TikTok could not download the video URL",
        hint="Retrying helps only if the URL works: it must be a direct https download link, not a "
             "cloud share page (Google Drive, Dropbox, OneDrive, iCloud return HTML), must not redirect, "
             "and must stay reachable for an hour."),
    "photo_pull_failed": ErrorSpec(
        kind=TransientError, message="TikTok could not download a photo URL",
        hint="Retrying helps only if the URLs work: direct https links to the image bytes, on a verified "
             "domain, without redirects, reachable for an hour."),
    "publish_cancelled": ErrorSpec(
        kind=PublishCancelled, message="the post was cancelled through TikTok's cancel API",
        hint="Nothing was published. Post again if the cancel was not intended."),
    "auth_removed": ErrorSpec(
        kind=AuthError, needs_login=True, message="the creator removed this app's access while TikTok was processing",
        hint=f"{_NO_RETRY} TikTok says not to retry. Run `crosspost accounts login tiktok` to reconnect."),
    "auth_failed": ErrorSpec(
        kind=AuthError, needs_login=True, message="TikTok could not authorise the post while processing it",
        hint=f"{_NO_RETRY} reconnect the TikTok account (`crosspost accounts login tiktok`)."),
    "spam_risk_too_many_posts": ErrorSpec(
        kind=DailyCapReached, message="You have created too many posts in the last 24 hours via the API",
        hint=f"{_CAP} Wait until the limit resets (rolling 24 h) or post directly in the TikTok app."),
    "spam_risk_user_banned_from_posting": ErrorSpec(
        kind=PermanentError, message="TikTok has banned this creator from posting",
        hint=f"{_NO_RETRY} TikTok says not to retry. The creator must resolve it with TikTok."),
    "spam_risk_text": ErrorSpec(
        kind=PermanentError, message="TikTok flagged the caption text as potentially risky (spam_risk_text)",
        hint=f"{_NO_RETRY} TikTok's API moderation is stricter than the app; edit the caption (fewer "
             "links, hashtags and repeated text) and post again."),
    "spam_risk": ErrorSpec(
        kind=PermanentError, message="TikTok flagged this post as potentially risky (spam_risk)",
        hint=f"{_NO_RETRY} TikTok's API moderation is stricter than the app. Review the content; the same "
             "content posted recently (duplicate content) also triggers this, so change the caption or "
             "media before posting again."),
}
"""Every ``fail_reason`` TikTok documents, plus ``auth_failed`` seen in third-party code."""


def error_from_response(
    http_status: int,
    payload: Mapping[str, Any] | None,
    *,
    endpoint: str,
    retry_after: float | None = None,
) -> PlatformError | None:
    """The error a TikTok API response stands for, or ``None`` when ``error.code`` is ``ok``.

    ``endpoint`` (the path) goes into the message. Without an error object the HTTP status
    decides: 2xx is success, 429 rate limited, 5xx transient, anything else permanent.
    ``retry_after`` (a ``Retry-After`` header, if any) defaults to the one-minute window for 429.
    """
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping) or not isinstance(error.get("code"), str):
        return None if 200 <= http_status < 300 else _from_http_status(http_status, endpoint, retry_after)
    code: str = error["code"]
    if code == "ok":
        return None
    detail = _text(error.get("message"))
    log_id = _text(error.get("log_id")) or None
    spec = ERROR_CODES.get(code)
    if spec is None:
        return _unknown(code, http_status, f"TikTok refused {endpoint} ({code}): {detail}".rstrip(": "),
                        log_id, retry_after)
    hint = INVALID_PARAM_MESSAGES.get(detail, "") if code in ("invalid_param", "invalid_params") else ""
    message = f"{_without_code(spec.message, code)} ({code}, HTTP {http_status}, {endpoint})"
    message += f": {detail.rstrip('.')}." if detail else "."
    return build_error(spec, code, message, extra_hint=hint, log_id=log_id,
                       retry_after=retry_after if retry_after is not None else RATE_WINDOW_S)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_envelope(
    http_status: int, payload: Mapping[str, Any] | None, *, endpoint: str, retry_after: float | None = None
) -> Mapping[str, Any]:
    """The ``data`` object of a successful response (``{}`` when absent); raises the typed error."""
    error = error_from_response(http_status, payload, endpoint=endpoint, retry_after=retry_after)
    if error is not None:
        raise error
    data = payload.get("data") if isinstance(payload, Mapping) else None
    return data if isinstance(data, Mapping) else {}


def fail_reason_error(reason: str | None, *, publish_id: str | None = None) -> PlatformError:
    """The error for a FAILED status with ``fail_reason`` ``reason`` (unknown reasons keep their name)."""
    code = reason or "unknown"
    spec = FAIL_REASONS.get(code)
    where = f" (publish_id {publish_id})" if publish_id else ""
    if spec is None:
        return PlatformError(
            f"TikTok failed the post{where} with an undocumented reason: {code}.",
            code=code, platform=PLATFORM,
            hint="crosspost does not know whether retrying helps; check the post in the TikTok app.",
        )
    return build_error(spec, code, f"{_without_code(spec.message, code)} ({code}){where}.")


def _without_code(message: str, code: str) -> str:
    """``message`` without a trailing ``(code)``: the caller adds the code once (some messages
    name it already, and users saw "(spam_risk_text) (spam_risk_text)")."""
    return message.removesuffix(f" ({code})")


def build_error(
    spec: ErrorSpec, code: str, message: str, *, extra_hint: str = "", log_id: str | None = None,
    retry_after: float | None = None,
) -> PlatformError:
    """An instance of ``spec.kind`` with crosspost's standard fields filled in."""
    hint = f"{extra_hint} {spec.hint}".strip()
    kw: dict[str, Any] = {"code": code, "hint": hint, "field": spec.field, "platform": PLATFORM, "log_id": log_id}
    kind = spec.kind
    if issubclass(kind, AuthError):
        return kind(message, needs_login=spec.needs_login, **kw)
    if issubclass(kind, RateLimited):
        return kind(message, retry_after=retry_after, **kw)
    return kind(message, **kw)


def _unknown(code: str, http_status: int, message: str, log_id: str | None,
             retry_after: float | None) -> PlatformError:
    kw: dict[str, Any] = {"code": code, "platform": PLATFORM, "log_id": log_id}
    if http_status == 429:
        return RateLimited(message, retry_after=retry_after or RATE_WINDOW_S,
                           hint="Retrying after TikTok's one-minute window helps.", **kw)
    if http_status >= 500:
        return TransientError(message, hint="Retrying can help (a TikTok server error).", **kw)
    return PlatformError(message, hint="crosspost does not know this TikTok error code; retrying is not "
                                       "attempted. Check TikTok's message.", **kw)


def _from_http_status(http_status: int, endpoint: str, retry_after: float | None) -> PlatformError:
    return _unknown(f"http_{http_status}", http_status, f"TikTok answered {endpoint} with HTTP {http_status} "
                    "and no error code.", None, retry_after)


_CHUNK_STATUS: Mapping[int, tuple[type[PlatformError], str, str]] = {
    400: (PermanentError, "bad_chunk_request",
          "TikTok refused the chunk: malformed headers or Content-Length not matching the bytes sent"),
    403: (UploadUrlRejected, "upload_url_expired",
          "the upload URL expired (it is valid for one hour); the upload must start again"),
    404: (UploadUrlRejected, "upload_not_found",
          "TikTok has no upload for this upload URL; the upload must start again"),
    416: (TransientError, "content_range_mismatch",
          "Content-Range does not match TikTok's upload progress; ask TikTok where it is and resume there"),
}


def chunk_response_error(http_status: int) -> PlatformError | None:
    """The error for a media PUT answered with ``http_status`` (``None`` for 201 and 206)."""
    if http_status in (201, 206):
        return None
    if http_status >= 500:
        return TransientError(f"TikTok failed to store the chunk (HTTP {http_status}); retry this chunk.",
                              code="chunk_server_error", platform=PLATFORM)
    kind, code, message = _CHUNK_STATUS.get(
        http_status, (PermanentError, f"chunk_http_{http_status}", f"unexpected HTTP {http_status} for a chunk"))
    return kind(f"{message} (HTTP {http_status}).", code=code, platform=PLATFORM)


def still_processing_error(publish_id: str, waited_s: float) -> UncertainOutcome:
    """What to report when TikTok is still processing after crosspost stopped waiting.

    Not a failure: large videos can take minutes and moderation longer. Never retried (the post
    may still appear); the message says how to check.
    """
    return UncertainOutcome(
        f"TikTok was still processing the post after {waited_s:.0f} s (publish_id {publish_id}).",
        code="still_processing", platform=PLATFORM,
        hint="For large videos this can be normal, and TikTok may still publish it: look at the creator's "
             "profile in the TikTok app before posting again, then record what you find with "
             "`crosspost reconcile ID --published URL` or `crosspost reconcile ID --failed`.",
    )
