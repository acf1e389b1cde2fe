"""TikTok's Display API for metrics, sans-I/O: requests built and answers read by pure functions.

- ``POST /v2/video/query/?fields=…`` with ``{"filters": {"video_ids": [...]}}``, at most
  :data:`QUERY_BATCH` ids a request: the counters of the caller's own videos (an id that is not
  the caller's, or no longer public, is simply absent from the answer).
- ``GET /v2/user/info/?fields=…`` with ``user.info.stats``: the account's lifetime totals.

Both need scopes the posting flow does not ask for (``video.list``, ``user.info.stats``):
:func:`require_scope` raises :class:`~crosspost.core.metrics.MissingScope` before any call when
the stored grant lacks one. Video ids are TikTok's 19-digit int64s: they are kept as decimal
strings, a float (a rounded id) is refused rather than turned into a wrong one
(``shared/tiktok-analytics.md`` §7).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from crosspost.core.errors import InvalidPost, Problem
from crosspost.core.metrics import AccountMetrics, MetricSnapshot, MetricSpec, MissingScope
from crosspost.core.models import Target
from crosspost.plugins.tiktok.requests import ApiRequest

PLATFORM = "tiktok"
VIDEO_QUERY_PATH = "/v2/video/query/"
VIDEO_LIST_PATH = "/v2/video/list/"
USER_INFO_PATH = "/v2/user/info/"
QUERY_BATCH = 20
"""TikTok's cap on ``video_ids`` per video/query request."""
VIDEO_SCOPE = "video.list"
STATS_SCOPE = "user.info.stats"

VIDEO_FIELDS = ("id", "create_time", "share_url", "duration", "title", "view_count", "like_count",
                "comment_count", "share_count")
USER_FIELDS = ("open_id", "display_name", "follower_count", "following_count", "likes_count", "video_count")

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="views", help="times the video was played (TikTok view_count, lifetime)"),
    MetricSpec(name="likes", help="likes on the video (like_count)"),
    MetricSpec(name="comments", help="comments on the video (comment_count)"),
    MetricSpec(name="shares", help="times the video was shared (share_count)"),
)
"""What :func:`parse_video_query` reports per video; extras: ``share_url``, ``duration`` (s),
``title``, ``create_time`` (Unix s)."""
_WIRE = {"views": "view_count", "likes": "like_count", "comments": "comment_count", "shares": "share_count"}
_EXTRAS = ("share_url", "duration", "title", "create_time")

ACCOUNT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="followers", help="accounts following this one (follower_count)"),
    MetricSpec(name="following", help="accounts this one follows (following_count)"),
    MetricSpec(name="likes", help="likes over all the account's videos (likes_count)"),
    MetricSpec(name="videos", help="public videos (video_count)"),
)
_ACCOUNT_WIRE = {"followers": "follower_count", "following": "following_count", "likes": "likes_count",
                 "videos": "video_count"}

_DIGITS = re.compile(r"[1-9][0-9]{0,19}")
_URL_ID = re.compile(r"/(?:video|photo)/([0-9]{1,20})(?:[/?#]|$)")


def reconnect_hint(account: str) -> str:
    name = account.partition(":")[2] or account
    return (f"Connect the account again granting it: `crosspost accounts login tiktok {name}` with a TikTok app "
            f"whose Display API scopes ({VIDEO_SCOPE}, {STATS_SCOPE}) are approved, or "
            f"`crosspost accounts add tiktok {name} --replace --scopes "
            f"user.info.basic,{STATS_SCOPE},video.publish,video.upload,{VIDEO_SCOPE} …` with tokens granted them. "
            "Metrics for this account wait a day, or run at once after the reconnect.")


def require_scope(granted: Iterable[str], scope: str, *, account: str) -> None:
    """Raise MissingScope when the stored grant is known and lacks ``scope``. An account stored
    without its scopes (empty) is asked anyway: TikTok's own answer then decides."""
    scopes = tuple(granted)
    if scopes and scope not in scopes:
        raise missing_scope(scope, account=account)


def missing_scope(scope: str, *, account: str) -> MissingScope:
    what = "per-post metrics" if scope == VIDEO_SCOPE else "account totals"
    return MissingScope(f"TikTok account {account} was connected without the {scope} scope, which {what} need.",
                        scope=scope, platform=PLATFORM, reconnect=reconnect_hint(account))


def video_id(value: object) -> str:
    """A video id as its exact decimal string; InvalidPost naming the field otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return value.strip()
    raise InvalidPost([Problem(field="video_ids", message=f"{value!r} is not a TikTok video id "
                                                          "(a positive integer, as decimal text)")])


def id_from_url(url: str | None) -> str | None:
    """The video (or photo) id in a ``tiktok.com/@user/video/<id>`` link, or None."""
    if not url:
        return None
    match = _URL_ID.search(url)
    return match.group(1) if match else None


def video_query_requests(ids: Sequence[str]) -> list[ApiRequest]:
    """One request per :data:`QUERY_BATCH` ids, in order, repeated ids sent once."""
    unique = list(dict.fromkeys(video_id(i) for i in ids))
    path = f"{VIDEO_QUERY_PATH}?fields={','.join(VIDEO_FIELDS)}"
    return [ApiRequest(method="POST", path=path, json={"filters": {"video_ids": unique[i:i + QUERY_BATCH]}})
            for i in range(0, len(unique), QUERY_BATCH)]


def user_info_request() -> ApiRequest:
    return ApiRequest(method="GET", path=f"{USER_INFO_PATH}?fields={','.join(USER_FIELDS)}")


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_video_query(data: Mapping[str, Any], *, target: Target, taken_at: datetime) -> list[MetricSnapshot]:
    """One snapshot per video in ``data["videos"]`` (the envelope's ``data``). A video whose id is
    not an exact integer (a float that lost digits) is skipped: its counters belong to no post."""
    videos = data.get("videos")
    snapshots: list[MetricSnapshot] = []
    for video in videos if isinstance(videos, list) else []:
        if not isinstance(video, Mapping):
            continue
        raw_id = video.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            continue
        try:
            vid = video_id(raw_id)
        except InvalidPost:
            continue
        metrics = {name: c for name, wire in _WIRE.items() if (c := _count(video.get(wire))) is not None}
        extras = {k: v for k in _EXTRAS if isinstance(v := video.get(k), str | int) and not isinstance(v, bool)}
        snapshots.append(MetricSnapshot(target=target, platform_post_id=vid, taken_at=taken_at, metrics=metrics,
                                        extras=extras))
    return snapshots


def parse_user_info(data: Mapping[str, Any], *, target: Target, taken_at: datetime) -> AccountMetrics:
    user = data.get("user")
    user = user if isinstance(user, Mapping) else {}
    metrics = {name: c for name, wire in _ACCOUNT_WIRE.items() if (c := _count(user.get(wire))) is not None}
    extras = {k: user[k] for k in ("open_id", "display_name") if isinstance(user.get(k), str)}
    return AccountMetrics(target=target, taken_at=taken_at, metrics=metrics, extras=extras)
