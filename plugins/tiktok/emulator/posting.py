"""The Content Posting endpoints: creator_info, the three inits, status/fetch and cancel.

Handlers are thin: :mod:`.access` authenticates, :mod:`.init_rules` validates, the lifecycle
records the publish, and :mod:`.upload` / :mod:`.pull` move the media. Paths, envelopes, HTTP
statuses and error codes follow tiktok-api.md §2 exactly; see :mod:`.init_rules` for the choices
made where TikTok's behaviour is unconfirmed.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .access import authorize, invalid, read_json, require_scope, state_of
from .envelope import ApiError, api_response
from .init_rules import (
    PHOTO_DESCRIPTION_MAX,
    PHOTO_TITLE_MAX,
    VIDEO_TITLE_MAX,
    check_direct_account,
    check_file_upload,
    check_inbox_account,
    check_ownership,
    check_post_info,
    check_privacy,
    check_url_shape,
    object_field,
    source_of,
)
from .pull import cancel_pull, start_pull
from .records import AccessToken, Creator, PublishMode, PublishRecord
from .state import EmulatorState
from .upload import open_upload

_STATUS_SCOPES = ("video.publish", "video.upload")


def _creator(state: EmulatorState, grant: AccessToken) -> Creator:
    creator = state.creators.get(grant.open_id)
    if creator is None:
        raise ApiError(401, "access_token_invalid")
    return creator


async def creator_info(request: web.Request) -> web.Response:
    """The creator's posting options; spam/cap states are HTTP 200 with that code (intentional)."""
    state = state_of(request)
    creator = _creator(state, authorize(request, "creator_info", ("video.publish",)))
    cap = creator.cap_state
    if cap is None and state.lifecycle.direct_posts_today(creator.open_id) >= state.daily_post_cap:
        cap = "spam_risk_too_many_posts"
    if cap is not None:
        raise ApiError(200, cap)
    return api_response(state.log_id(), {
        "creator_avatar_url": creator.avatar_url,
        "creator_username": creator.username,
        "creator_nickname": creator.nickname,
        "privacy_level_options": list(creator.privacy_level_options),
        "comment_disabled": creator.comment_disabled,
        "duet_disabled": creator.duet_disabled,
        "stitch_disabled": creator.stitch_disabled,
        "max_video_post_duration_sec": creator.max_video_post_duration_sec,
    })


async def video_init(request: web.Request) -> web.Response:
    """Direct Post of a video (FILE_UPLOAD or PULL_FROM_URL)."""
    state = state_of(request)
    creator = _creator(state, authorize(request, "video_init", ("video.publish",)))
    body = await read_json(request)
    post_info = object_field(state, body, "post_info", required=False)
    check_post_info(state, post_info, limits={"title": VIDEO_TITLE_MAX})
    level = check_privacy(state, creator, post_info)
    return await _video_media(request, state, creator, body, mode="direct", privacy_level=level)


async def inbox_init(request: web.Request) -> web.Response:
    """Upload a video to the creator's inbox as a draft (``source_info`` only)."""
    state = state_of(request)
    creator = _creator(state, authorize(request, "inbox_init", ("video.upload",)))
    body = await read_json(request)
    return await _video_media(request, state, creator, body, mode="inbox", privacy_level=None)


async def _video_media(request: web.Request, state: EmulatorState, creator: Creator, body: dict[str, Any], *,
                       mode: PublishMode, privacy_level: str | None) -> web.Response:
    source_info = object_field(state, body, "source_info", required=True)
    source = source_of(state, source_info, ("FILE_UPLOAD", "PULL_FROM_URL"))
    plan = check_file_upload(state, source_info) if source == "FILE_UPLOAD" else None
    url = None if plan else check_url_shape(state, source_info.get("video_url"), "video_url")
    if privacy_level is not None:
        check_direct_account(state, creator, privacy_level)
    else:
        check_inbox_account(state, creator)
    if url is not None:
        check_ownership(state, creator, [url])
    kind = "file" if plan else "url"
    prefix = f"v_pub_{kind}~v2-1." if mode == "direct" else f"v_inbox_{kind}~v2."
    publish = state.lifecycle.create(
        open_id=creator.open_id, mode=mode, media_type="VIDEO",
        source="FILE_UPLOAD" if plan else "PULL_FROM_URL", body=body, privacy_level=privacy_level,
        prefix=prefix, total_bytes=plan[0] if plan else None)
    data: dict[str, Any] = {"publish_id": publish.publish_id}
    if plan:
        data["upload_url"] = open_upload(request, publish, *plan)
    elif url is not None:
        start_pull(request.app, publish, [url])
    return api_response(state.log_id(), data)


async def content_init(request: web.Request) -> web.Response:
    """Photo posts: PULL_FROM_URL only, DIRECT_POST or MEDIA_UPLOAD (the scope follows the mode)."""
    state = state_of(request)
    grant = authorize(request, "content_init", ())
    creator = _creator(state, grant)
    body = await read_json(request)
    if body.get("media_type") != "PHOTO":
        raise invalid(state, "media_type must be PHOTO.")
    post_mode = body.get("post_mode")
    if post_mode not in ("DIRECT_POST", "MEDIA_UPLOAD"):
        raise invalid(state, "post_mode must be DIRECT_POST or MEDIA_UPLOAD.")
    require_scope(grant, ("video.publish",) if post_mode == "DIRECT_POST" else ("video.upload",))
    post_info = object_field(state, body, "post_info", required=False)
    check_post_info(state, post_info, limits={"title": PHOTO_TITLE_MAX, "description": PHOTO_DESCRIPTION_MAX})
    level = check_privacy(state, creator, post_info) if post_mode == "DIRECT_POST" else None
    urls = _photo_urls(state, object_field(state, body, "source_info", required=True))
    if level is not None:
        check_direct_account(state, creator, level)
    else:
        if creator.outdated_app:
            raise ApiError(400, "app_version_check_failed")
        check_inbox_account(state, creator)
    check_ownership(state, creator, urls)
    direct = post_mode == "DIRECT_POST"
    publish = state.lifecycle.create(
        open_id=creator.open_id, mode="direct" if direct else "inbox", media_type="PHOTO",
        source="PULL_FROM_URL", body=body, privacy_level=level,
        prefix="p_pub_url~v2." if direct else "p_inbox_url~v2.")
    start_pull(request.app, publish, urls)
    return api_response(state.log_id(), {"publish_id": publish.publish_id})


def _photo_urls(state: EmulatorState, source_info: dict[str, Any]) -> list[str]:
    source_of(state, source_info, ("PULL_FROM_URL",))
    images = source_info.get("photo_images")
    if not isinstance(images, list) or not 1 <= len(images) <= 35:
        raise invalid(state, "source_info.photo_images must list 1 to 35 image URLs.")
    cover = source_info.get("photo_cover_index")
    if isinstance(cover, bool) or not isinstance(cover, int) or not 0 <= cover < len(images):
        raise invalid(state, "source_info.photo_cover_index must index into photo_images.")
    return [check_url_shape(state, url, "photo_images") for url in images]


async def _own_publish(request: web.Request, route: str) -> PublishRecord:
    state = state_of(request)
    grant = authorize(request, route, _STATUS_SCOPES)
    body = await read_json(request)
    publish_id = body.get("publish_id")
    if not isinstance(publish_id, str) or not publish_id:
        raise invalid(state, "publish_id is required.")
    publish = state.publishes.get(publish_id)
    if publish is None:
        raise ApiError(400, "invalid_publish_id")
    if publish.open_id != grant.open_id:
        raise ApiError(400, "token_not_authorized_for_specified_publish_id")
    return publish


async def status_fetch(request: web.Request) -> web.Response:
    """Where a publish is; each call is one poll of the deterministic progression."""
    state = state_of(request)
    publish = await _own_publish(request, "status")
    state.lifecycle.poll(publish)
    return api_response(state.log_id(), status_data(state, publish))


def status_data(state: EmulatorState, publish: PublishRecord) -> dict[str, Any]:
    """``data`` of status/fetch: byte counts while processing or failed, post ids once public."""
    data: dict[str, Any] = {"status": publish.status}
    if publish.status == "FAILED":
        data["fail_reason"] = publish.fail_reason
    if publish.status in ("PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD", "FAILED"):
        key = "uploaded_bytes" if publish.source == "FILE_UPLOAD" else "downloaded_bytes"
        data[key] = publish.transferred_bytes
    if publish.status == "PUBLISH_COMPLETE" and publish.post_ids:
        fmt = state.post_id_format
        if fmt == "list":
            data["publicaly_available_post_id"] = list(publish.post_ids)
        elif fmt == "int":
            data["publicaly_available_post_id"] = publish.post_ids[0]
        elif fmt == "string":
            data["publicaly_available_post_id"] = str(publish.post_ids[0])
        elif fmt == "empty_list":
            data["publicaly_available_post_id"] = []
    return data


async def cancel(request: web.Request) -> web.Response:
    """Cancel a PULL_FROM_URL publish while its download is still running."""
    state = state_of(request)
    publish = await _own_publish(request, "cancel")
    if publish.source != "PULL_FROM_URL" or publish.media_complete or publish.terminal:
        raise ApiError(400, "publish_not_cancellable")
    cancel_pull(state, publish)
    return api_response(state.log_id(), None)
