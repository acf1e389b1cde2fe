"""What Bluesky accepts, checked before anything is uploaded (pure: no I/O).

Each check returns :class:`~crosspost.core.errors.Problem` values naming the field and what
would be accepted; the platform collects them all, so a user fixes everything in one go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import regex

from crosspost.core.errors import Problem
from crosspost.core.models import MediaKind, Post
from crosspost.core.options import OptionSpec, OptionType
from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.records import SELF_LABEL_VALUES

PLATFORM = "bluesky"
OPTIONS_PATH = f"target_options.{PLATFORM}"

MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
"""Per image blob. The lexicon now allows 2,000,000 bytes, but the reference PDS accepts more
than its apps show, and Bluesky's own docs still check 1,000,000: crosspost keeps the bytes every
app displays and re-encodes a larger photo to a JPEG that fits (with a warning)."""
MAX_VIDEO_BYTES = 100_000_000
"""Per video: the video service's long-standing upload size. The embed lexicon now allows
300,000,000 bytes, but whether the service takes that much is unconfirmed: crosspost stays at
what it is known to accept."""
MAX_VIDEO_SECONDS = 180.0
"""Bluesky plays videos of up to three minutes."""
MAX_LANGS = 3
RATE_CREATES = 1_600
"""Record creations per hour per account: the PDS allows 5,000 write points (3 per create), with margin."""
RATE_WINDOW = 3600.0
LOGIN_LIMIT = 30
"""``createSession`` calls per identifier per :data:`LOGIN_WINDOW` seconds (the PDS's own limit)."""
LOGIN_WINDOW = 300.0

OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(name="langs", type=OptionType.STRING_LIST, flag="langs",
               help="Languages of the text as BCP-47 tags (e.g. en, pt-BR), at most 3."),
    OptionSpec(name="labels", type=OptionType.STRING_LIST, choices=SELF_LABEL_VALUES,
               help="Self-labels (content warnings) put on the post."),
    OptionSpec(name="thread", type=OptionType.BOOLEAN, default=False, flag="thread",
               help="Split text over 300 graphemes into a reply chain at word boundaries."),
    OptionSpec(name="link_card", type=OptionType.BOOLEAN, default=False,
               help="Attach a link card for the first link in the text (posts without media only)."),
)

_LANG = regex.compile(r"^(?:[a-zA-Z]{2,3}(?:-[a-zA-Z]{3}){0,3}|[a-zA-Z]{4,8}|[ixIX])(?:-[a-zA-Z0-9]{1,8})*$")


@attrs.frozen(kw_only=True)
class Options:
    """``target_options.bluesky`` read (types already checked by the generic option checks)."""

    langs: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    thread: bool = False
    link_card: bool = False

    @classmethod
    def of(cls, post: Post) -> Options:
        raw: Mapping[str, Any] = post.options_for(PLATFORM)
        return cls(langs=tuple(raw.get("langs") or ()), labels=tuple(raw.get("labels") or ()),
                   thread=bool(raw.get("thread", False)), link_card=bool(raw.get("link_card", False)))


def parts_of(post: Post, options: Options) -> list[str]:
    """The texts of the posts to write: one, or a thread's parts when ``thread`` is on."""
    if options.thread:
        return rich.split_thread(post.content)
    return [post.content]


def text_problems(content: str, options: Options) -> list[Problem]:
    if options.thread or rich.fits(content):
        return []
    count, size = rich.graphemes(content), rich.utf8_length(content)
    return [Problem(field="content",
                    message=f"too long for a Bluesky post: {count} graphemes and {size} bytes, at most "
                            f"{rich.MAX_GRAPHEMES} graphemes and {rich.MAX_BYTES} bytes; shorten it, give "
                            f"{OPTIONS_PATH}.content, or set {OPTIONS_PATH}.thread to true to post a thread")]


def option_problems(post: Post, options: Options) -> list[Problem]:
    """What the generic checks cannot know: language tag shapes, how many, embed conflicts."""
    problems: list[Problem] = []
    if len(options.langs) > MAX_LANGS:
        problems.append(Problem(field=f"{OPTIONS_PATH}.langs",
                                message=f"at most {MAX_LANGS} languages, got {len(options.langs)}"))
    for i, lang in enumerate(options.langs):
        if not _LANG.match(lang):
            problems.append(Problem(field=f"{OPTIONS_PATH}.langs[{i}]",
                                    message=f"{lang!r} is not a BCP-47 language tag (e.g. en, pt-BR, ja)"))
    if options.link_card and post.media:
        problems.append(Problem(field=f"{OPTIONS_PATH}.link_card",
                                message="a Bluesky post carries one embed: a link card or media, not both "
                                        "(the link stays clickable in the text without a card)"))
    if options.link_card and not any(s.kind == "link" for s in rich.detect(post.content)):
        problems.append(Problem(field=f"{OPTIONS_PATH}.link_card",
                                message="there is no http(s):// link in the text to make a card of"))
    return problems


def media_problems(post: Post) -> list[Problem]:
    """One video, or up to four images; never both; local files only; and never an empty post."""
    problems: list[Problem] = []
    kinds = [m.type for m in post.media]
    if not post.content.strip() and not kinds:
        problems.append(Problem(field="content", message="nothing to post: give content or media"))
    videos = kinds.count(MediaKind.VIDEO)
    if videos and len(kinds) > 1:
        problems.append(Problem(field="media",
                                message=f"a Bluesky post holds one video, or up to {MAX_IMAGES} images, not both"))
    for i, media in enumerate(post.media):
        if media.path is None:
            problems.append(Problem(field=f"media[{i}].url",
                                    message="Bluesky stores media as blobs uploaded from local files; give a 'path'"))
    return problems


def video_problems(index: int, *, size: int, duration: float | None, max_bytes: int = MAX_VIDEO_BYTES,
                   max_seconds: float = MAX_VIDEO_SECONDS) -> list[Problem]:
    problems = []
    if size > max_bytes:
        problems.append(Problem(field=f"media[{index}].path",
                                message=f"{size} bytes is more than the {max_bytes} bytes a Bluesky video may have"))
    if duration is not None and duration > max_seconds:
        problems.append(Problem(field=f"media[{index}].path",
                                message=f"the video lasts {duration:.1f} s; Bluesky takes at most {max_seconds:g} s"))
    return problems

