"""The checks TikTok applies to init bodies, as pure functions that raise :class:`ApiError`.

Order, for every init: body shape and ``post_info`` (privacy 403, text limits and types 400),
then ``source_info`` (400), then account-level refusals (403: ban/cap states, unaudited client,
active-user cap, daily post cap, pending shares), then URL ownership (403). TikTok does not
document its order; this one reports the client's own mistakes before the account's state.

Choices where TikTok's behaviour is unconfirmed (tiktok-api.md §12), all deliberate:

- ``privacy_level`` missing or not among the creator's options is 403
  ``privacy_level_option_mismatch``; a value outside the enum altogether is 400.
- ``brand_content_toggle`` with ``SELF_ONLY`` is 400 "Branded content visibility cannot be set
  to private" (what emulators in the wild do). Missing brand toggles mean ``false``.
- An unaudited client is refused with 403 ``unaudited_client_can_only_post_to_private_accounts``
  when the *account* is public, even for ``SELF_ONLY`` (observed), and also for any privacy
  other than ``SELF_ONLY`` on a private account (the guidelines' rule; the code is a guess).
- Titles are counted in UTF-16 code units, as TikTok counts them.
- PULL_FROM_URL never follows redirects (checked by the downloader); https is required only
  when ``require_https_pull`` is set, because test media servers are plain-http loopback.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import yarl

from .access import invalid
from .chunks import chunk_plan_problem
from .envelope import ApiError
from .records import PRIVACY_LEVELS, Creator
from .state import EmulatorState

VIDEO_TITLE_MAX = 2200
PHOTO_TITLE_MAX = 90
PHOTO_DESCRIPTION_MAX = 4000
MAX_PHOTOS = 35
_BOOL_FIELDS = ("disable_duet", "disable_stitch", "disable_comment", "brand_content_toggle",
                "brand_organic_toggle", "is_aigc", "auto_add_music")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def object_field(state: EmulatorState, body: dict[str, Any], name: str, *, required: bool) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        if required:
            raise invalid(state, f"{name} is required.")
        return {}
    if not isinstance(value, dict):
        raise invalid(state, f"{name} must be an object.")
    return value


def check_post_info(state: EmulatorState, post_info: dict[str, Any], *, limits: dict[str, int]) -> None:
    """Text lengths (UTF-16 units) and field types; ``limits`` maps text fields to maxima."""
    for field, limit in limits.items():
        value = post_info.get(field)
        if value is None:
            continue
        if not isinstance(value, str):
            raise invalid(state, f"post_info.{field} must be a string.")
        if utf16_len(value) > limit:
            raise invalid(state, f"post_info.{field} is longer than {limit} characters.")
    for field in _BOOL_FIELDS:
        if field in post_info and not isinstance(post_info[field], bool):
            raise invalid(state, f"post_info.{field} must be a boolean.")
    cover = post_info.get("video_cover_timestamp_ms")
    if cover is not None and (isinstance(cover, bool) or not isinstance(cover, int)):
        raise invalid(state, "post_info.video_cover_timestamp_ms must be an integer.")


def check_privacy(state: EmulatorState, creator: Creator, post_info: dict[str, Any]) -> str:
    """The requested privacy level, which must be one of the creator's current options."""
    level = post_info.get("privacy_level")
    options = ", ".join(creator.privacy_level_options)
    if level is None:
        raise ApiError(403, "privacy_level_option_mismatch",
                       f"post_info.privacy_level is required; this creator's options are {options}.")
    if not isinstance(level, str) or level not in PRIVACY_LEVELS:
        raise invalid(state, "post_info.privacy_level is not a valid privacy level.")
    if level not in creator.privacy_level_options:
        raise ApiError(403, "privacy_level_option_mismatch",
                       f"privacy_level {level} is not offered to this creator; options are {options}.")
    if post_info.get("brand_content_toggle") is True and level == "SELF_ONLY":
        raise invalid(state, "Branded content visibility cannot be set to private")
    return level


def check_file_upload(state: EmulatorState, source_info: dict[str, Any]) -> tuple[int, int, int]:
    """(video_size, chunk_size, total_chunk_count) of a plan that follows §3.1 exactly."""
    values = [source_info.get(name) for name in ("video_size", "chunk_size", "total_chunk_count")]
    ints = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if len(ints) != 3:
        raise invalid(state, "video_size, chunk_size and total_chunk_count are required integers for FILE_UPLOAD.")
    video_size, chunk_size, count = ints
    problem = chunk_plan_problem(video_size, chunk_size, count)
    if problem is not None:
        error = invalid(state, "The chunk size is invalid")
        error.headers["X-Emulator-Reason"] = problem
        raise error
    if video_size > state.max_video_bytes:
        raise invalid(state, "The video size is invalid")
    return video_size, chunk_size, count


def source_of(state: EmulatorState, source_info: dict[str, Any], allowed: tuple[str, ...]) -> str:
    source = source_info.get("source")
    if source not in allowed:
        raise invalid(state, f"source_info.source must be one of {', '.join(allowed)}.")
    return str(source)


def check_url_shape(state: EmulatorState, value: object, field: str) -> str:
    """A well-formed absolute URL this emulator is allowed to fetch (400 otherwise)."""
    if not isinstance(value, str) or not value:
        raise invalid(state, f"source_info.{field} is required.")
    url = yarl.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise invalid(state, f"source_info.{field} must be an absolute http(s) URL.")
    if state.require_https_pull and url.scheme != "https":
        raise invalid(state, f"source_info.{field} must use https.")
    if not state.allow_remote_fetch and not is_loopback(url.host):
        raise invalid(state, f"source_info.{field}: the emulator only pulls from loopback hosts "
                             "(set allow_remote_fetch=True to lift this).")
    return value


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_ownership(state: EmulatorState, creator: Creator, urls: list[str]) -> None:
    """403 url_ownership_unverified unless each URL is under a verified prefix or domain."""
    prefixes = state.verified_url_prefixes + creator.verified_url_prefixes
    domains = state.verified_domains + creator.verified_domains
    for value in urls:
        host = (yarl.URL(value).host or "").lower()
        by_prefix = any(value.startswith(prefix) for prefix in prefixes)
        by_domain = any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)
        if not (by_prefix or by_domain):
            raise ApiError(403, "url_ownership_unverified")


def check_direct_account(state: EmulatorState, creator: Creator, level: str) -> None:
    """Account-level refusals for Direct Post (video/init, content/init DIRECT_POST)."""
    if creator.cap_state is not None:
        raise ApiError(403, creator.cap_state)
    if not state.audited:
        if not creator.private:
            raise ApiError(403, "unaudited_client_can_only_post_to_private_accounts")
        if level != "SELF_ONLY":
            raise ApiError(403, "unaudited_client_can_only_post_to_private_accounts",
                           "Unaudited clients can only post with SELF_ONLY privacy.")
        active = state.lifecycle.active_direct_users()
        if creator.open_id not in active and len(active) >= state.unaudited_user_cap:
            raise ApiError(403, "reached_active_user_cap")
    if state.lifecycle.direct_posts_today(creator.open_id) >= state.daily_post_cap:
        raise ApiError(403, "spam_risk_too_many_posts")


def check_inbox_account(state: EmulatorState, creator: Creator) -> None:
    """Account-level refusals for inbox uploads (inbox/video/init, content/init MEDIA_UPLOAD)."""
    if creator.cap_state == "spam_risk_user_banned_from_posting":
        raise ApiError(403, creator.cap_state)
    if state.lifecycle.pending_shares(creator.open_id) >= state.pending_share_cap:
        raise ApiError(403, "spam_risk_too_many_pending_share")
