"""validate_for_tiktok: one test per rule, every problem at once, named field, what would be accepted."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from crosspost.core.convert import post_from_dict
from crosspost.core.media import MediaFormat, MediaInfo
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.core.platform import Validation, for_platform
from crosspost.plugins.tiktok.creator import CreatorInfo
from crosspost.plugins.tiktok.importers import import_request
from crosspost.plugins.tiktok.options import TikTokOptions
from crosspost.plugins.tiktok.validate import validate_for_tiktok, validate_post

SEEDS = json.loads(Path(__file__).with_name("seed_requests.json").read_text(encoding="utf-8"))
OPTS = "target_options.tiktok"
CREATOR = CreatorInfo(
    username="creator", nickname="Creator",
    privacy_level_options=("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"),
    max_video_post_duration_sec=600,
)
PRIVATE_CREATOR = attrs.evolve(
    CREATOR, privacy_level_options=("FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"),
    duet_disabled=True, stitch_disabled=True,
)
VIDEO_OPTIONS = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": False,
                 "allow_stitch": True}
PHOTO_OPTIONS = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": False}
VERIFIED_DOMAIN = "static.example.com"


def video_info(**changes: object) -> MediaInfo:
    info = MediaInfo(format=MediaFormat.MP4, mime="video/mp4", kind=MediaKind.VIDEO, size=10_000_000,
                     duration_s=15.0, fps=30.0, width=1080, height=1920, codec="h264")
    return attrs.evolve(info, **changes)


def photo_info(**changes: object) -> MediaInfo:
    info = MediaInfo(format=MediaFormat.JPEG, mime="image/jpeg", kind=MediaKind.IMAGE, size=500_000,
                     width=1080, height=1920)
    return attrs.evolve(info, **changes)


def local_video(name: str = "clip.mp4") -> Media:
    return Media(type=MediaKind.VIDEO, path=f"/media/{name}")


def photo_url(index: int = 0, host: str = VERIFIED_DOMAIN, ext: str = "jpg") -> Media:
    return Media(type=MediaKind.IMAGE, url=f"https://{host}/p{index}.{ext}")


def check(
    media: list[Media],
    infos: list[MediaInfo | None] | None = None,
    options: dict[str, object] | None = None,
    *,
    content: str = "Hello world",
    creator: CreatorInfo | None = CREATOR,
    host: bool = True,
    domains: tuple[str, ...] = (VERIFIED_DOMAIN,),
    prefixes: tuple[str, ...] = (),
) -> Validation:
    if infos is None:
        infos = [video_info() if m.type is MediaKind.VIDEO else None for m in media]
    if options is None:
        options = VIDEO_OPTIONS if any(m.type is MediaKind.VIDEO for m in media) else PHOTO_OPTIONS
    post = Post(content=content, targets=[Target(platform="tiktok")], media=media, target_options={"tiktok": options})
    _, result = validate_post(for_platform(post, "tiktok"), creator, infos, verified_domains=domains,
                              verified_url_prefixes=prefixes, has_media_host=host)
    return result


def problems_at(result: Validation, field: str) -> list[str]:
    return [p.message for p in result.problems if p.field == field]


def only_problem(result: Validation, field: str) -> str:
    assert [p.field for p in result.problems] == [field], result.problems
    return result.problems[0].message


def warned(result: Validation, *fragments: str) -> bool:
    return any(all(f in w for f in fragments) for w in result.warnings)


# --- valid posts ---------------------------------------------------------------------------------


def test_valid_video_post_has_no_problems_and_no_warnings():
    assert check([local_video()]) == Validation()


def test_valid_photo_post_has_no_problems():
    result = check([photo_url(i) for i in range(3)], content="Three photos")
    assert result == Validation()


# --- media shape ---------------------------------------------------------------------------------


def test_media_required_no_text_only_posts():
    message = only_problem(check([]), "media")
    assert "one video or 1-35 photos" in message
    assert "text-only" in message


def test_photos_and_video_cannot_be_mixed():
    result = check([local_video(), photo_url()], [video_info(), None], {**VIDEO_OPTIONS})
    assert "cannot be mixed" in only_problem(result, "media")


def test_one_video_at_most():
    result = check([local_video("a.mp4"), local_video("b.mp4")])
    assert only_problem(result, "media") == "TikTok takes one video per post, got 2"


@pytest.mark.parametrize(("count", "ok"), [(1, True), (35, True), (36, False)])
def test_photo_count_is_1_to_35(count, ok):
    result = check([photo_url(i) for i in range(count)], content="x")
    assert result.ok is ok
    if not ok:
        assert only_problem(result, "media") == "TikTok takes 1 to 35 photos per post, got 36"


# --- formats from the bytes ----------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "ok"), [(MediaFormat.MP4, True), (MediaFormat.MOV, True), (MediaFormat.WEBM, True),
                                         (MediaFormat.MKV, False), (MediaFormat.AVI, False)])
def test_video_format_is_judged_from_the_bytes(fmt, ok):
    result = check([local_video()], [video_info(format=fmt, mime=fmt.mime)])
    assert result.ok is ok
    if not ok:
        assert only_problem(result, "media[0]") == f"TikTok does not take {fmt.label} videos: use MP4, MOV or WebM"


@pytest.mark.parametrize(("fmt", "ok"), [(MediaFormat.JPEG, True), (MediaFormat.WEBP, True),
                                         (MediaFormat.GIF, False), (MediaFormat.HEIC, False)])
def test_photo_format_is_judged_from_the_bytes(fmt, ok):
    result = check([photo_url()], [photo_info(format=fmt, mime=fmt.mime)])
    assert result.ok is ok
    if not ok:
        assert "use JPEG or WebP" in only_problem(result, "media[0]")


def test_local_png_photo_is_converted_to_jpeg_with_a_warning():
    media = Media(type=MediaKind.IMAGE, path="/media/shot.png")
    result = check([media], [photo_info(format=MediaFormat.PNG, mime="image/png", size=30 * 1024**2)])
    assert result.ok
    assert warned(result, "media[0]", "PNG is converted to JPEG")


def test_png_photo_url_is_refused_clearly():
    result = check([photo_url(ext="png")], [photo_info(format=MediaFormat.PNG, mime="image/png")])
    message = only_problem(result, "media[0]")
    assert "TikTok takes no PNG photos" in message
    assert "convert it to JPEG or WebP" in message


def test_photo_url_that_looks_like_png_warns_when_not_read():
    result = check([photo_url(ext="PNG")], [None])
    assert result.ok
    assert warned(result, "looks like a PNG")


def test_declared_kind_must_match_the_bytes():
    media = Media(type=MediaKind.VIDEO, path="/media/clip.mp4")
    result = check([media], [photo_info()], {**PHOTO_OPTIONS})
    assert problems_at(result, "media[0].type") == ["declared 'video', but the file is a JPEG image"]


def test_html_page_saved_as_video_is_refused_with_share_link_guidance():
    info = MediaInfo.of(MediaFormat.HTML, 2048, "the file is an HTML page, not a video or photo")
    message = only_problem(check([local_video()], [info]), "media[0]")
    assert message.startswith("the file is an HTML page")
    assert "Google Drive, Dropbox" in message


def test_unreadable_media_is_a_problem_not_a_crash():
    info = MediaInfo.of(MediaFormat.MP4, 1000, "the MP4 container is truncated or corrupt: moov box missing")
    assert only_problem(check([local_video()], [info]), "media[0]") == info.problem


def test_unknown_bytes_are_refused_naming_accepted_formats():
    info = attrs.evolve(MediaInfo.of(MediaFormat.UNKNOWN, 10), problem=None)
    assert "use MP4, MOV or WebM video, or JPEG or WebP photos" in only_problem(check([local_video()], [info]),
                                                                                 "media[0]")


# --- sizes, duration, frame rate, picture size ----------------------------------------------------


@pytest.mark.parametrize(("size", "ok"), [(4 * 1024**3, True), (4 * 1024**3 + 1, False)])
def test_video_is_at_most_4_gib(size, ok):
    result = check([local_video()], [video_info(size=size)])
    assert result.ok is ok
    if not ok:
        assert "at most 4 GiB (4,294,967,296)" in only_problem(result, "media[0]")


@pytest.mark.parametrize(("size", "ok"), [(20 * 1024**2, True), (20 * 1024**2 + 1, False)])
def test_photo_is_at_most_20_mib(size, ok):
    result = check([photo_url()], [photo_info(size=size)])
    assert result.ok is ok
    if not ok:
        assert "at most 20 MiB" in only_problem(result, "media[0]")


@pytest.mark.parametrize(("seconds", "ok"), [(2.99, False), (3.0, True)])
def test_video_lasts_at_least_3_seconds(seconds, ok):
    result = check([local_video()], [video_info(duration_s=seconds)])
    assert result.ok is ok
    if not ok:
        assert only_problem(result, "media[0]") == "the video lasts 2.99 s; TikTok needs at least 3 s"


def test_video_longer_than_the_creators_maximum_names_the_limit():
    result = check([local_video()], [video_info(duration_s=600.5)])
    assert only_problem(result, "media[0]") == (
        "the video lasts 600.50 s; this creator may post videos of at most 600 s (max_video_post_duration_sec)")
    assert check([local_video()], [video_info(duration_s=600.0)]).ok


def test_long_video_without_creator_limit_warns():
    result = check([local_video()], [video_info(duration_s=900)], {"draft": True}, creator=None, content="")
    assert result.ok
    assert warned(result, "lasts 900 s", "10 minutes")


@pytest.mark.parametrize(("fps", "ok"), [(22.9, False), (23.0, True), (23.976, True), (59.94, True), (60.0, True),
                                         (60.004, True), (60.5, False)])
def test_frame_rate_is_23_to_60(fps, ok):
    result = check([local_video()], [video_info(fps=fps)])
    assert result.ok is ok
    if not ok:
        assert "TikTok takes 23 to 60 fps" in only_problem(result, "media[0]")


@pytest.mark.parametrize(("width", "height", "ok"), [(360, 360, True), (4096, 4096, True), (359, 640, False),
                                                     (1080, 4097, False), (1920, 1080, True)])
def test_picture_is_360_to_4096_px_each_side(width, height, ok):
    result = check([local_video()], [video_info(width=width, height=height)])
    assert result.ok is ok
    if not ok:
        assert f"{width}x{height} px; TikTok takes 360 to 4096 px" in only_problem(result, "media[0]")


def test_unreadable_measurements_warn_instead_of_guessing():
    result = check([local_video()], [video_info(duration_s=None, fps=None, width=None)])
    assert result.ok
    assert warned(result, "duration could not be read")
    assert warned(result, "frame rate could not be read")
    assert warned(result, "picture size could not be read")


def test_uncommon_codec_warns():
    result = check([local_video()], [video_info(codec="prores")])
    assert result.ok
    assert warned(result, "codec is prores")


def test_large_photo_warns_about_1080p():
    result = check([photo_url()], [photo_info(width=3000, height=4000)])
    assert result.ok
    assert warned(result, "3000x4000", "1080p")


# --- text limits in UTF-16 units -------------------------------------------------------------------


@pytest.mark.parametrize(("content", "ok"), [("a" * 2200, True), ("🔥" * 1100, True), ("🔥" * 1100 + "a", False)])
def test_video_caption_is_at_most_2200_utf16_units(content, ok):
    result = check([local_video()], content=content)
    assert result.ok is ok
    if not ok:
        assert only_problem(result, "content").startswith("the caption is 2201 UTF-16 units long (emoji count as 2)")


def test_photo_description_is_at_most_4000_utf16_units():
    options = {**PHOTO_OPTIONS, "description": "👍" * 2000}
    assert check([photo_url()], options=options).ok
    result = check([photo_url()], options={**options, "description": "👍" * 2000 + "."})
    assert "4001 UTF-16 units long" in only_problem(result, f"{OPTS}.description")


def test_explicit_photo_title_is_at_most_90_utf16_units():
    assert check([photo_url()], options={**PHOTO_OPTIONS, "title": "x" * 90}).ok
    result = check([photo_url()], options={**PHOTO_OPTIONS, "title": "🔥" * 46})
    assert "92 UTF-16 units long" in only_problem(result, f"{OPTS}.title")


def test_derived_photo_title_warns_when_text_is_dropped_and_no_description_is_given():
    result = check([photo_url()], content="Beach day #summer")
    assert result.ok
    assert warned(result, "photo title is derived", "hashtags and links removed", "description")
    long = check([photo_url()], content="word " * 30)
    assert warned(long, "cut to 90 characters")
    with_description = check([photo_url()], options={**PHOTO_OPTIONS, "description": "Beach day #summer"},
                             content="Beach day #summer")
    assert with_description == Validation()


# --- privacy -------------------------------------------------------------------------------------


def test_privacy_level_is_required_and_lists_the_creators_options():
    options = {k: v for k, v in VIDEO_OPTIONS.items() if k != "privacy_level"}
    message = only_problem(check([local_video()], options=options), f"{OPTS}.privacy_level")
    assert message == ("required: choose who can see the post (this creator's options: PUBLIC_TO_EVERYONE, "
                       "MUTUAL_FOLLOW_FRIENDS, SELF_ONLY); TikTok forbids a default")


def test_privacy_level_not_offered_lists_the_creators_options():
    options = {**VIDEO_OPTIONS, "privacy_level": "FOLLOWER_OF_CREATOR"}
    message = only_problem(check([local_video()], options=options), f"{OPTS}.privacy_level")
    assert message == ("Selected privacy level 'FOLLOWER_OF_CREATOR' is not available for this creator. "
                       "Available options: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY")


def test_privacy_level_required_without_creator_info_lists_tiktoks_levels():
    options = {k: v for k, v in VIDEO_OPTIONS.items() if k != "privacy_level"}
    message = only_problem(check([local_video()], options=options, creator=None), f"{OPTS}.privacy_level")
    assert "TikTok's levels: PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY" in message


def test_branded_content_cannot_be_private():
    options = {**VIDEO_OPTIONS, "privacy_level": "SELF_ONLY", "commercial_content_type": "brand_content"}
    message = only_problem(check([local_video()], options=options), f"{OPTS}.privacy_level")
    assert message.startswith("Branded content visibility cannot be set to private.")
    assert "Choose PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS" in message
    both = {**options, "commercial_content_type": "both"}
    assert not check([local_video()], options=both).ok
    organic = {**options, "commercial_content_type": "brand_organic"}
    assert check([local_video()], options=organic).ok


# --- interactions --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["allow_comment", "allow_duet", "allow_stitch"])
def test_video_interactions_must_be_chosen_explicitly(name):
    options = {k: v for k, v in VIDEO_OPTIONS.items() if k != name}
    message = only_problem(check([local_video()], options=options), f"{OPTS}.{name}")
    assert message.startswith("required: true or false. TikTok requires an explicit choice")


def test_photo_needs_only_allow_comment_chosen():
    assert only_problem(check([photo_url()], options={"privacy_level": "SELF_ONLY"}),
                        f"{OPTS}.allow_comment").startswith("required: true or false")


@pytest.mark.parametrize("name", ["allow_duet", "allow_stitch"])
def test_interaction_the_creator_turned_off_cannot_be_enabled(name):
    options = {**VIDEO_OPTIONS, "privacy_level": "SELF_ONLY", "allow_duet": False, "allow_stitch": False, name: True}
    message = only_problem(check([local_video()], options=options, creator=PRIVATE_CREATOR), f"{OPTS}.{name}")
    assert "turned off in this creator's TikTok settings" in message
    assert "set it to false" in message


def test_comments_the_creator_turned_off_cannot_be_enabled():
    creator = attrs.evolve(CREATOR, comment_disabled=True)
    assert "comments are turned off" in only_problem(check([photo_url()], options={**PHOTO_OPTIONS,
                                                                                    "allow_comment": True},
                                                           creator=creator), f"{OPTS}.allow_comment")


def test_interaction_the_creator_turned_off_need_not_be_chosen():
    options = {"privacy_level": "SELF_ONLY", "allow_comment": True}
    assert check([local_video()], options=options, creator=PRIVATE_CREATOR).ok


# --- covers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "ok"), [(0, True), (2, True), (3, False)])
def test_photo_cover_index_is_inside_the_photos(index, ok):
    result = check([photo_url(i) for i in range(3)], options={**PHOTO_OPTIONS, "photo_cover_index": index},
                   content="x")
    assert result.ok is ok
    if not ok:
        assert only_problem(result, f"{OPTS}.photo_cover_index") == "3 is outside the photos: choose 0 to 2"


@pytest.mark.parametrize(("ms", "ok"), [(0, True), (14_999, True), (15_000, False)])
def test_video_cover_timestamp_is_inside_the_video(ms, ok):
    result = check([local_video()], options={**VIDEO_OPTIONS, "video_cover_timestamp_ms": ms})
    assert result.ok is ok
    if not ok:
        assert only_problem(result, f"{OPTS}.video_cover_timestamp_ms") == (
            "15000 ms is outside the video: choose 0 to 14999 ms")


def test_default_cover_timestamp_is_not_held_against_the_user():
    assert check([local_video()], [video_info(duration_s=None)]).ok


def test_custom_cover_image_is_refused_because_tiktok_cannot_take_one():
    result = check([local_video()], options={**VIDEO_OPTIONS, "video_cover_image_url": "https://x.example/c.jpg"})
    assert "cannot set a custom cover image" in only_problem(result, f"{OPTS}.video_cover_image_url")


# --- consent -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["content_preview_confirmed", "express_consent_given"])
def test_explicit_false_consent_refuses_to_post(name):
    result = check([local_video()], options={**VIDEO_OPTIONS, name: False})
    assert "crosspost does not post unless the user has" in only_problem(result, f"{OPTS}.{name}")


def test_consent_true_or_absent_is_fine():
    consent = {"content_preview_confirmed": True, "express_consent_given": True}
    assert check([local_video()], options={**VIDEO_OPTIONS, **consent}).ok
    assert check([local_video()], options=VIDEO_OPTIONS).ok


def test_false_consent_refuses_drafts_too():
    assert not check([local_video()], options={"draft": True, "express_consent_given": False}, content="").ok


# --- drafts and options that do not apply ----------------------------------------------------------


def test_draft_video_needs_no_privacy_or_interactions():
    assert check([local_video()], options={"draft": True}, content="", creator=None) == Validation()


def test_draft_video_warns_naming_each_ignored_option():
    options = {**VIDEO_OPTIONS, "draft": True, "video_made_with_ai": True, "commercial_content_type": "brand_organic",
               "video_cover_timestamp_ms": 99_999, "privacy_level": "FOLLOWER_OF_CREATOR"}
    result = check([local_video()], options=options, content="")
    assert result.ok
    for name in ("privacy_level", "allow_comment", "allow_duet", "allow_stitch", "video_made_with_ai",
                 "commercial_content_type", "video_cover_timestamp_ms"):
        assert warned(result, f"{OPTS}.{name} is ignored", "TikTok app"), name
    assert len(result.warnings) == 7


def test_draft_video_caption_is_not_sent_and_says_so():
    result = check([local_video()], options={"draft": True}, content="My caption")
    assert result.ok
    assert warned(result, "content is not sent with a video draft")


def test_draft_photo_warns_naming_each_ignored_option():
    options = {**PHOTO_OPTIONS, "draft": True, "auto_add_music": True, "commercial_content_type": "none"}
    result = check([photo_url()], options=options, content="Title only")
    assert result.ok
    assert [w.split(" is ignored")[0] for w in result.warnings] == [
        f"{OPTS}.privacy_level", f"{OPTS}.allow_comment", f"{OPTS}.auto_add_music"]


def test_photo_post_warns_naming_each_video_only_option():
    options = {**PHOTO_OPTIONS, "allow_duet": True, "allow_stitch": False, "video_made_with_ai": True,
               "video_cover_timestamp_ms": 5}
    result = check([photo_url()], options=options, content="x")
    assert result.ok
    for name in ("allow_duet", "allow_stitch", "video_made_with_ai", "video_cover_timestamp_ms"):
        assert warned(result, f"{OPTS}.{name} is ignored", "video posts only"), name


def test_video_post_warns_naming_each_photo_only_option():
    options = {**VIDEO_OPTIONS, "title": "t", "description": "d", "photo_cover_index": 0, "auto_add_music": True}
    result = check([local_video()], options=options)
    assert result.ok
    for name in ("title", "description", "photo_cover_index", "auto_add_music"):
        assert warned(result, f"{OPTS}.{name} is ignored"), name


@pytest.mark.parametrize(("media", "media_type"), [([photo_url()], "video"), ([local_video()], "photo")])
def test_media_type_option_must_agree_with_the_media(media, media_type):
    base = PHOTO_OPTIONS if media[0].type is MediaKind.IMAGE else VIDEO_OPTIONS
    result = check(media, options={**base, "media_type": media_type}, content="x")
    assert f"says '{media_type}'" in only_problem(result, f"{OPTS}.media_type")


# --- where the bytes come from ---------------------------------------------------------------------


def test_local_photo_needs_a_media_host():
    media = Media(type=MediaKind.IMAGE, path="/media/a.jpg")
    message = only_problem(check([media], [photo_info()], host=False), "media[0]")
    assert "needs a media host" in message
    assert "crosspost[s3]" in message
    assert "https URL" in message
    assert check([media], [photo_info()], host=True).ok


def test_photo_url_off_the_verified_domains_is_refused_without_a_media_host():
    result = check([photo_url(host="cdn.other.example")], host=False)
    assert "url_ownership_unverified" in only_problem(result, "media[0]")


def test_photo_url_off_the_verified_domains_is_rehosted_with_a_media_host():
    assert check([photo_url(host="cdn.other.example")], host=True) == Validation()


def test_photo_url_without_verified_settings_warns_that_it_cannot_be_checked():
    result = check([photo_url(host="cdn.other.example")], host=False, domains=())
    assert result.ok
    assert warned(result, "CROSSPOST_TIKTOK_VERIFIED_DOMAINS")


def test_photo_url_must_be_https():
    media = Media(type=MediaKind.IMAGE, url="http://static.example.com/a.jpg")
    assert "only from https URLs" in only_problem(check([media], host=False), "media[0]")


def test_video_url_on_a_verified_prefix_is_pulled_without_comment():
    media = Media(type=MediaKind.VIDEO, url="https://example.com/videos/user/1.mp4")
    assert check([media], [None], prefixes=("https://example.com/videos/user/",)) == Validation()


def test_video_url_elsewhere_is_downloaded_and_uploaded_with_a_warning():
    media = Media(type=MediaKind.VIDEO, url="https://cdn.example.com/v.mp4")
    result = check([media], [None], domains=())
    assert result.ok
    assert warned(result, "downloads the video and uploads it", "CROSSPOST_TIKTOK_VERIFIED_DOMAINS")


# --- all at once, paths, contract ------------------------------------------------------------------


def test_every_problem_is_reported_at_once():
    options = {"allow_duet": "yes", "video_cover_timestamp_ms": 20_000, "express_consent_given": False}
    result = check([local_video()], [video_info(fps=10, duration_s=2.0, width=100)], options, content="🔥" * 1101)
    assert {p.field for p in result.problems} == {
        "media[0]", "content", f"{OPTS}.allow_duet", f"{OPTS}.video_cover_timestamp_ms",
        f"{OPTS}.express_consent_given", f"{OPTS}.privacy_level", f"{OPTS}.allow_comment", f"{OPTS}.allow_stitch",
    }
    assert len(problems_at(result, "media[0]")) == 3  # duration, frame rate, picture size


def test_problem_paths_follow_per_platform_overrides():
    post = Post(content="generic", targets=[Target(platform="tiktok")], target_options={"tiktok": {
        **VIDEO_OPTIONS, "content": "🔥" * 1101, "media": [{"type": "video", "path": "/media/x.mp4"}]}})
    _, result = validate_post(for_platform(post, "tiktok"), CREATOR, [video_info(fps=10)], has_media_host=False)
    assert {p.field for p in result.problems} == {f"{OPTS}.content", f"{OPTS}.media[0]"}


def test_media_descriptions_must_match_the_media():
    post = Post(targets=[Target(platform="tiktok")], media=[local_video()])
    with pytest.raises(ValueError, match="1 media items"):
        validate_for_tiktok(post, TikTokOptions(), CREATOR, [], has_media_host=False)


# --- the seeds' example requests -------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["socialsyncer_quickstart", "socialsyncer_video_cover", "relayapi_quickstart",
                                  "relayapi_ai_disclosure", "late_node", "late_python",
                                  "socialsyncer_photo_carousel", "zernio_photo_carousel", "relayapi_photo_carousel"])
def test_seed_direct_post_examples_are_valid(seed):
    post = for_platform(post_from_dict(import_request(SEEDS[seed])), "tiktok")
    infos = [video_info() if m.type is MediaKind.VIDEO else photo_info() for m in post.media]
    _, result = validate_post(post, CREATOR, infos, verified_domains=("example.com",), has_media_host=False)
    assert result == Validation()


@pytest.mark.parametrize("seed", ["socialsyncer_draft", "relayapi_draft"])
def test_seed_draft_examples_are_valid_and_name_the_ignored_options(seed):
    post = for_platform(post_from_dict(import_request(SEEDS[seed])), "tiktok")
    _, result = validate_post(post, None, [video_info()], verified_domains=("example.com",), has_media_host=False)
    assert result.ok
    assert warned(result, f"{OPTS}.privacy_level is ignored")
    assert warned(result, f"{OPTS}.allow_comment is ignored")
    assert warned(result, "content is not sent with a video draft")


@pytest.mark.parametrize("seed", ["postpost_video", "postpost_private_video"])
def test_seed_postpost_examples_need_the_video_added(seed):
    post = for_platform(post_from_dict(import_request(SEEDS[seed])), "tiktok")
    _, result = validate_post(post, CREATOR, [], has_media_host=False)
    assert [p.field for p in result.problems] == ["media"]
    with_video = attrs.evolve(post, media=(local_video(),))
    assert validate_post(with_video, CREATOR, [video_info()], has_media_host=False)[1].ok
