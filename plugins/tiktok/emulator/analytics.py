"""The Display API on the emulator: ``/v2/video/query/``, ``/v2/video/list/`` and user stats.

Counters grow with the emulator's clock (:func:`video_counters`), so a test moving a
``FakeClock`` through a week sees views, likes, comments and shares rise, deterministically: the
growth rate is derived from the video id. Only published posts that TikTok made public (they
have a post id) are videos here. Ids go out as strings, as in TikTok's Video Object; both routes
need the ``video.list`` scope and have TikTok's 600 a minute per-token window.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .access import authorize, invalid, read_json, state_of
from .envelope import api_response
from .records import PublishRecord
from .state import EmulatorState

QUERY_CAP = 20
VIDEO_FIELDS = frozenset({"id", "create_time", "cover_image_url", "share_url", "video_description", "duration",
                          "height", "width", "title", "embed_html", "embed_link", "like_count", "comment_count",
                          "share_count", "view_count"})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/v2/video/query/", video_query, name="video_query")
    router.add_post("/v2/video/list/", video_list, name="video_list")


def video_counters(publish: PublishRecord, now: float) -> dict[str, int]:
    """Lifetime counters of a public video ``now``: zero at publish, growing like ``hours**0.75``."""
    post_id = publish.post_ids[0] if publish.post_ids else 0
    rate = 20 + post_id % 80
    hours = max(0.0, now - publish.created_at) / 3600.0
    views = int(rate * 10 * hours ** 0.75)
    return {"view_count": views, "like_count": views * 8 // 100, "comment_count": views // 50,
            "share_count": views // 120}


def public_videos(state: EmulatorState, open_id: str) -> list[PublishRecord]:
    """The creator's published posts that have a public id, newest first."""
    videos = [p for p in state.published
              if p.open_id == open_id and p.status == "PUBLISH_COMPLETE" and p.post_ids]
    return sorted(videos, key=lambda p: p.created_at, reverse=True)


def user_stats(state: EmulatorState, open_id: str) -> dict[str, int]:
    """``user.info.stats`` fields: followers grow with total views."""
    now = state.now()
    counters = [video_counters(p, now) for p in public_videos(state, open_id)]
    views = sum(c["view_count"] for c in counters)
    return {"follower_count": 10 + views // 100, "following_count": 3,
            "likes_count": sum(c["like_count"] for c in counters), "video_count": len(counters)}


def _video(state: EmulatorState, publish: PublishRecord, fields: list[str]) -> dict[str, Any]:
    creator = state.creators.get(publish.open_id)
    video_id = str(publish.post_ids[0])
    info = publish.request_body.get("post_info") if isinstance(publish.request_body, dict) else None
    title = str(info.get("title", "")) if isinstance(info, dict) else ""
    username = creator.username if creator is not None else "creator"
    values: dict[str, Any] = {
        "id": video_id, "create_time": int(publish.created_at), "title": title, "video_description": title,
        "share_url": f"https://www.tiktok.com/@{username}/video/{video_id}", "duration": 15,
        "height": 1920, "width": 1080, "cover_image_url": f"https://p16.tiktokcdn.example/cover/{video_id}.jpeg",
        "embed_link": f"https://www.tiktok.com/player/v1/{video_id}",
        "embed_html": f'<blockquote class="tiktok-embed" data-video-id="{video_id}"></blockquote>',
        **video_counters(publish, state.now()),
    }
    return {f: values[f] for f in fields}


def _fields(request: web.Request, state: EmulatorState) -> list[str]:
    fields = [f for f in request.query.get("fields", "").split(",") if f]
    if not fields:
        raise invalid(state, "Fields is required, please provide fields in the request")
    unknown = [f for f in fields if f not in VIDEO_FIELDS]
    if unknown:
        raise invalid(state, f"Invalid fields: {','.join(unknown)}")
    return fields


async def video_query(request: web.Request) -> web.Response:
    state = state_of(request)
    grant = authorize(request, "video_query", ("video.list",))
    fields = _fields(request, state)
    body = await read_json(request)
    filters = body.get("filters")
    ids = filters.get("video_ids") if isinstance(filters, dict) else None
    if not isinstance(ids, list) or not ids:
        raise invalid(state, "filters.video_ids is required")
    if len(ids) > QUERY_CAP:
        raise invalid(state, f"filters.video_ids takes at most {QUERY_CAP} ids")
    wanted = {str(i) for i in ids}
    videos = [_video(state, p, fields) for p in public_videos(state, grant.open_id)
              if str(p.post_ids[0]) in wanted]
    return api_response(state.log_id(), {"videos": videos, "cursor": 0, "has_more": False})


async def video_list(request: web.Request) -> web.Response:
    state = state_of(request)
    grant = authorize(request, "video_list", ("video.list",))
    fields = _fields(request, state)
    body = await read_json(request)
    count = body.get("max_count", 10)
    if not isinstance(count, int) or not 1 <= count <= QUERY_CAP:
        raise invalid(state, f"max_count must be 1 to {QUERY_CAP}")
    cursor = body.get("cursor")
    videos = public_videos(state, grant.open_id)
    if isinstance(cursor, int) and cursor > 0:
        videos = [p for p in videos if p.created_at * 1000 < cursor]
    page = videos[:count]
    next_cursor = int(page[-1].created_at * 1000) if page else 0
    return api_response(state.log_id(), {"videos": [_video(state, p, fields) for p in page],
                                         "cursor": next_cursor, "has_more": len(videos) > count})
