"""Every example request of the hosted services' TikTok docs (``shared/seeds``), published
against the emulator over loopback HTTP, with the exact TikTok init body asserted field by field.

The seeds' media URLs (``https://cdn.example.com/...``) cannot be fetched here, so a loopback
"CDN" serves a real clip under the same file name and the URL's origin is swapped for it. Those
URLs are not on a verified domain, so crosspost downloads them (SSRF-guarded) and uploads the
video (FILE_UPLOAD); seed photos are re-hosted through the test media host.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crosspost.core.convert import post_from_dict
from crosspost.core.models import JobStatus
from crosspost.plugins.tiktok.emulator import EmulatorState, PublishRecord
from crosspost.plugins.tiktok.importers import import_request
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext
from crosspost.testing.media import make_image

from .conftest import FileServer, sha256_of

ORIGINS = ("https://cdn.example.com/", "https://example.com/")

# -- the examples, as the seeds print them -------------------------------------------------------

RELAY_VIDEO: dict[str, Any] = {  # 002 RelayAPI, Quick Start / Video Post
    "content": "Check out this amazing sunset! #sunset #nature",
    "targets": ["tiktok"],
    "media": [{"url": "https://cdn.example.com/sunset.mp4", "type": "video"}],
    "scheduled_at": "now",
    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "allow_duet": True, "allow_stitch": True}},
}
RELAY_PHOTOS: dict[str, Any] = {  # 002 RelayAPI, Photo Carousel
    "content": "My travel highlights",
    "targets": ["tiktok"],
    "media": [{"url": f"https://cdn.example.com/photo{i}.jpg", "type": "image"} for i in (1, 2, 3)],
    "scheduled_at": "now",
    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "description": "Full trip recap from our weekend adventure! #travel #roadtrip",
                                  "auto_add_music": True, "photo_cover_index": 0}},
}
RELAY_AI: dict[str, Any] = {  # 002 RelayAPI, Video with AI Disclosure
    "content": "AI-generated art experiment #aiart",
    "targets": ["tiktok"],
    "media": [{"url": "https://cdn.example.com/ai-art.mp4", "type": "video"}],
    "scheduled_at": "now",
    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "allow_duet": True, "allow_stitch": True, "video_made_with_ai": True}},
}
RELAY_DRAFT: dict[str, Any] = {  # 002 RelayAPI, Draft to Creator Inbox
    "content": "Review before posting",
    "targets": ["tiktok"],
    "media": [{"url": "https://cdn.example.com/video.mp4", "type": "video"}],
    "scheduled_at": "now",
    "target_options": {"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                  "allow_duet": True, "allow_stitch": True, "draft": True}},
}
_CONSENT = {"content_preview_confirmed": True, "express_consent_given": True}
_ZERNIO_ACCOUNT = [{"platform": "tiktok", "accountId": "YOUR_ACCOUNT_ID"}]
SYNCER_VIDEO: dict[str, Any] = {  # 000 SocialSyncerAPI / 001 Zernio, Quick Start
    "content": "Check out this amazing sunset! #sunset #nature",
    "mediaItems": [{"type": "video", "url": "https://cdn.example.com/sunset-video.mp4"}],
    "platforms": _ZERNIO_ACCOUNT,
    "tiktokSettings": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True,
                       "allow_stitch": True, **_CONSENT},
    "publishNow": True,
}
SYNCER_COVER: dict[str, Any] = {  # 000 / 001, Video Post with a cover frame
    "content": "New cooking tutorial #recipe #foodtok",
    "mediaItems": [{"type": "video", "url": "https://cdn.example.com/cooking-tutorial.mp4"}],
    "platforms": _ZERNIO_ACCOUNT,
    "tiktokSettings": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True,
                       "allow_stitch": True, "video_cover_timestamp_ms": 3000, **_CONSENT},
    "publishNow": True,
}
SYNCER_PHOTOS: dict[str, Any] = {  # 000 / 001, Photo Carousel
    "content": "My travel highlights",
    "mediaItems": [{"type": "image", "url": f"https://cdn.example.com/photo{i}.jpg"} for i in (1, 2, 3)],
    "platforms": _ZERNIO_ACCOUNT,
    "tiktokSettings": {
        "privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "media_type": "photo",
        "photo_cover_index": 0,
        "description": "Full trip recap from our weekend adventure across the coast. These are the best moments "
                       "we captured along the way! #travel #roadtrip #adventure",
        "auto_add_music": True, **_CONSENT},
    "publishNow": True,
}
SYNCER_DRAFT: dict[str, Any] = {  # 000 SocialSyncerAPI, Draft
    "content": "Draft video for review",
    "mediaItems": [{"type": "video", "url": "https://cdn.example.com/draft.mp4"}],
    "platforms": _ZERNIO_ACCOUNT,
    "tiktokSettings": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "draft": True, **_CONSENT},
    "publishNow": True,
}
_POSTPOST_SETTINGS = {"allowComments": True, "allowDuet": False, "allowStitch": False,
                      "commercialContent": False, "brandOrganic": False, "brandedContent": False}
POSTPOST_PUBLIC: dict[str, Any] = {  # 003 PostPost (its media is uploaded in a separate step: the test adds a clip)
    "content": "How we built our startup in 60 seconds #startup #tech #coding",
    "platforms": ["tiktok-99887766"],
    "platformSettings": {"tiktok": {"viewerSetting": "PUBLIC_TO_EVERYONE", **_POSTPOST_SETTINGS}},
}
POSTPOST_FRIENDS: dict[str, Any] = {  # 003 PostPost, friends only
    "content": "Preview of our upcoming feature for close friends only",
    "platforms": ["tiktok-99887766"],
    "platformSettings": {"tiktok": {"viewerSetting": "MUTUAL_FOLLOW_FRIENDS", **_POSTPOST_SETTINGS}},
}
_LATE_SETTINGS = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": True,
                  "allow_stitch": True}
LATE_NODE: dict[str, Any] = {  # 004 Late, Node.js example (JS escapes written as the characters they stand for)
    "content": "How to build a social media app in 2026 \U0001f680 #coding #developer #api",
    "mediaItems": [{"type": "video", "url": "https://example.com/tutorial.mp4"}],
    "platforms": [{"platform": "tiktok", "accountId": "acc_abc123",
                   "platformSpecificData": {"tiktokSettings": _LATE_SETTINGS}}],
    "scheduledFor": "2026-03-15T14:00:00Z", "timezone": "America/New_York",
}
LATE_PYTHON: dict[str, Any] = {  # 004 Late, Python example
    "content": "Python + TikTok API = \U0001f525 #python #automation",
    "mediaItems": [{"type": "video", "url": "https://example.com/demo.mp4"}],
    "platforms": [{"platform": "tiktok", "accountId": "acc_abc123",
                   "platformSpecificData": {"tiktokSettings": _LATE_SETTINGS}}],
    "scheduledFor": "2026-03-15T14:00:00Z", "timezone": "Europe/London",
}


def _post_info(title: str, *, privacy: str = "PUBLIC_TO_EVERYONE", comment: bool = True, duet: bool = True,
               stitch: bool = True, cover_ms: int = 1000, aigc: bool = False) -> dict[str, Any]:
    """TikTok's video post_info, written out in full (TikTok's field names and meanings)."""
    return {"title": title, "privacy_level": privacy, "disable_comment": not comment, "disable_duet": not duet,
            "disable_stitch": not stitch, "video_cover_timestamp_ms": cover_ms, "brand_content_toggle": False,
            "brand_organic_toggle": False, "is_aigc": aigc}


VIDEO_CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "relay_video": (RELAY_VIDEO, _post_info("Check out this amazing sunset! #sunset #nature")),
    "relay_ai_disclosure": (RELAY_AI, _post_info("AI-generated art experiment #aiart", aigc=True)),
    "relay_draft": (RELAY_DRAFT, None),
    "syncer_video": (SYNCER_VIDEO, _post_info("Check out this amazing sunset! #sunset #nature")),
    "syncer_cover_timestamp": (SYNCER_COVER, _post_info("New cooking tutorial #recipe #foodtok", cover_ms=3000)),
    "syncer_draft": (SYNCER_DRAFT, None),
    "postpost_public": (POSTPOST_PUBLIC, _post_info(POSTPOST_PUBLIC["content"], duet=False, stitch=False)),
    "postpost_friends": (POSTPOST_FRIENDS, _post_info(POSTPOST_FRIENDS["content"], privacy="MUTUAL_FOLLOW_FRIENDS",
                                                      duet=False, stitch=False)),
    "late_node": (LATE_NODE, _post_info(LATE_NODE["content"])),
    "late_python": (LATE_PYTHON, _post_info(LATE_PYTHON["content"])),
}


def _to_post(payload: dict[str, Any], cdn: FileServer, clip: Path) -> Any:
    request = import_request(payload, account_map={"YOUR_ACCOUNT_ID": "main", "acc_abc123": "main"})
    assert request is not None
    request = dict(request)
    media = [dict(item) for item in request.get("media", [])]
    for item in media:
        for origin in ORIGINS:
            if item.get("url", "").startswith(origin):
                name = item["url"][len(origin):]
                if item["type"] == "video":
                    cdn.add(clip, name=name)
                item["url"] = cdn.base_url + name
    request["media"] = media or [{"type": "video", "path": str(clip)}]
    request["scheduled_at"] = "now"
    request.pop("timezone", None)
    return post_from_dict(request)


def _only_publish(state: EmulatorState) -> PublishRecord:
    assert len(state.published) == 1
    return state.published[0]


@pytest.mark.parametrize("case", sorted(VIDEO_CASES))
async def test_seed_video_example_is_published_with_the_exact_init_body(
    case: str, platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    cdn: FileServer, video: Callable[..., Path],
) -> None:
    payload, post_info = VIDEO_CASES[case]
    clip = video("mp4")
    post = _to_post(payload, cdn, clip)
    ctx = make_ctx()

    outcome = await platform.publish(post, ctx)

    record = _only_publish(state)
    size = clip.stat().st_size
    source_info = {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": size, "total_chunk_count": 1}
    if post_info is None:  # a draft: inbox/video/init takes source_info only
        assert record.request_body == {"source_info": source_info}
        assert record.mode == "inbox"
        assert outcome.status is JobStatus.INBOX
        assert any("privacy_level is ignored" in w for w in ctx.warnings)
    else:
        assert record.request_body["post_info"] == post_info
        assert record.request_body["source_info"] == source_info
        assert set(record.request_body) == {"post_info", "source_info"}
        assert outcome.status is JobStatus.PUBLISHED
        if post_info["privacy_level"] == "PUBLIC_TO_EVERYONE":
            assert outcome.post_url is not None
            assert outcome.post_url.startswith("https://www.tiktok.com/@sunset.creator/video/")
        else:  # TikTok gives a post id only for public posts; success all the same
            assert outcome.post_url is None
    assert record.sha256 == sha256_of(clip)
    assert record.content_type == "video/mp4"
    assert outcome.publish_id == record.publish_id


@pytest.mark.parametrize("payload", [RELAY_PHOTOS, SYNCER_PHOTOS], ids=["relay", "syncer"])
async def test_seed_photo_carousel_is_published_with_the_exact_init_body(
    payload: dict[str, Any], platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext],
    state: EmulatorState, cdn: FileServer, media_host: FileServer, tmp_path: Path,
) -> None:
    photos = {f"photo{i}.jpg": make_image(tmp_path / f"photo{i}.jpg", width=1080, height=1350) for i in (1, 2, 3)}
    for name, path in photos.items():
        cdn.add(path, name=name)
    post = _to_post(payload, cdn, tmp_path / "unused.mp4")
    ctx = make_ctx(media_host=media_host.host)

    outcome = await platform.publish(post, ctx)

    record = _only_publish(state)
    body = record.request_body
    description = payload.get("tiktokSettings", payload.get("target_options", {}).get("tiktok", {}))["description"]
    assert body["post_info"] == {
        "title": "My travel highlights", "description": description, "privacy_level": "PUBLIC_TO_EVERYONE",
        "disable_comment": False, "auto_add_music": True, "brand_content_toggle": False,
        "brand_organic_toggle": False,
    }
    images = body["source_info"]["photo_images"]
    assert body["source_info"] == {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": images}
    assert body["post_mode"] == "DIRECT_POST"
    assert body["media_type"] == "PHOTO"
    assert set(body) == {"post_info", "source_info", "post_mode", "media_type"}
    assert all(url.startswith(media_host.base_url) for url in images)
    assert [item.sha256 for item in record.items] == [sha256_of(photos[f"photo{i}.jpg"]) for i in (1, 2, 3)]
    assert outcome.status is JobStatus.PUBLISHED
    assert outcome.post_url is not None
    assert "/photo/" in outcome.post_url
