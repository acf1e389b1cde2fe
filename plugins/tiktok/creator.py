"""The creator's live posting settings, from ``/v2/post/publish/creator_info/query/``.

TikTok's UX rules make this the source of truth before any direct post: which privacy levels
this creator may use, which interactions they have turned off, and the longest video they may
post. Parsing is lenient (a missing or oddly typed key falls back to a safe value) because the
response is informational and TikTok re-checks everything server-side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

PRIVACY_LEVELS: tuple[str, ...] = (
    "PUBLIC_TO_EVERYONE",
    "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWER_OF_CREATOR",
    "SELF_ONLY",
)
"""Every privacy level TikTok knows; a creator is offered a subset of these."""


@attrs.frozen(kw_only=True)
class CreatorInfo:
    """One creator's posting settings, as TikTok reported them just now."""

    username: str = ""
    """The handle (``creator_username``), used in post URLs."""
    nickname: str = ""
    """Display name; TikTok's guidelines ask apps to show it before posting."""
    avatar_url: str = ""
    """Avatar URL; TikTok says it expires after 2 hours."""
    privacy_level_options: tuple[str, ...] = ()
    """The privacy levels this creator may choose from, in TikTok's order."""
    comment_disabled: bool = False
    """True when the creator set comments to "No one": ``allow_comment`` cannot be true."""
    duet_disabled: bool = False
    """True for private accounts or Duet set to "No one": ``allow_duet`` cannot be true."""
    stitch_disabled: bool = False
    """True for private accounts or Stitch set to "No one": ``allow_stitch`` cannot be true."""
    max_video_post_duration_sec: int | None = None
    """Longest video this creator may post, in seconds; ``None`` when TikTok did not say."""


def parse_creator_info(data: Mapping[str, Any]) -> CreatorInfo:
    """Read the ``data`` object of a creator_info response.

    Never raises on a missing key or an odd type: strings default to ``""``, the disabled flags to
    ``False``, the options to ``()`` and the maximum duration to ``None``.
    """
    return CreatorInfo(
        username=_text(data.get("creator_username")),
        nickname=_text(data.get("creator_nickname")),
        avatar_url=_text(data.get("creator_avatar_url")),
        privacy_level_options=_options(data.get("privacy_level_options")),
        comment_disabled=data.get("comment_disabled") is True,
        duet_disabled=data.get("duet_disabled") is True,
        stitch_disabled=data.get("stitch_disabled") is True,
        max_video_post_duration_sec=_seconds(data.get("max_video_post_duration_sec")),
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _options(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(dict.fromkeys(v for v in value if isinstance(v, str) and v))


def _seconds(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None
