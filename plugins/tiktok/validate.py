"""Everything crosspost checks before anything is sent to TikTok (pure: no I/O).

:func:`validate_for_tiktok` reports every problem at once, each at the field it concerns and
saying what would be accepted; warnings name each option that does not apply and will be
ignored (never a silent drop). Limits and the reading chosen where TikTok is vague:

* video: MP4, MOV or WebM from the bytes; at most 4 GiB (TikTok's "4GB", read in the binary
  units of its own "4 MB" = 4,194,304 example); 3 s to the creator's
  ``max_video_post_duration_sec``; 23-60 fps; 360-4096 px each side; caption 2,200 UTF-16 units;
* photos: 1-35, JPEG or WebP (a local PNG is converted to JPEG by the I/O layer, a PNG URL is
  refused); at most 20 MiB each; title 90 and description 4,000 UTF-16 units;
* direct posts: ``privacy_level`` chosen (never defaulted) among the creator's options;
  ``allow_comment`` (and for video ``allow_duet``/``allow_stitch``) chosen explicitly, except
  where the creator has that interaction turned off (then only ``false`` is possible, and is
  what is sent); branded content never ``SELF_ONLY``;
* drafts: the creator picks privacy and interactions in the app, so none is required.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from urllib.parse import urlsplit

import attrs

from crosspost.core.errors import Problem, one_per_field
from crosspost.core.media import MediaFormat, MediaInfo
from crosspost.core.models import Media, MediaKind, Post
from crosspost.core.platform import Validation
from crosspost.plugins.tiktok.creator import PRIVACY_LEVELS, CreatorInfo
from crosspost.plugins.tiktok.options import OPTIONS_PATH, TikTokOptions, parse_options
from crosspost.plugins.tiktok.requests import MAX_PHOTOS, Route, VerifiedUrls, route_media
from crosspost.plugins.tiktok.text import PHOTO_TITLE_LIMIT, strip_for_title, utf16_len

VIDEO_FORMATS = frozenset({MediaFormat.MP4, MediaFormat.MOV, MediaFormat.WEBM})
PHOTO_FORMATS = frozenset({MediaFormat.JPEG, MediaFormat.WEBP})
MAX_VIDEO_BYTES = 4 * 1024**3
MAX_PHOTO_BYTES = 20 * 1024**2
MIN_DURATION_S = 3.0
DOCUMENTED_MAX_DURATION_S = 600
"""TikTok: "the longest video a developer can send ... is 10 minutes" (used when creator info is absent)."""
MIN_FPS, MAX_FPS = 23.0, 60.0
MIN_SIDE, MAX_SIDE = 360, 4096
PHOTO_SIDE_HINT = 1080
VIDEO_CAPTION_LIMIT = 2200
PHOTO_DESCRIPTION_LIMIT = 4000
KNOWN_CODECS = frozenset({"h264", "hevc", "vp8", "vp9"})
_MEDIA_HOST_HINT = (
    "TikTok takes photos only from public URLs, so a local photo needs a media host: on the emulator, "
    "export the CROSSPOST_MEDIA_PUT_URL that `crosspost emulator` prints; for TikTok, install crosspost[s3] "
    "and configure the S3 media host on a verified domain (docs/tiktok.md#photo-carousels), or give the "
    "photo as an https URL on a verified domain"
)
_PLURAL = {"comment": "comments", "duet": "duets", "stitch": "stitches"}
_HTML_HINT = (
    " Share links of Google Drive, Dropbox, OneDrive and iCloud return a web page: use a direct download link."
)


@attrs.frozen(kw_only=True)
class _Subject:
    post: Post
    options: TikTokOptions
    creator: CreatorInfo | None
    media: tuple[MediaInfo | None, ...]
    verified: VerifiedUrls
    has_media_host: bool
    kind: MediaKind | None
    """VIDEO or IMAGE when the media make a valid combination, else None."""

    @property
    def content_path(self) -> str:
        overridden = isinstance(self.post.options_for("tiktok").get("content"), str)
        return f"{OPTIONS_PATH}.content" if overridden else "content"

    @property
    def media_path(self) -> str:
        return f"{OPTIONS_PATH}.media" if "media" in self.post.options_for("tiktok") else "media"

    @property
    def direct(self) -> bool:
        return not self.options.draft

    @property
    def apparent_kind(self) -> MediaKind:
        """``kind``, or for media that make no valid post, what the user most likely meant."""
        if self.kind is not None:
            return self.kind
        kinds = (_effective_kind(item, info) for item, info in zip(self.post.media, self.media, strict=True))
        return MediaKind.VIDEO if MediaKind.VIDEO in kinds else MediaKind.IMAGE


@attrs.define
class _Findings:
    problems: list[Problem] = attrs.field(factory=list)
    warnings: list[str] = attrs.field(factory=list)
    need_a_host: list[str] = attrs.field(factory=list)
    """Paths of local photos that need a media host none is configured for (one problem for all)."""

    def problem(self, field: str, message: str) -> None:
        self.problems.append(Problem(field=field, message=message))

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def ignored(self, name: str, why: str) -> None:
        self.warn(f"{OPTIONS_PATH}.{name} is ignored: {why}")


def validate_for_tiktok(
    post: Post,
    options: TikTokOptions,
    creator: CreatorInfo | None,
    media: Sequence[MediaInfo | None],
    *,
    verified_url_prefixes: Sequence[str] = (),
    verified_domains: Sequence[str] = (),
    has_media_host: bool,
) -> Validation:
    """Check ``post`` (``for_platform`` already applied) for TikTok, reporting every problem.

    ``media[i]`` describes ``post.media[i]`` from its bytes, or is ``None`` when it was not read
    (a remote URL). ``creator`` is the live creator info (``None`` when not fetched, e.g. for a
    draft: the creator-dependent checks are skipped).
    """
    if len(media) != len(post.media):
        raise ValueError(f"{len(media)} media descriptions for {len(post.media)} media items")
    found = _Findings()
    subject = _Subject(
        post=post, options=options, creator=creator, media=tuple(media),
        verified=VerifiedUrls(prefixes=verified_url_prefixes, domains=verified_domains),
        has_media_host=has_media_host, kind=_post_kind(post, media, found),
    )
    for index, item in enumerate(post.media):
        _check_item(subject, index, item, media[index], found)
    _report_missing_host(subject, found)
    if subject.kind is MediaKind.VIDEO:
        _check_video_post(subject, found)
    elif subject.kind is MediaKind.IMAGE:
        _check_photo_post(subject, found)
    if subject.direct:
        _check_privacy(subject, found)
        _check_interactions(subject, found)
    else:
        _warn_draft_ignores(subject, found)
    _check_consent_and_unsupported(subject, found)
    return Validation(problems=tuple(found.problems), warnings=tuple(found.warnings))


def validate_post(
    post: Post,
    creator: CreatorInfo | None,
    media: Sequence[MediaInfo | None],
    *,
    verified_url_prefixes: Sequence[str] = (),
    verified_domains: Sequence[str] = (),
    has_media_host: bool,
    report_unknown: bool = True,
) -> tuple[TikTokOptions, Validation]:
    """:func:`parse_options` on ``target_options.tiktok`` plus :func:`validate_for_tiktok`, merged."""
    options, option_problems = parse_options(post.options_for("tiktok"), report_unknown=report_unknown)
    result = validate_for_tiktok(post, options, creator, media, verified_url_prefixes=verified_url_prefixes,
                                 verified_domains=verified_domains, has_media_host=has_media_host)
    return options, Validation(problems=tuple(one_per_field(option_problems, result.problems)),
                               warnings=tuple(dict.fromkeys(result.warnings)))


# --- what kind of post --------------------------------------------------------------------------


def _effective_kind(item: Media, info: MediaInfo | None) -> MediaKind:
    return info.kind if info is not None and info.kind is not None else item.type


def _post_kind(post: Post, media: Sequence[MediaInfo | None], found: _Findings) -> MediaKind | None:
    if not post.media:
        found.problem("media", "TikTok needs media: one video or 1-35 photos (JPEG or WebP); "
                               "text-only posts are not possible")
        return None
    kinds = [_effective_kind(item, info) for item, info in zip(post.media, media, strict=True)]
    videos = kinds.count(MediaKind.VIDEO)
    if videos and videos < len(kinds):
        found.problem("media", "photos and a video cannot be mixed in one TikTok post: "
                               "post either one video or 1-35 photos")
        return None
    if videos > 1:
        found.problem("media", f"TikTok takes one video per post, got {videos}")
        return None
    if not videos and len(kinds) > MAX_PHOTOS:
        found.problem("media", f"TikTok takes 1 to {MAX_PHOTOS} photos per post, got {len(kinds)}")
        return None
    return MediaKind.VIDEO if videos else MediaKind.IMAGE


# --- each media item ----------------------------------------------------------------------------


def _check_item(subject: _Subject, index: int, item: Media, info: MediaInfo | None, found: _Findings) -> None:
    path = f"{subject.media_path}[{index}]"
    kind = _effective_kind(item, info)
    _check_route(subject, path, item, info, kind, found)
    if info is None:
        if item.url and kind is MediaKind.IMAGE and urlsplit(item.url).path.lower().endswith(".png"):
            found.warn(f"{path}: the URL looks like a PNG; TikTok takes JPEG or WebP photos only and would "
                       "fail the post (file_format_check_failed) if it is one")
        return
    if info.problem is not None:
        hint = _HTML_HINT if info.format is MediaFormat.HTML else ""
        found.problem(path, info.problem + hint)
        return
    if info.kind is not None and info.kind is not item.type:
        found.problem(f"{path}.type", f"declared {item.type.value!r}, but the file is a {info.format.label} "
                                      f"{'video' if info.kind is MediaKind.VIDEO else 'image'}")
    if info.kind is MediaKind.VIDEO:
        _check_video_file(subject, path, info, found)
    elif info.kind is MediaKind.IMAGE:
        _check_photo_file(path, item, info, found)
    else:
        found.problem(path, f"not a video or photo TikTok takes ({info.format.label}): use MP4, MOV or WebM "
                            "video, or JPEG or WebP photos")


def _check_video_file(subject: _Subject, path: str, info: MediaInfo, found: _Findings) -> None:
    if info.format not in VIDEO_FORMATS:
        found.problem(path, f"TikTok does not take {info.format.label} videos: use MP4, MOV or WebM")
    if info.size > MAX_VIDEO_BYTES:
        found.problem(path, f"the video is {info.size:,} bytes; TikTok takes at most 4 GiB ({MAX_VIDEO_BYTES:,})")
    _check_duration(subject, path, info, found)
    if info.fps is None:
        found.warn(f"{path}: the frame rate could not be read; TikTok needs 23 to 60 fps")
    elif not MIN_FPS <= round(info.fps, 2) <= MAX_FPS:
        found.problem(path, f"the video runs at {info.fps:g} fps; TikTok takes 23 to 60 fps")
    if info.width is None or info.height is None:
        found.warn(f"{path}: the picture size could not be read; TikTok needs 360 to 4096 px on each side")
    elif not (MIN_SIDE <= info.width <= MAX_SIDE and MIN_SIDE <= info.height <= MAX_SIDE):
        found.problem(path, f"the video is {info.width}x{info.height} px; TikTok takes 360 to 4096 px "
                            "for both width and height")
    if info.codec is not None and info.codec not in KNOWN_CODECS:
        found.warn(f"{path}: the video codec is {info.codec}; TikTok documents H.264 (recommended), H.265, "
                   "VP8 and VP9 and may fail the post (file_format_check_failed)")


def _check_duration(subject: _Subject, path: str, info: MediaInfo, found: _Findings) -> None:
    duration = info.duration_s
    if duration is None:
        found.warn(f"{path}: the duration could not be read from the container; TikTok needs at least 3 s")
        return
    if duration < MIN_DURATION_S:
        found.problem(path, f"the video lasts {duration:.2f} s; TikTok needs at least 3 s")
    limit = subject.creator.max_video_post_duration_sec if subject.creator else None
    if limit is not None and duration > limit:
        found.problem(path, f"the video lasts {duration:.2f} s; this creator may post videos of at most "
                            f"{limit} s (max_video_post_duration_sec)")
    elif limit is None and duration > DOCUMENTED_MAX_DURATION_S:
        found.warn(f"{path}: the video lasts {duration:.0f} s; TikTok documents 10 minutes as the longest "
                   "upload and the creator's own limit could not be checked")


def _check_photo_file(path: str, item: Media, info: MediaInfo, found: _Findings) -> None:
    if info.format is MediaFormat.PNG:
        if item.url is not None:
            found.problem(path, "TikTok takes no PNG photos and fetches photo URLs as they are: convert it to "
                                "JPEG or WebP, or give a local file path (crosspost converts a local PNG to JPEG)")
        else:
            found.warn(f"{path}: PNG is converted to JPEG before upload (TikTok takes JPEG or WebP only)")
        return
    if info.format not in PHOTO_FORMATS:
        found.problem(path, f"TikTok does not take {info.format.label} photos: use JPEG or WebP")
    if info.size > MAX_PHOTO_BYTES:
        found.problem(path, f"the photo is {info.size:,} bytes; TikTok takes at most 20 MiB ({MAX_PHOTO_BYTES:,})")
    if info.width and info.height and min(info.width, info.height) > PHOTO_SIDE_HINT:
        found.warn(f"{path}: the photo is {info.width}x{info.height} px, above the 1080p TikTok documents for "
                   "photos; TikTok may scale it down or fail the post (picture_size_check_failed)")


def _check_route(subject: _Subject, path: str, item: Media, info: MediaInfo | None, kind: MediaKind,
                 found: _Findings) -> None:
    route = route_media(item, info, verified=subject.verified, has_media_host=subject.has_media_host)
    if route is Route.DOWNLOAD_AND_UPLOAD:
        where = "" if subject.verified.configured else " (set CROSSPOST_TIKTOK_VERIFIED_DOMAINS to let TikTok pull it)"
        found.warn(f"{path}: the URL is not on a verified domain or URL prefix, so crosspost downloads the "
                   f"video and uploads it{where}")
    elif route in (Route.HOST, Route.CONVERT_AND_HOST) and not subject.has_media_host:
        found.need_a_host.append(path)
    elif route is Route.PULL_FROM_URL and kind is MediaKind.IMAGE and item.url is not None:
        _check_photo_url(subject, path, item.url, found)


def _report_missing_host(subject: _Subject, found: _Findings) -> None:
    """One problem for every local photo without a media host: the fix is the same for all."""
    if len(found.need_a_host) == 1:
        found.problem(found.need_a_host[0], _MEDIA_HOST_HINT)
    elif found.need_a_host:
        found.problem(subject.media_path, f"{len(found.need_a_host)} local photos "
                                          f"({', '.join(found.need_a_host)}): {_MEDIA_HOST_HINT}")


def _check_photo_url(subject: _Subject, path: str, url: str, found: _Findings) -> None:
    if subject.verified.covers(url):
        return
    if urlsplit(url).scheme != "https":
        found.problem(path, "TikTok fetches photos only from https URLs: use an https link or a local file "
                            "with a media host")
    elif subject.verified.configured:
        found.problem(path, "the photo URL is not on a domain or URL prefix verified for this TikTok app, so "
                            "TikTok would refuse it (url_ownership_unverified): verify it in the developer "
                            "portal and add it to CROSSPOST_TIKTOK_VERIFIED_DOMAINS or _PREFIXES, or configure "
                            "a media host")
    else:
        found.warn(f"{path}: TikTok fetches photos only from domains or URL prefixes verified for the app; "
                   "set CROSSPOST_TIKTOK_VERIFIED_DOMAINS or _PREFIXES so crosspost can check this URL")


# --- the post as a whole ------------------------------------------------------------------------


def _check_video_post(subject: _Subject, found: _Findings) -> None:
    options, given = subject.options, subject.options.given
    length = utf16_len(subject.post.content)
    if length > VIDEO_CAPTION_LIMIT:
        found.problem(subject.content_path, f"the caption is {length} UTF-16 units long (emoji count as 2); "
                                            f"TikTok takes at most {VIDEO_CAPTION_LIMIT} for a video")
    for name, why in (("title", "the video caption is the post's content"),
                      ("description", "it applies to photo posts; the video caption is the post's content"),
                      ("photo_cover_index", "it applies to photo posts only"),
                      ("auto_add_music", "it applies to photo posts only")):
        if name in given:
            found.ignored(name, why)
    if options.media_type == "photo":
        found.problem(f"{OPTIONS_PATH}.media_type", "says 'photo' but the media is a video")
    info = subject.media[0] if subject.media else None
    duration = info.duration_s if info is not None and info.ok else None
    if subject.direct and options.cover_timestamp_given and duration is not None:
        last_ms = int(duration * 1000) - 1
        if options.video_cover_timestamp_ms > last_ms:
            found.problem(f"{OPTIONS_PATH}.video_cover_timestamp_ms",
                          f"{options.video_cover_timestamp_ms} ms is outside the video: choose 0 to {last_ms} ms")


def _check_photo_post(subject: _Subject, found: _Findings) -> None:
    options, given, count = subject.options, subject.options.given, len(subject.post.media)
    if options.photo_cover_index >= count:
        found.problem(f"{OPTIONS_PATH}.photo_cover_index",
                      f"{options.photo_cover_index} is outside the photos: choose 0 to {count - 1}")
    if options.media_type == "video":
        found.problem(f"{OPTIONS_PATH}.media_type", "says 'video' but the media are photos")
    for name in ("allow_duet", "allow_stitch", "video_made_with_ai", "video_cover_timestamp_ms"):
        if name in given:
            found.ignored(name, "it applies to video posts only (TikTok photo posts have no such setting)")
    if options.description is not None and utf16_len(options.description) > PHOTO_DESCRIPTION_LIMIT:
        found.problem(f"{OPTIONS_PATH}.description",
                      f"{utf16_len(options.description)} UTF-16 units long; TikTok takes at most "
                      f"{PHOTO_DESCRIPTION_LIMIT} for a photo description")
    if options.title is not None:
        if utf16_len(options.title) > PHOTO_TITLE_LIMIT:
            found.problem(f"{OPTIONS_PATH}.title", f"{utf16_len(options.title)} UTF-16 units long; TikTok takes "
                                                   f"at most {PHOTO_TITLE_LIMIT} for a photo title")
        return
    _warn_derived_title(subject, found)


def _warn_derived_title(subject: _Subject, found: _Findings) -> None:
    content = " ".join(subject.post.content.split())
    stripped = strip_for_title(content)
    changes = []
    if stripped != content:
        changes.append("hashtags and links removed")
    if utf16_len(stripped) > PHOTO_TITLE_LIMIT:
        changes.append(f"cut to {PHOTO_TITLE_LIMIT} characters")
    if changes and subject.options.description is None:
        found.warn(f"the photo title is derived from {subject.content_path} ({', '.join(changes)}); set "
                   f"{OPTIONS_PATH}.description to publish the full text under the photos")


def _privacy_choices(creator: CreatorInfo | None) -> tuple[str, ...]:
    return creator.privacy_level_options if creator is not None else PRIVACY_LEVELS


def _check_privacy(subject: _Subject, found: _Findings) -> None:
    """One problem at most for ``privacy_level`` (plus the branded-content rule), always listing
    the levels this creator offers: a value that is no TikTok level at all gets the same answer
    as one the creator lacks, with the closest offered level suggested."""
    options, creator, field = subject.options, subject.creator, f"{OPTIONS_PATH}.privacy_level"
    offered = _privacy_choices(creator)
    choices = ", ".join(offered)
    owner = "this creator's options" if creator is not None else "TikTok's levels"
    raw = subject.post.options_for("tiktok").get("privacy_level")
    if options.privacy_level is None and raw is not None:
        suggestion = closest_privacy_level(raw, offered)
        hint = f"; did you mean '{suggestion}'?" if suggestion else "."
        found.problem(field, f"{raw!r} is not a TikTok privacy level{hint} Choose one of {owner}: {choices}")
    elif options.privacy_level is None:
        found.problem(field, f"required: choose who can see the post ({owner}: {choices}); TikTok forbids "
                             "a default")
    elif creator is not None and options.privacy_level not in creator.privacy_level_options:
        found.problem(field, f"Selected privacy level '{options.privacy_level}' is not available for this "
                             f"creator. Available options: {choices}")
    if options.brand_content_toggle and options.privacy_level == "SELF_ONLY":
        others = ", ".join(p for p in _privacy_choices(creator) if p != "SELF_ONLY")
        found.problem(field, f"Branded content visibility cannot be set to private. Choose {others}, or "
                             "change commercial_content_type")


_PRIVACY_WORDS: dict[str, str] = {
    "PUBLIC": "PUBLIC_TO_EVERYONE", "EVERYONE": "PUBLIC_TO_EVERYONE",
    "FRIENDS": "MUTUAL_FOLLOW_FRIENDS", "MUTUAL": "MUTUAL_FOLLOW_FRIENDS",
    "FOLLOWERS": "FOLLOWER_OF_CREATOR", "PRIVATE": "SELF_ONLY", "ONLY_ME": "SELF_ONLY", "ME": "SELF_ONLY",
}
"""Words other apps and services use for TikTok's levels (``public``, ``private``, ``friends``)."""


def closest_privacy_level(value: object, offered: Sequence[str]) -> str | None:
    """The offered level a mistyped ``value`` most likely means, or None.

    Case, dashes and spaces are ignored (``public-to-everyone``); the common words of other apps
    map to TikTok's names (``private`` is ``SELF_ONLY``); otherwise a unique level containing the
    value (``PUBLIC``), then the closest spelling. Only levels this creator offers are suggested.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    key = "_".join(value.strip().upper().replace("-", " ").split())
    if key in offered:
        return key
    if _PRIVACY_WORDS.get(key) in offered:
        return _PRIVACY_WORDS[key]
    containing = [level for level in offered if key in level]
    if len(containing) == 1:
        return containing[0]
    close = difflib.get_close_matches(key, list(offered), n=1, cutoff=0.6)
    return close[0] if close else None


def _check_interactions(subject: _Subject, found: _Findings) -> None:
    options, creator = subject.options, subject.creator
    features = ("comment", "duet", "stitch") if subject.apparent_kind is MediaKind.VIDEO else ("comment",)
    for feature in features:
        name = f"allow_{feature}"
        value: bool | None = getattr(options, name)
        disabled = creator is not None and bool(getattr(creator, f"{feature}_disabled"))
        if value is None and not disabled:
            found.problem(f"{OPTIONS_PATH}.{name}", f"required: true or false. TikTok requires an explicit "
                                                    f"choice and turns nothing on by default ({_PLURAL[feature]})")
        elif value and disabled:
            found.problem(f"{OPTIONS_PATH}.{name}", f"{_PLURAL[feature]} are turned off in this creator's TikTok "
                                                    "settings (or the account is private): set it to false, or "
                                                    "change the setting in the TikTok app")


def _warn_draft_ignores(subject: _Subject, found: _Findings) -> None:
    options, given = subject.options, subject.options.given
    why = "a draft's privacy, interactions and disclosures are set by the creator in the TikTok app"
    names: tuple[str, ...]
    if subject.apparent_kind is MediaKind.IMAGE:
        names = ("privacy_level", "allow_comment", "auto_add_music", "commercial_content_type")
    else:
        names = ("privacy_level", "allow_comment", "allow_duet", "allow_stitch", "video_made_with_ai",
                 "commercial_content_type", "video_cover_timestamp_ms")
    for name in names:
        if name in given and not (name == "commercial_content_type" and options.commercial_content_type == "none"):
            found.ignored(name, why)
    if subject.kind is MediaKind.VIDEO and subject.post.content.strip():
        found.warn(f"{subject.content_path} is not sent with a video draft: TikTok's inbox upload takes no "
                   "caption, the creator writes it in the TikTok app")


def _check_consent_and_unsupported(subject: _Subject, found: _Findings) -> None:
    options = subject.options
    for name, what in (("content_preview_confirmed", "confirmed the preview of this content"),
                       ("express_consent_given", "given express consent to post it")):
        if getattr(options, name) is False:
            found.problem(f"{OPTIONS_PATH}.{name}", f"is false: crosspost does not post unless the user has "
                                                    f"{what}; set it to true or leave it out")
    if options.video_cover_image_url is not None:
        found.problem(f"{OPTIONS_PATH}.video_cover_image_url",
                      "TikTok's API cannot set a custom cover image: choose a frame with "
                      "video_cover_timestamp_ms instead")
