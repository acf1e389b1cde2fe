"""TikTok's two response shapes: the v2 envelope and the flat OAuth error.

Content Posting endpoints answer ``{"data": {...}, "error": {"code", "message", "log_id"}}``;
``error.code == "ok"`` is success. On errors ``data`` is ``{}``, except for the unaudited-client
refusal, which real captures show without any ``data`` key (tiktok-api.md §5.4): clients must
cope with both. OAuth endpoints answer flat JSON, with ``{"error", "error_description",
"log_id"}`` on failure (§8.5). Handlers raise :class:`ApiError` / :class:`OAuthError`; the app
turns them into responses so no handler builds an error body by hand.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

MESSAGES: dict[str, str] = {
    "ok": "",
    "access_token_invalid": "The access token is invalid or not found in the request.",
    "scope_not_authorized": "The user did not authorize the scope required for completing this request.",
    "rate_limit_exceeded": "API rate limit exceeded, please retry later.",
    "internal_error": "Something went wrong. Please try again later.",
    "unaudited_client_can_only_post_to_private_accounts":
        "Please review our integration guidelines at https://developers.tiktok.com/doc/content-sharing-guidelines/",
    "privacy_level_option_mismatch": "privacy_level is not one of the creator's privacy_level_options.",
    "spam_risk_too_many_posts": "The creator has reached the daily post cap for Direct Post.",
    "spam_risk_user_banned_from_posting": "The creator is banned from posting.",
    "spam_risk_too_many_pending_share": "There may be at most 5 pending shares within any 24-hour period.",
    "reached_active_user_cap": "The daily quota of active publishing users for this client has been reached.",
    "url_ownership_unverified": "The URL's domain or prefix is not verified for this client.",
    "invalid_publish_id": "The publish_id does not exist.",
    "token_not_authorized_for_specified_publish_id": "The access token is not authorized for this publish_id.",
    "publish_not_cancellable": "The publish is already in a final state or can no longer be cancelled.",
    "app_version_check_failed":
        "To use MEDIA_UPLOAD post_mode, users' TikTok APP version must not be less than 31.8.",
    "scope_permission_missed": "Some fields need additional scopes.",
}

_NO_DATA_CODES = frozenset({"unaudited_client_can_only_post_to_private_accounts"})


class ApiError(Exception):
    """A v2 error response: HTTP status, error.code and message (never holds a secret)."""

    def __init__(self, status: int, code: str, message: str | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.code = code
        self.message = MESSAGES.get(code, code) if message is None else message
        self.headers = dict(headers or {})
        super().__init__(f"{status} {code}: {self.message}")


class OAuthError(Exception):
    """An OAuth-style error (``error`` is a string); 400 unless said otherwise."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{status} {error}: {description}")


def api_response(log_id: str, data: dict[str, Any] | None = None) -> web.Response:
    """A 200 ``ok`` envelope; ``data=None`` omits the key (cancel answers without data)."""
    body: dict[str, Any] = {} if data is None else {"data": data}
    body["error"] = {"code": "ok", "message": "", "log_id": log_id}
    return web.json_response(body, headers={"X-Tt-Logid": log_id})


def api_error_response(log_id: str, error: ApiError) -> web.Response:
    body: dict[str, Any] = {} if error.code in _NO_DATA_CODES else {"data": {}}
    body["error"] = {"code": error.code, "message": error.message, "log_id": log_id}
    return web.json_response(body, status=error.status, headers={"X-Tt-Logid": log_id, **error.headers})


def oauth_error_response(log_id: str, error: OAuthError) -> web.Response:
    body = {"error": error.error, "error_description": error.description, "log_id": log_id}
    return web.json_response(body, status=error.status, headers={"X-Tt-Logid": log_id})
