"""What an instance accepts, read from the instance itself, and the checks made against it.

Every Mastodon server sets its own limits and reports them in ``GET /api/v2/instance``
(``configuration.statuses`` and ``configuration.media_attachments``, Mastodon 4.0+). Servers
older than 4.0 only have ``GET /api/v1/instance``, where ``max_toot_chars`` (a popular patch,
glitch-soc, Pleroma) or nothing at all is reported; then the documented defaults below apply.
Nothing else is hard-coded: posts are checked against the live values.

Characters are counted as the server counts them (``StatusLengthValidator``): grapheme clusters,
every URL as ``characters_reserved_per_url``, a remote mention ``@user@domain`` as ``@user``,
and the content warning (``spoiler_text``) together with the text.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import regex

from crosspost.core.errors import Problem
from crosspost.core.models import MediaKind

DEFAULT_MAX_CHARACTERS = 500
DEFAULT_MAX_MEDIA = 4
DEFAULT_URL_CHARACTERS = 23
DEFAULT_DESCRIPTION_LIMIT = 1500
DEFAULT_IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
DEFAULT_VIDEO_SIZE_LIMIT = 99 * 1024 * 1024
DEFAULT_MIME_TYPES = (
    "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/webp", "image/avif",
    "video/webm", "video/mp4", "video/quicktime", "video/ogg",
    "audio/wave", "audio/wav", "audio/x-wav", "audio/x-pn-wave", "audio/vnd.wave", "audio/ogg", "audio/vorbis",
    "audio/mpeg", "audio/mp3", "audio/webm", "audio/flac", "audio/aac", "audio/m4a", "audio/x-m4a", "audio/mp4",
    "audio/3gpp", "video/x-ms-asf",
)
"""Mastodon 4.x's documented defaults, used only when the server does not report its own."""

_URL = regex.compile(r"(?<![\w/])https?://[^\s<>\"]+[^\s<>\"\.,;:!?\)\]\}'\u2019\u201d]")
_MENTION = regex.compile(r"(?<![\w@])@([\w.]+(?:[\w-]*\w)?)(@[\w.-]+\.\w+)?", regex.UNICODE)
_GRAPHEME = regex.compile(r"\X")


@attrs.frozen(kw_only=True)
class InstanceLimits:
    """One server's posting limits, and where they came from."""

    max_characters: int = DEFAULT_MAX_CHARACTERS
    max_media_attachments: int = DEFAULT_MAX_MEDIA
    characters_reserved_per_url: int = DEFAULT_URL_CHARACTERS
    supported_mime_types: tuple[str, ...] = DEFAULT_MIME_TYPES
    image_size_limit: int = DEFAULT_IMAGE_SIZE_LIMIT
    video_size_limit: int = DEFAULT_VIDEO_SIZE_LIMIT
    description_limit: int = DEFAULT_DESCRIPTION_LIMIT
    version: str = ""
    source: str = "defaults"
    """``v2`` (``/api/v2/instance``), ``v1`` (an older server) or ``defaults``."""

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(self).items()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InstanceLimits:
        fields = {f.name for f in attrs.fields(cls)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in fields}
        return cls(**values)


def _positive(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _section(data: Mapping[str, Any], *path: str) -> Mapping[str, Any]:
    current: Any = data
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current if isinstance(current, Mapping) else {}


def _mime_types(value: object) -> tuple[str, ...]:
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return DEFAULT_MIME_TYPES


def parse_instance_v2(body: object) -> InstanceLimits:
    """Limits from a ``GET /api/v2/instance`` body; a missing value falls back to its default."""
    if not isinstance(body, Mapping):
        raise ValueError("the instance document is not a JSON object")
    statuses = _section(body, "configuration", "statuses")
    media = _section(body, "configuration", "media_attachments")
    return InstanceLimits(
        max_characters=_positive(statuses.get("max_characters"), DEFAULT_MAX_CHARACTERS),
        max_media_attachments=_positive(statuses.get("max_media_attachments"), DEFAULT_MAX_MEDIA),
        characters_reserved_per_url=_positive(statuses.get("characters_reserved_per_url"), DEFAULT_URL_CHARACTERS),
        supported_mime_types=_mime_types(media.get("supported_mime_types")),
        image_size_limit=_positive(media.get("image_size_limit"), DEFAULT_IMAGE_SIZE_LIMIT),
        video_size_limit=_positive(media.get("video_size_limit"), DEFAULT_VIDEO_SIZE_LIMIT),
        description_limit=_positive(media.get("description_limit"), DEFAULT_DESCRIPTION_LIMIT),
        version=str(body.get("version") or ""), source="v2")


def parse_instance_v1(body: object) -> InstanceLimits:
    """Limits from an older server's ``GET /api/v1/instance``: 3.x reports ``configuration``
    there too; forks report ``max_toot_chars``; otherwise the defaults."""
    if not isinstance(body, Mapping):
        raise ValueError("the instance document is not a JSON object")
    from_config = parse_instance_v2(body)
    chars = _positive(_section(body, "configuration", "statuses").get("max_characters"),
                      _positive(body.get("max_toot_chars"), DEFAULT_MAX_CHARACTERS))
    return attrs.evolve(from_config, max_characters=chars, source="v1")


def countable_text(text: str, *, url_characters: int) -> str:
    """``text`` as the server measures it: each URL replaced by ``url_characters`` placeholders,
    each remote mention shortened to its local part."""
    placeholder = "x" * url_characters
    replaced = _URL.sub(placeholder, text)
    return str(_MENTION.sub(lambda m: "@" + m.group(1), replaced))


def count_characters(text: str, *, spoiler_text: str = "", url_characters: int = DEFAULT_URL_CHARACTERS) -> int:
    """The length the server compares with ``max_characters``."""
    counted = spoiler_text + countable_text(text, url_characters=url_characters)
    return len(_GRAPHEME.findall(counted))


def text_problems(text: str, *, spoiler_text: str, limits: InstanceLimits, instance: str,
                  has_media: bool) -> list[Problem]:
    """Problems with the text of one status (empty without media, too long)."""
    if not text.strip() and not has_media:
        return [Problem(field="content", message="Mastodon needs some text when the status has no media")]
    length = count_characters(text, spoiler_text=spoiler_text, url_characters=limits.characters_reserved_per_url)
    if length <= limits.max_characters:
        return []
    spoiler = " (the content warning included)" if spoiler_text else ""
    return [Problem(field="content", message=(
        f"{length} characters as Mastodon counts them{spoiler}; {instance} takes at most "
        f"{limits.max_characters}. Shorten it, or set target_options.mastodon.thread: true to post it "
        "as a reply chain"))]


@attrs.frozen(kw_only=True)
class MediaFacts:
    """What validation knows about one media item before uploading it."""

    index: int
    kind: MediaKind
    mime: str | None = None
    """Sniffed from the file's bytes; None for a remote URL (checked when it is fetched)."""
    size: int | None = None
    alt: str | None = None
    missing: bool = False


def media_problems(media: Sequence[MediaFacts], limits: InstanceLimits) -> list[Problem]:
    """Every problem with the media against ``limits``: count, mixing, types, sizes, alt text."""
    problems: list[Problem] = []
    if len(media) > limits.max_media_attachments:
        problems.append(Problem(field="media", message=(
            f"this instance takes at most {limits.max_media_attachments} media items per status, got {len(media)}")))
    videos = [m for m in media if m.kind is MediaKind.VIDEO]
    if videos and len(media) > 1:
        problems.append(Problem(field="media", message=(
            "a status takes one video on its own, or images only; post the video separately")))
    for item in media:
        problems.extend(_item_problems(item, limits))
    return problems


def _item_problems(item: MediaFacts, limits: InstanceLimits) -> list[Problem]:
    field = f"media[{item.index}]"
    if item.missing:
        return [Problem(field=f"{field}.path", message="no such file")]
    problems: list[Problem] = []
    if item.mime is not None:
        if item.mime not in limits.supported_mime_types:
            accepted = ", ".join(t for t in limits.supported_mime_types if t.split("/")[0] in ("image", "video"))
            problems.append(Problem(field=f"{field}.path", message=(
                f"the file is {item.mime}, which this instance does not take; accepted: {accepted}")))
        elif item.mime.split("/")[0] != item.kind.value:
            problems.append(Problem(field=f"{field}.type", message=(
                f"the file is {item.mime}, not {'an' if item.kind is MediaKind.IMAGE else 'a'} {item.kind.value}")))
    limit = limits.video_size_limit if item.kind is MediaKind.VIDEO else limits.image_size_limit
    if item.size is not None and item.size > limit:
        problems.append(Problem(field=f"{field}.path", message=(
            f"{item.size} bytes; this instance takes {item.kind.value}s up to {limit} bytes")))
    if item.alt is not None and len(_GRAPHEME.findall(item.alt)) > limits.description_limit:
        problems.append(Problem(field=f"{field}.alt", message=(
            f"alt text is {len(item.alt)} characters; this instance takes at most {limits.description_limit}")))
    return problems


def split_thread(text: str, *, budget: int, url_characters: int) -> list[str]:
    """``text`` cut at word boundaries into parts each counting at most ``budget`` characters.

    Paragraph and line breaks inside a part are kept; a URL is never cut; a single word longer
    than ``budget`` (not a URL) is cut inside, as nothing else would fit.
    """
    if budget < 1:
        raise ValueError("the content warning alone fills the character limit")
    tokens = regex.findall(r"\S+|\s+", text)
    parts: list[str] = []
    current = ""
    for token in tokens:
        candidate = current + token
        if count_characters(candidate.rstrip(), url_characters=url_characters) <= budget:
            current = candidate
            continue
        if token.isspace():
            parts.append(current.rstrip())
            current = ""
            continue
        if current.strip():
            parts.append(current.rstrip())
        current = ""
        while count_characters(token, url_characters=url_characters) > budget and not _URL.fullmatch(token):
            graphemes = _GRAPHEME.findall(token)
            parts.append("".join(graphemes[:budget]))
            token = "".join(graphemes[budget:])
        current = token
    if current.strip():
        parts.append(current.rstrip())
    return [p.strip() for p in parts if p.strip()]
