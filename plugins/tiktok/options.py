"""``target_options.tiktok``: the option names users know, read into one typed value.

Canonical names are the hosted services' (RelayAPI/SocialSyncerAPI/Zernio ``tiktokSettings``):
``privacy_level``, ``allow_comment``, ``allow_duet``, ``allow_stitch``, ``draft``,
``video_made_with_ai``, ``commercial_content_type``, ``video_cover_timestamp_ms``, ``title``,
``description``, ``photo_cover_index``, ``auto_add_music``, ``content_preview_confirmed``,
``express_consent_given``, ``media_type``, ``video_cover_image_url`` (plus ``content`` and
``media``, the per-platform overrides core applies).

Also accepted, so a payload pasted from TikTok's own API or a seed works as TikTok would read it:
``is_aigc`` (= ``video_made_with_ai``), ``commercialContentType`` (Zernio's spelling),
``brand_organic_toggle`` / ``brand_content_toggle`` (combined into ``commercial_content_type``)
and ``disable_comment`` / ``disable_duet`` / ``disable_stitch``, which keep TikTok's meaning:
``disable_x: true`` turns x off (``allow_x = not disable_x``; never PostPost's inversion). Giving
an option and its alias with contradicting values is a problem, never a silent pick.

Nothing is defaulted that TikTok says the user must choose: ``privacy_level`` and the
``allow_*`` flags stay ``None`` until given, and validation asks for them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from crosspost.core.errors import Problem
from crosspost.core.options import OptionSpec, OptionType
from crosspost.plugins.tiktok.creator import PRIVACY_LEVELS

OPTIONS_PATH = "target_options.tiktok"
DEFAULT_COVER_TIMESTAMP_MS = 1000
"""The hosted services' default cover frame (TikTok itself falls back to the first frame)."""
COMMERCIAL_CONTENT_TYPES: tuple[str, ...] = ("none", "brand_organic", "brand_content", "both")
"""``both`` is crosspost's addition: TikTok lets a post be "Your brand" and "Branded content"."""
MEDIA_TYPES: tuple[str, ...] = ("photo", "video")
_INT32_MAX = 2**31 - 1
_Check = Callable[[object], str | None]
"""A per-field checker: a message when the value is unacceptable, else ``None``."""

_BOOLS = frozenset({
    "allow_comment", "allow_duet", "allow_stitch", "draft", "video_made_with_ai",
    "auto_add_music", "content_preview_confirmed", "express_consent_given",
})
_STRINGS = frozenset({"title", "description", "video_cover_image_url"})
_CHOICES: Mapping[str, tuple[str, ...]] = {
    "privacy_level": PRIVACY_LEVELS,
    "commercial_content_type": COMMERCIAL_CONTENT_TYPES,
    "media_type": MEDIA_TYPES,
}
_INTS = frozenset({"video_cover_timestamp_ms", "photo_cover_index"})
CANONICAL_NAMES = _BOOLS | _STRINGS | frozenset(_CHOICES) | _INTS

SAME_MEANING_ALIASES: Mapping[str, str] = {
    "is_aigc": "video_made_with_ai",
    "commercialContentType": "commercial_content_type",
}
INVERTED_ALIASES: Mapping[str, str] = {
    "disable_comment": "allow_comment",
    "disable_duet": "allow_duet",
    "disable_stitch": "allow_stitch",
}
BRAND_TOGGLES: Mapping[str, str] = {
    "brand_organic_toggle": "brand_organic",
    "brand_content_toggle": "brand_content",
}
OVERRIDE_NAMES = frozenset({"content", "media"})
"""Handled by ``crosspost.core.platform.for_platform``, not here."""

OPTION_NAMES: frozenset[str] = (
    CANONICAL_NAMES | frozenset(SAME_MEANING_ALIASES) | frozenset(INVERTED_ALIASES) | frozenset(BRAND_TOGGLES)
)
"""Every key :func:`parse_options` accepts (``content``/``media`` overrides aside)."""

FOREIGN_NAMES: Mapping[str, str] = {
    "viewerSetting": "privacy_level",
    "allowComments": "allow_comment",
    "allowDuet": "allow_duet",
    "allowStitch": "allow_stitch",
    "commercialContent": "commercial_content_type",
    "brandOrganic": "commercial_content_type",
    "brandedContent": "commercial_content_type",
    "privacyLevel": "privacy_level",
    "videoMadeWithAi": "video_made_with_ai",
}
"""Other services' names met in ``target_options.tiktok``: named in the error, never guessed at."""


@attrs.frozen(kw_only=True)
class TikTokOptions:
    """TikTok options as the user chose them. ``None`` means "not chosen", never a default."""

    privacy_level: str | None = None
    allow_comment: bool | None = None
    allow_duet: bool | None = None
    allow_stitch: bool | None = None
    draft: bool = False
    """Send to the creator's inbox (video) or as ``MEDIA_UPLOAD`` (photos) instead of posting."""
    video_made_with_ai: bool = False
    """TikTok's ``is_aigc``: label the video "Creator labeled as AI-generated"."""
    commercial_content_type: str = "none"
    """``none`` | ``brand_organic`` ("Your brand") | ``brand_content`` ("Paid partnership") | ``both``."""
    video_cover_timestamp_ms: int = DEFAULT_COVER_TIMESTAMP_MS
    title: str | None = None
    """Photo title given explicitly (otherwise derived from the content)."""
    description: str | None = None
    """Photo description (the long caption under a carousel)."""
    photo_cover_index: int = 0
    auto_add_music: bool | None = None
    content_preview_confirmed: bool | None = None
    express_consent_given: bool | None = None
    media_type: str | None = None
    """SocialSyncerAPI's ``media_type: "photo"``; checked against the media, never trusted over it."""
    video_cover_image_url: str | None = None
    """Accepted only to be refused clearly: TikTok's API cannot take a cover image."""
    given: frozenset[str] = frozenset()
    """Canonical names the user set (directly or through an alias)."""

    @property
    def cover_timestamp_given(self) -> bool:
        return "video_cover_timestamp_ms" in self.given

    @property
    def brand_organic_toggle(self) -> bool:
        return self.commercial_content_type in ("brand_organic", "both")

    @property
    def brand_content_toggle(self) -> bool:
        return self.commercial_content_type in ("brand_content", "both")


def parse_options(
    raw: Mapping[str, Any], *, report_unknown: bool = True
) -> tuple[TikTokOptions, list[Problem]]:
    """Read ``target_options.tiktok``; every problem is returned, none raised.

    Problems sit at ``target_options.tiktok.<key>`` and say what would be accepted. JSON ``null``
    counts as "not given". Set ``report_unknown=False`` when the caller already reports unknown
    keys (``Platform.generic_problems`` with ``option_names=OPTION_NAMES``).
    """
    reader = _Reader()
    for key, value in raw.items():
        if key in OVERRIDE_NAMES or value is None:
            continue
        if key in OPTION_NAMES:
            reader.read(key, value)
        elif report_unknown:
            reader.problems.append(Problem(field=_path(key), message=unknown_option_message(key)))
    reader.combine_brand_toggles()
    values = dict(reader.values)
    options = TikTokOptions(**values, given=frozenset(values))
    return options, reader.problems


def unknown_option_message(key: str) -> str:
    """Why ``key`` is refused, with the crosspost name when it is another service's spelling."""
    if key in FOREIGN_NAMES:
        return f"unknown option (another service's name); crosspost calls it '{FOREIGN_NAMES[key]}'"
    close = difflib.get_close_matches(key, sorted(OPTION_NAMES), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown option{hint} Accepted: {', '.join(sorted(CANONICAL_NAMES))}"


def _path(key: str) -> str:
    return f"{OPTIONS_PATH}.{key}"


@attrs.define
class _Reader:
    values: dict[str, Any] = attrs.field(factory=dict)
    source: dict[str, str] = attrs.field(factory=dict)
    toggles: dict[str, bool] = attrs.field(factory=dict)
    problems: list[Problem] = attrs.field(factory=list)

    def read(self, key: str, value: object) -> None:
        if key in BRAND_TOGGLES:
            if self._check(key, value, _bool_problem):
                self.toggles[key] = bool(value)
            return
        name = SAME_MEANING_ALIASES.get(key) or INVERTED_ALIASES.get(key) or key
        if not self._check(key, value, _problem_for(name)):
            return
        self.put(key, name, (not value) if key in INVERTED_ALIASES else value)

    def put(self, key: str, name: str, value: object) -> None:
        if name in self.values and self.values[name] != value:
            self.problems.append(Problem(
                field=_path(key),
                message=f"contradicts '{self.source[name]}' (both set {name}); give only one of them",
            ))
            return
        self.values[name] = value
        self.source.setdefault(name, key)

    def combine_brand_toggles(self) -> None:
        if not self.toggles:
            return
        organic = self.toggles.get("brand_organic_toggle", False)
        content = self.toggles.get("brand_content_toggle", False)
        kind = {(False, False): "none", (True, False): "brand_organic",
                (False, True): "brand_content", (True, True): "both"}[(organic, content)]
        key = "brand_content_toggle" if "brand_content_toggle" in self.toggles else "brand_organic_toggle"
        self.put(key, "commercial_content_type", kind)

    def _check(self, key: str, value: object, check: _Check) -> bool:
        message = check(value)
        if message is not None:
            self.problems.append(Problem(field=_path(key), message=message))
        return message is None


def _problem_for(name: str) -> _Check:
    if name in _BOOLS:
        return _bool_problem
    if name in _STRINGS:
        return _string_problem
    if name in _INTS:
        return _int_problem
    choices = _CHOICES[name]
    return lambda value: _choice_problem(value, choices)


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _bool_problem(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    return f"expected true or false, got {value!r} ({_json_type(value)})"


def _string_problem(value: object) -> str | None:
    if isinstance(value, str):
        return None
    return f"expected a string, got {value!r} ({_json_type(value)})"


def _int_problem(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _INT32_MAX:
        return None
    return f"expected a whole number from 0 to {_INT32_MAX}, got {value!r} ({_json_type(value)})"


def _choice_problem(value: object, choices: tuple[str, ...]) -> str | None:
    if isinstance(value, str) and value in choices:
        return None
    return f"expected one of {', '.join(choices)}; got {value!r}"


def _bool(name: str, help: str, **kw: Any) -> OptionSpec:
    return OptionSpec(name=name, type=OptionType.BOOLEAN, help=help, **kw)


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(name="privacy_level", type=OptionType.STRING, choices=PRIVACY_LEVELS, flag="privacy",
               help="Who can see the post: one of the creator's own options (`crosspost accounts info "
                    "TARGET` lists them); required for a direct post, never defaulted."),
    _bool("allow_comment", "Allow comments; required for a direct post unless the creator turned comments off.",
          flag="allow_comment"),
    _bool("allow_duet", "Allow duets (videos only); required for a direct video post unless the creator "
                        "turned duets off.", flag="allow_duet"),
    _bool("allow_stitch", "Allow stitches (videos only); required for a direct video post unless the creator "
                          "turned stitches off.", flag="allow_stitch"),
    _bool("draft", "Send to the creator's TikTok inbox as a draft (photos: MEDIA_UPLOAD); they finish it in "
                   "the app.", default=False, flag="draft"),
    _bool("video_made_with_ai", "Label the video as AI-generated (TikTok's is_aigc).", default=False,
          flag="ai_generated", aliases=("is_aigc",)),
    OptionSpec(name="commercial_content_type", type=OptionType.STRING, choices=COMMERCIAL_CONTENT_TYPES,
               default="none", flag="brand", flag_choices=("organic", "content"), flag_multiple=True,
               aliases=("commercialContentType",),
               help="Commercial content disclosure: none, brand_organic (promotes your own brand), "
                    "brand_content (a paid partnership) or both. The --brand flag takes organic and/or content."),
    OptionSpec(name="video_cover_timestamp_ms", type=OptionType.INTEGER, default=DEFAULT_COVER_TIMESTAMP_MS,
               minimum=0, maximum=_INT32_MAX, flag="cover_ms",
               help="The video frame (milliseconds from the start) used as the cover."),
    OptionSpec(name="title", type=OptionType.STRING,
               help="Photo post title (default: derived from the content, cut to 90 characters)."),
    OptionSpec(name="description", type=OptionType.STRING,
               help="Photo post description (default: the content)."),
    OptionSpec(name="photo_cover_index", type=OptionType.INTEGER, default=0, minimum=0, maximum=_INT32_MAX,
               help="Which photo (from 0) is the carousel's cover."),
    _bool("auto_add_music", "Let TikTok add music to a photo post."),
    _bool("content_preview_confirmed", "The user saw a preview of the post (a hosted service's consent flag)."),
    _bool("express_consent_given", "The user consented to posting (a hosted service's consent flag)."),
    OptionSpec(name="media_type", type=OptionType.STRING, choices=MEDIA_TYPES,
               help="SocialSyncerAPI's photo/video marker; checked against the media, never trusted over it."),
    OptionSpec(name="video_cover_image_url", type=OptionType.STRING,
               help="Accepted only to be refused clearly: TikTok's API cannot take a cover image."),
    _bool("disable_comment", "TikTok's own spelling: true turns comments off (allow_comment = not disable_comment)."),
    _bool("disable_duet", "TikTok's own spelling: true turns duets off (allow_duet = not disable_duet)."),
    _bool("disable_stitch", "TikTok's own spelling: true turns stitches off (allow_stitch = not disable_stitch)."),
    _bool("brand_organic_toggle", "TikTok's own spelling: \"Your brand\" (combined into commercial_content_type)."),
    _bool("brand_content_toggle", "TikTok's own spelling: \"Paid partnership\" (combined into "
                                  "commercial_content_type)."),
)
"""Every ``target_options.tiktok`` key, declared once: CLI flags, docs and generic checks read it.
:func:`parse_options` stays the reader of their meaning (aliases, inversions, contradictions)."""

BRAND_FLAGS: Mapping[frozenset[str], str] = {
    frozenset({"organic"}): "brand_organic",
    frozenset({"content"}): "brand_content",
    frozenset({"organic", "content"}): "both",
}
"""``--brand`` values given -> ``commercial_content_type``."""
