"""TikTok request bodies, built by pure functions that return frozen values (sans-I/O).

The client sends an :class:`ApiRequest` as ``method`` + ``api_base + path`` with ``json`` as the
body. Mapping rules pinned by tests:

* ``allow_x`` -> ``disable_x = not allow_x`` (one hosted service shipped this inverted; here an
  unchosen ``allow_x``, possible only where the creator has x turned off, sends ``disable_x: true``);
* ``video_made_with_ai`` -> ``is_aigc``; ``commercial_content_type`` -> ``brand_organic_toggle`` /
  ``brand_content_toggle`` (both always sent on direct posts, as TikTok marks them required);
* ``draft`` -> ``/v2/post/publish/inbox/video/init/`` (``source_info`` only) for video and
  ``post_mode: MEDIA_UPLOAD`` (title and description only) for photos.

:func:`route_media` decides, per media item, how its bytes reach TikTok.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs

from crosspost.core.media import MediaFormat, MediaInfo
from crosspost.core.models import Media, MediaKind, Post
from crosspost.plugins.tiktok.chunks import ChunkPlan, plan_chunks
from crosspost.plugins.tiktok.options import TikTokOptions
from crosspost.plugins.tiktok.text import derive_photo_title

DEFAULT_API_BASE = "https://open.tiktokapis.com"
"""TikTok's API host (``CROSSPOST_TIKTOK_API_BASE`` points elsewhere, e.g. at the emulator)."""
CREATOR_INFO_PATH = "/v2/post/publish/creator_info/query/"
VIDEO_INIT_PATH = "/v2/post/publish/video/init/"
INBOX_VIDEO_INIT_PATH = "/v2/post/publish/inbox/video/init/"
CONTENT_INIT_PATH = "/v2/post/publish/content/init/"
STATUS_PATH = "/v2/post/publish/status/fetch/"
CANCEL_PATH = "/v2/post/publish/cancel/"

RATE_LIMITS: Mapping[str, int] = {
    CREATOR_INFO_PATH: 20,
    VIDEO_INIT_PATH: 6,
    INBOX_VIDEO_INIT_PATH: 6,
    CONTENT_INIT_PATH: 6,
    STATUS_PATH: 30,
}
"""TikTok's documented requests per minute per access token (sliding window); cancel has none."""
MAX_PHOTOS = 35


@attrs.frozen(kw_only=True)
class ApiRequest:
    """One JSON request to the TikTok API. Treat ``json`` as read-only."""

    method: str
    path: str
    json: Mapping[str, Any] | None = None
    """The body; ``None`` sends no body."""
    safe_to_repeat: bool = True
    """False when sending it again after a lost response could start a second post (every
    PULL_FROM_URL init, so every photo post): park the job as uncertain instead."""

    @property
    def rate_limit_per_minute(self) -> int | None:
        return RATE_LIMITS.get(self.path)


def _plan_matches(instance: FileSource, attribute: attrs.Attribute[Any], plan: ChunkPlan) -> None:
    if plan.video_size != instance.video_size:
        raise ValueError(f"chunk plan is for {plan.video_size} bytes, the video has {instance.video_size}")


@attrs.frozen(kw_only=True)
class FileSource:
    """A local video sent by FILE_UPLOAD (crosspost PUTs the chunks to the returned upload_url)."""

    video_size: int
    plan: ChunkPlan = attrs.field(
        default=attrs.Factory(lambda self: plan_chunks(self.video_size), takes_self=True),
        validator=_plan_matches,
    )

    def source_info(self) -> dict[str, Any]:
        return {"source": "FILE_UPLOAD", **self.plan.source_fields()}


def _https(instance: UrlSource, attribute: attrs.Attribute[Any], url: str) -> None:
    if urlsplit(url).scheme != "https":
        raise ValueError("TikTok pulls media only from https URLs")


@attrs.frozen(kw_only=True)
class UrlSource:
    """A video TikTok downloads itself (PULL_FROM_URL); the URL must be on a verified domain/prefix."""

    url: str = attrs.field(validator=_https)

    def source_info(self) -> dict[str, Any]:
        return {"source": "PULL_FROM_URL", "video_url": self.url}


VideoSource = FileSource | UrlSource


def creator_info_request() -> ApiRequest:
    """Query the creator's posting settings (no body, as in TikTok's example)."""
    return ApiRequest(method="POST", path=CREATOR_INFO_PATH)


def video_init_request(post: Post, options: TikTokOptions, source: VideoSource) -> ApiRequest:
    """Start a video post: direct (``video/init``) or, with ``draft``, to the inbox (``inbox/video/init``).

    ``post`` is the post as TikTok sees it (``for_platform`` applied): its content is the caption.
    Raises ValueError for a direct post without ``privacy_level`` (validation reports it first).
    """
    source_info = source.source_info()
    safe = isinstance(source, FileSource)
    if options.draft:
        return ApiRequest(method="POST", path=INBOX_VIDEO_INIT_PATH, json={"source_info": source_info},
                          safe_to_repeat=safe)
    post_info: dict[str, Any] = {}
    if post.content:
        post_info["title"] = post.content
    post_info |= {
        "privacy_level": _privacy(options),
        "disable_comment": not options.allow_comment,
        "disable_duet": not options.allow_duet,
        "disable_stitch": not options.allow_stitch,
        "video_cover_timestamp_ms": options.video_cover_timestamp_ms,
        "brand_content_toggle": options.brand_content_toggle,
        "brand_organic_toggle": options.brand_organic_toggle,
        "is_aigc": options.video_made_with_ai,
    }
    return ApiRequest(method="POST", path=VIDEO_INIT_PATH,
                      json={"post_info": post_info, "source_info": source_info}, safe_to_repeat=safe)


def photo_init_request(post: Post, options: TikTokOptions, photo_urls: Sequence[str]) -> ApiRequest:
    """Start a photo post (``content/init``, PULL_FROM_URL): ``DIRECT_POST``, or ``MEDIA_UPLOAD`` with ``draft``.

    The title is ``options.title`` or derived from the content (hashtags and links stripped, 90
    UTF-16 units). Only TikTok's DIRECT_POST fields are sent for DIRECT_POST. Raises ValueError for
    1-35 photos violated, a cover index out of range, or a direct post without ``privacy_level``.
    """
    urls = list(photo_urls)
    if not 1 <= len(urls) <= MAX_PHOTOS:
        raise ValueError(f"a photo post takes 1 to {MAX_PHOTOS} photos, got {len(urls)}")
    if not 0 <= options.photo_cover_index < len(urls):
        raise ValueError(f"photo_cover_index {options.photo_cover_index} is outside 0..{len(urls) - 1}")
    post_info: dict[str, Any] = {}
    title = options.title if options.title is not None else derive_photo_title(post.content)
    if title:
        post_info["title"] = title
    if options.description:
        post_info["description"] = options.description
    if not options.draft:
        post_info["privacy_level"] = _privacy(options)
        post_info["disable_comment"] = not options.allow_comment
        if options.auto_add_music is not None:
            post_info["auto_add_music"] = options.auto_add_music
        post_info["brand_content_toggle"] = options.brand_content_toggle
        post_info["brand_organic_toggle"] = options.brand_organic_toggle
    body = {
        "post_info": post_info,
        "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": options.photo_cover_index,
                        "photo_images": urls},
        "post_mode": "MEDIA_UPLOAD" if options.draft else "DIRECT_POST",
        "media_type": "PHOTO",
    }
    return ApiRequest(method="POST", path=CONTENT_INIT_PATH, json=body, safe_to_repeat=False)


def status_request(publish_id: str) -> ApiRequest:
    """Ask where a post stands (``status/fetch``)."""
    return ApiRequest(method="POST", path=STATUS_PATH, json={"publish_id": publish_id})


def cancel_request(publish_id: str) -> ApiRequest:
    """Cancel a PULL_FROM_URL download still in progress (best effort, per TikTok)."""
    return ApiRequest(method="POST", path=CANCEL_PATH, json={"publish_id": publish_id})


def _privacy(options: TikTokOptions) -> str:
    if options.privacy_level is None:
        raise ValueError("privacy_level is required for a direct post (TikTok forbids a default)")
    return options.privacy_level


# --- how each media item reaches TikTok --------------------------------------------------------


class Route(enum.StrEnum):
    """How one media item's bytes reach TikTok."""

    FILE_UPLOAD = "file_upload"
    """A local video: crosspost uploads it in chunks."""
    PULL_FROM_URL = "pull_from_url"
    """A URL TikTok downloads itself (a video on a verified domain/prefix, or a photo URL)."""
    DOWNLOAD_AND_UPLOAD = "download_and_upload"
    """A video URL off the verified domains: crosspost downloads it, then uploads the file."""
    HOST = "host"
    """A local photo: the media host gives it a public URL, which TikTok pulls."""
    CONVERT_AND_HOST = "convert_and_host"
    """A local PNG photo: converted to JPEG (TikTok takes no PNG), then hosted."""
    REHOST = "rehost"
    """A photo URL off the verified domains: crosspost fetches it and the media host re-serves it."""


def _prefixes(values: Iterable[str]) -> tuple[str, ...]:
    stripped = (p.strip() for p in values)
    return tuple(p if p.endswith("/") else p + "/" for p in stripped if p)


def _domains(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(d.strip().strip(".").lower() for d in values if d.strip().strip("."))


@attrs.frozen(kw_only=True)
class VerifiedUrls:
    """The URL prefixes and domains verified for the app in TikTok's developer portal.

    TikTok's rules: a URL prefix covers URLs starting with it (``https://host/path/``); a domain
    covers itself and its subdomains. Only ``https`` URLs qualify.
    """

    prefixes: tuple[str, ...] = attrs.field(default=(), converter=_prefixes)
    domains: tuple[str, ...] = attrs.field(default=(), converter=_domains)
    loopback_http: bool = False
    """Also accept ``http://`` on a loopback host (127.0.0.1, ::1, localhost) under a verified
    prefix. Set only while the API base is itself on loopback (the bundled emulator, whose media
    host is plain HTTP); real TikTok pulls https only."""

    @property
    def configured(self) -> bool:
        return bool(self.prefixes or self.domains)

    def covers(self, url: str) -> bool:
        """Whether TikTok will accept ``url`` for PULL_FROM_URL."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        secure = parts.scheme == "https" or (self.loopback_http and parts.scheme == "http" and is_loopback(host))
        if not secure or not host or parts.username or parts.password:
            return False
        if any(url.startswith(prefix) for prefix in self.prefixes):
            return True
        return any(host == domain or host.endswith("." + domain) for domain in self.domains)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's hostname) names this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def route_media(item: Media, info: MediaInfo | None, *, verified: VerifiedUrls, has_media_host: bool) -> Route:
    """How ``item`` reaches TikTok. Pure: decides from the item, what its bytes are and the settings.

    A remote photo off the verified domains is re-hosted when a media host exists; without one it
    is passed to TikTok as is (validation warns or refuses, see ``validate_for_tiktok``).
    """
    kind = info.kind if info is not None and info.kind is not None else item.type
    if kind is MediaKind.VIDEO:
        if item.url is None:
            return Route.FILE_UPLOAD
        return Route.PULL_FROM_URL if verified.covers(item.url) else Route.DOWNLOAD_AND_UPLOAD
    if item.url is None:
        is_png = info is not None and info.format is MediaFormat.PNG
        return Route.CONVERT_AND_HOST if is_png else Route.HOST
    if verified.covers(item.url) or not has_media_host:
        return Route.PULL_FROM_URL
    return Route.REHOST
