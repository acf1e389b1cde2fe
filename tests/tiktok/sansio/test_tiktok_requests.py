"""Exact TikTok request bodies for every example request in the seed docs and TikTok's own examples."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import attrs
import pytest

from crosspost.core.convert import post_from_dict
from crosspost.core.media import MediaFormat, MediaInfo
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.core.platform import for_platform
from crosspost.plugins.tiktok.chunks import ChunkPlan, plan_chunks
from crosspost.plugins.tiktok.importers import import_request
from crosspost.plugins.tiktok.options import TikTokOptions, parse_options
from crosspost.plugins.tiktok.requests import (
    CANCEL_PATH,
    CONTENT_INIT_PATH,
    CREATOR_INFO_PATH,
    INBOX_VIDEO_INIT_PATH,
    STATUS_PATH,
    VIDEO_INIT_PATH,
    ApiRequest,
    FileSource,
    Route,
    UrlSource,
    VerifiedUrls,
    cancel_request,
    creator_info_request,
    photo_init_request,
    route_media,
    status_request,
    video_init_request,
)

SEEDS = json.loads(Path(__file__).with_name("seed_requests.json").read_text(encoding="utf-8"))
PHOTOS = [f"https://cdn.example.com/photo{i}.jpg" for i in (1, 2, 3)]
NO_BRANDS = {"brand_content_toggle": False, "brand_organic_toggle": False}


def seed_post(name: str) -> tuple[Post, TikTokOptions]:
    """A seed example request as the TikTok plugin sees it: imported, read, narrowed, options parsed."""
    wire = import_request(SEEDS[name])
    assert wire is not None
    post = for_platform(post_from_dict(wire), "tiktok")
    options, problems = parse_options(post.options_for("tiktok"))
    assert problems == []
    return post, options


def seed_video_request(name: str) -> ApiRequest:
    post, options = seed_post(name)
    url = post.media[0].url
    assert url is not None
    return video_init_request(post, options, UrlSource(url=url))


def direct_video_body(title: str, url: str, **post_info: object) -> dict[str, object]:
    info = {"title": title, "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": False, "disable_duet": False,
            "disable_stitch": False, "video_cover_timestamp_ms": 1000, **NO_BRANDS, "is_aigc": False}
    return {"post_info": info | post_info, "source_info": {"source": "PULL_FROM_URL", "video_url": url}}


@pytest.mark.parametrize(
    ("seed", "title", "url"),
    [
        ("socialsyncer_quickstart", "Check out this amazing sunset! #sunset #nature",
         "https://cdn.example.com/sunset-video.mp4"),
        ("relayapi_quickstart", "Check out this amazing sunset! #sunset #nature", "https://cdn.example.com/sunset.mp4"),
        ("late_node", "How to build a social media app in 2026 🚀 #coding #developer #api",
         "https://example.com/tutorial.mp4"),
        ("late_python", "Python + TikTok API = 🔥 #python #automation", "https://example.com/demo.mp4"),
    ],
)
def test_seed_video_example_gives_the_exact_direct_post_body(seed, title, url):
    request = seed_video_request(seed)
    assert (request.method, request.path) == ("POST", VIDEO_INIT_PATH)
    assert request.json == direct_video_body(title, url)
    assert request.safe_to_repeat is False  # PULL_FROM_URL: a lost answer may still have started a post


def test_seed_video_cover_timestamp_example_sends_the_frame_in_post_info():
    request = seed_video_request("socialsyncer_video_cover")
    assert request.json == direct_video_body("New cooking tutorial #recipe #foodtok",
                                             "https://cdn.example.com/cooking-tutorial.mp4",
                                             video_cover_timestamp_ms=3000)
    assert "video_cover_timestamp_ms" not in request.json["source_info"]  # postiz's bug, not ours


def test_seed_ai_disclosure_example_sets_is_aigc():
    request = seed_video_request("relayapi_ai_disclosure")
    assert request.json == direct_video_body("AI-generated art experiment #aiart", "https://cdn.example.com/ai-art.mp4",
                                             is_aigc=True)


@pytest.mark.parametrize(("seed", "url"), [("socialsyncer_draft", "https://cdn.example.com/draft.mp4"),
                                           ("relayapi_draft", "https://cdn.example.com/video.mp4")])
def test_seed_draft_example_goes_to_the_inbox_with_source_info_only(seed, url):
    request = seed_video_request(seed)
    assert (request.method, request.path) == ("POST", INBOX_VIDEO_INIT_PATH)
    assert request.json == {"source_info": {"source": "PULL_FROM_URL", "video_url": url}}


def test_seed_video_downloaded_and_uploaded_uses_file_upload_with_the_chunk_plan():
    post, options = seed_post("socialsyncer_quickstart")
    request = video_init_request(post, options, FileSource(video_size=70 * 1024**2))
    assert request.json["source_info"] == {"source": "FILE_UPLOAD", "video_size": 73_400_320,
                                           "chunk_size": 33_554_432, "total_chunk_count": 2}
    assert request.safe_to_repeat is True  # an upload that never completes never publishes


@pytest.mark.parametrize(
    ("seed", "description"),
    [
        ("socialsyncer_photo_carousel", "Full trip recap from our weekend adventure. #travel #roadtrip"),
        ("zernio_photo_carousel", "Full trip recap from our weekend adventure across the coast. These are the best "
                                  "moments we captured along the way! #travel #roadtrip #adventure"),
        ("relayapi_photo_carousel", "Full trip recap from our weekend adventure! #travel #roadtrip"),
    ],
)
def test_seed_photo_carousel_example_gives_the_exact_content_init_body(seed, description):
    post, options = seed_post(seed)
    request = photo_init_request(post, options, [m.url or "" for m in post.media])
    assert (request.method, request.path, request.safe_to_repeat) == ("POST", CONTENT_INIT_PATH, False)
    assert request.json == {
        "post_info": {"title": "My travel highlights", "description": description,
                      "privacy_level": "PUBLIC_TO_EVERYONE", "disable_comment": False, "auto_add_music": True,
                      **NO_BRANDS},
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": PHOTOS},
        "post_mode": "DIRECT_POST",
        "media_type": "PHOTO",
    }


def test_photo_draft_is_media_upload_with_title_and_description_only():
    post, options = seed_post("relayapi_photo_carousel")
    request = photo_init_request(post, TikTokOptions(**{**_fields(options), "draft": True}), PHOTOS)
    assert request.json == {
        "post_info": {"title": "My travel highlights",
                      "description": "Full trip recap from our weekend adventure! #travel #roadtrip"},
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": PHOTOS},
        "post_mode": "MEDIA_UPLOAD",
        "media_type": "PHOTO",
    }


def _fields(options: TikTokOptions) -> dict[str, object]:
    return attrs.asdict(options, recurse=False)


@pytest.mark.parametrize("seed", ["postpost_video", "postpost_private_video"])
def test_postpost_example_maps_allow_flags_as_written_not_inverted(seed):
    post, options = seed_post(seed)  # allowComments true, allowDuet false, allowStitch false
    request = video_init_request(post, options, FileSource(video_size=1_000_000))
    info = request.json["post_info"]
    assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (False, True, True)
    assert info["privacy_level"] == SEEDS[seed]["platformSettings"]["tiktok"]["viewerSetting"]
    assert info["title"] == SEEDS[seed]["content"]
    assert (info["brand_content_toggle"], info["brand_organic_toggle"]) == (False, False)


@pytest.mark.parametrize(("comment", "duet", "stitch"), list(itertools.product([True, False], repeat=3)))
def test_allow_x_maps_to_disable_x_equals_not_allow_x(comment, duet, stitch):
    options = TikTokOptions(privacy_level="SELF_ONLY", allow_comment=comment, allow_duet=duet, allow_stitch=stitch)
    post = Post(targets=[Target(platform="tiktok")], content="x")
    info = video_init_request(post, options, FileSource(video_size=10)).json["post_info"]
    disables = (info["disable_comment"], info["disable_duet"], info["disable_stitch"])
    assert disables == (not comment, not duet, not stitch)
    photo_info = photo_init_request(post, options, PHOTOS).json["post_info"]
    assert photo_info["disable_comment"] is (not comment)


def test_unchosen_interaction_is_sent_disabled_never_enabled():
    options = TikTokOptions(privacy_level="SELF_ONLY", allow_comment=True)  # duet/stitch off for a private account
    info = video_init_request(Post(targets=[Target(platform="tiktok")]), options, FileSource(video_size=10)).json
    assert (info["post_info"]["disable_duet"], info["post_info"]["disable_stitch"]) == (True, True)


@pytest.mark.parametrize(
    ("kind", "organic", "content"),
    [("none", False, False), ("brand_organic", True, False), ("brand_content", False, True), ("both", True, True)],
)
def test_commercial_content_type_maps_to_both_brand_toggles(kind, organic, content):
    options = TikTokOptions(privacy_level="PUBLIC_TO_EVERYONE", allow_comment=True, allow_duet=True,
                            allow_stitch=True, commercial_content_type=kind)
    post = Post(targets=[Target(platform="tiktok")])
    for request in (video_init_request(post, options, FileSource(video_size=10)),
                    photo_init_request(post, options, PHOTOS)):
        info = request.json["post_info"]
        assert (info["brand_organic_toggle"], info["brand_content_toggle"]) == (organic, content)


def test_tiktok_official_file_upload_example_body():
    post = Post(targets=[Target(platform="tiktok")], content="this will be a funny #cat video on your @tiktok #fyp")
    options = TikTokOptions(privacy_level="MUTUAL_FOLLOW_FRIENDS", allow_duet=True, allow_comment=False,
                            allow_stitch=True, video_cover_timestamp_ms=1000)
    source = FileSource(video_size=50_000_123, plan=ChunkPlan.with_chunk_size(50_000_123, 10_000_000))
    body = video_init_request(post, options, source).json
    official = {"post_info": {"title": "this will be a funny #cat video on your @tiktok #fyp",
                              "privacy_level": "MUTUAL_FOLLOW_FRIENDS", "disable_duet": False, "disable_comment": True,
                              "disable_stitch": False, "video_cover_timestamp_ms": 1000},
                "source_info": {"source": "FILE_UPLOAD", "video_size": 50000123, "chunk_size": 10000000,
                                "total_chunk_count": 5}}
    assert body["source_info"] == official["source_info"]
    assert body["post_info"] == official["post_info"] | {**NO_BRANDS, "is_aigc": False}


def test_tiktok_official_photo_example_body():
    post = Post(targets=[Target(platform="tiktok")], content="ignored: the title is given")
    options = TikTokOptions(title="funny cat", description="this will be a #funny photomode on your @tiktok #fyp",
                            allow_comment=False, privacy_level="PUBLIC_TO_EVERYONE", auto_add_music=True,
                            photo_cover_index=1)
    images = ["https://tiktokcdn.com/obj/example-image-01.webp", "https://tiktokcdn.com/obj/example-image-02.webp"]
    assert photo_init_request(post, options, images).json == {
        "post_info": {"title": "funny cat", "description": "this will be a #funny photomode on your @tiktok #fyp",
                      "disable_comment": True, "privacy_level": "PUBLIC_TO_EVERYONE", "auto_add_music": True,
                      **NO_BRANDS},
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 1, "photo_images": images},
        "post_mode": "DIRECT_POST", "media_type": "PHOTO",
    }


def test_photo_title_is_derived_from_content_when_not_given():
    post = Post(targets=[Target(platform="tiktok")], content="Beach day #summer https://x.example/y 🌊")
    options = TikTokOptions(privacy_level="SELF_ONLY", allow_comment=False)
    info = photo_init_request(post, options, PHOTOS[:1]).json["post_info"]
    assert info["title"] == "Beach day 🌊"
    assert "description" not in info
    assert "auto_add_music" not in info


def test_video_without_caption_sends_no_title():
    options = TikTokOptions(privacy_level="SELF_ONLY", allow_comment=False, allow_duet=False, allow_stitch=False)
    body = video_init_request(Post(targets=[Target(platform="tiktok")]), options, FileSource(video_size=9)).json
    assert "title" not in body["post_info"]


def test_builders_refuse_what_validation_reports():
    post = Post(targets=[Target(platform="tiktok")])
    with pytest.raises(ValueError, match="privacy_level is required"):
        video_init_request(post, TikTokOptions(), FileSource(video_size=10))
    with pytest.raises(ValueError, match="privacy_level is required"):
        photo_init_request(post, TikTokOptions(), PHOTOS)
    with pytest.raises(ValueError, match="1 to 35 photos"):
        photo_init_request(post, TikTokOptions(privacy_level="SELF_ONLY"), [])
    with pytest.raises(ValueError, match="1 to 35 photos"):
        photo_init_request(post, TikTokOptions(privacy_level="SELF_ONLY"), PHOTOS * 12)
    with pytest.raises(ValueError, match="photo_cover_index 3"):
        photo_init_request(post, TikTokOptions(privacy_level="SELF_ONLY", photo_cover_index=3), PHOTOS)


def test_draft_video_needs_no_privacy():
    request = video_init_request(Post(targets=[Target(platform="tiktok")]), TikTokOptions(draft=True),
                                 FileSource(video_size=5))
    assert request.json == {"source_info": {"source": "FILE_UPLOAD", "video_size": 5, "chunk_size": 5,
                                            "total_chunk_count": 1}}
    assert request.safe_to_repeat is True


def test_sources_check_their_inputs():
    assert FileSource(video_size=100_000_000).plan == plan_chunks(100_000_000)
    with pytest.raises(ValueError, match="chunk plan is for"):
        FileSource(video_size=10, plan=plan_chunks(11))
    with pytest.raises(ValueError, match="https"):
        UrlSource(url="http://cdn.example.com/v.mp4")


def test_creator_status_and_cancel_requests():
    assert creator_info_request() == ApiRequest(method="POST", path=CREATOR_INFO_PATH, json=None)
    assert status_request("v_pub_file~v2-1.1") == ApiRequest(method="POST", path=STATUS_PATH,
                                                              json={"publish_id": "v_pub_file~v2-1.1"})
    assert cancel_request("v_pub_url~v2-1.2") == ApiRequest(method="POST", path=CANCEL_PATH,
                                                             json={"publish_id": "v_pub_url~v2-1.2"})


@pytest.mark.parametrize(
    ("path", "limit"),
    [(CREATOR_INFO_PATH, 20), (VIDEO_INIT_PATH, 6), (INBOX_VIDEO_INIT_PATH, 6), (CONTENT_INIT_PATH, 6),
     (STATUS_PATH, 30), (CANCEL_PATH, None)],
)
def test_rate_limits_are_tiktoks_documented_figures(path, limit):
    assert ApiRequest(method="POST", path=path).rate_limit_per_minute == limit


# --- verified URLs and media routes -------------------------------------------------------------

VERIFIED = VerifiedUrls(prefixes=["https://example.com/videos/user"], domains=["static.example.com"])


@pytest.mark.parametrize(
    ("url", "covered"),
    [
        ("https://example.com/videos/user/123/x.mp4", True),
        ("https://example.com/videos/2023/user/x.mp4", False),
        ("https://example.com/videos/user2/x.mp4", False),
        ("https://static.example.com/a.mp4", True),
        ("https://video.static.example.com/a.mp4", True),
        ("https://STATIC.example.com/a.mp4", True),
        ("https://example.com/a.mp4", False),
        ("https://notstatic.example.com/a.mp4", False),
        ("http://static.example.com/a.mp4", False),
        ("https://user:pw@static.example.com/a.mp4", False),
    ],
)
def test_verified_urls_follow_tiktoks_prefix_and_domain_rules(url, covered):
    assert VERIFIED.covers(url) is covered


def test_nothing_is_verified_by_default():
    assert not VerifiedUrls().configured
    assert not VerifiedUrls().covers("https://cdn.example.com/a.mp4")


def _info(fmt: MediaFormat) -> MediaInfo:
    return MediaInfo.of(fmt, 1000)


@pytest.mark.parametrize(
    ("media", "info", "host", "route"),
    [
        (Media(type=MediaKind.VIDEO, path="/v.mp4"), None, False, Route.FILE_UPLOAD),
        (Media(type=MediaKind.VIDEO, url="https://static.example.com/v.mp4"), None, False, Route.PULL_FROM_URL),
        (Media(type=MediaKind.VIDEO, url="https://cdn.example.com/v.mp4"), None, True, Route.DOWNLOAD_AND_UPLOAD),
        (Media(type=MediaKind.IMAGE, path="/p.jpg"), _info(MediaFormat.JPEG), True, Route.HOST),
        (Media(type=MediaKind.IMAGE, path="/p.png"), _info(MediaFormat.PNG), True, Route.CONVERT_AND_HOST),
        (Media(type=MediaKind.IMAGE, url="https://static.example.com/p.jpg"), None, True, Route.PULL_FROM_URL),
        (Media(type=MediaKind.IMAGE, url="https://cdn.example.com/p.jpg"), None, True, Route.REHOST),
        (Media(type=MediaKind.IMAGE, url="https://cdn.example.com/p.jpg"), None, False, Route.PULL_FROM_URL),
        (Media(type=MediaKind.IMAGE, path="/really-a-video.jpg"), _info(MediaFormat.MP4), False, Route.FILE_UPLOAD),
    ],
)
def test_route_media_decides_how_bytes_reach_tiktok(media, info, host, route):
    assert route_media(media, info, verified=VERIFIED, has_media_host=host) is route
