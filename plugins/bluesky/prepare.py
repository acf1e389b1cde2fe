"""Validate once: options read, text cut into posts, media probed, every problem found.

The result travels to ``publish`` as ``ctx.validation.value`` (the engine hands it back within
the same attempt), so nothing is probed or split twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from crosspost.core.errors import Problem
from crosspost.core.models import Media, MediaKind, Post
from crosspost.plugins.bluesky import limits
from crosspost.plugins.bluesky import text as rich
from crosspost.plugins.bluesky.limits import MAX_IMAGE_BYTES, Options

IMAGE_MIMES = ("image/jpeg", "image/png", "image/webp", "image/gif")
VIDEO_MIMES = ("video/mp4", "video/quicktime", "video/webm", "video/mpeg")
REENCODABLE = ("image/jpeg", "image/png", "image/webp")


@attrs.frozen(kw_only=True)
class MediaFacts:
    """What probing found in one media file."""

    size: int
    mime: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    reencode: bool = False
    """An image over :data:`~crosspost.plugins.bluesky.limits.MAX_IMAGE_BYTES`: sent as a JPEG that fits."""


@attrs.frozen(kw_only=True)
class Prepared:
    options: Options
    parts: tuple[str, ...]
    media: tuple[MediaFacts, ...]
    card_part: int | None = None
    """The part holding the first link (the link card's), when there is one."""


@attrs.frozen(kw_only=True)
class Checked:
    prepared: Prepared
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]


async def check(post: Post) -> Checked:
    """Everything ``validate`` reports, and the plan ``publish`` follows."""
    options = Options.of(post)
    problems = [*limits.media_problems(post), *limits.option_problems(post, options),
                *limits.text_problems(post.content, options)]
    warnings: list[str] = []
    facts = []
    for i, media in enumerate(post.media):
        found, media_problems, media_warnings = await _probe(i, media)
        facts.append(found)
        problems += media_problems
        warnings += media_warnings
    parts = tuple(limits.parts_of(post, options)) if not problems else (post.content,)
    if options.thread and len(parts) > 1:
        warnings.append(f"the text is posted as a thread of {len(parts)} posts")
    card = next((i for i, part in enumerate(parts) if any(s.kind == "link" for s in rich.detect(part))), None)
    prepared = Prepared(options=options, parts=parts, media=tuple(facts), card_part=card)
    return Checked(prepared=prepared, problems=tuple(problems), warnings=tuple(warnings))


async def _probe(index: int, media: Media) -> tuple[MediaFacts, Sequence[Problem], Sequence[str]]:
    empty = MediaFacts(size=0, mime="application/octet-stream")
    if media.path is None:
        return empty, (), ()  # limits.media_problems reports it
    from crosspost.core.media import probe_async

    info = await probe_async(media.path)
    field = f"media[{index}].path"
    if not info.ok:
        return empty, (Problem(field=field, message=info.problem or "unreadable"),), ()
    facts = MediaFacts(size=info.size, mime=info.mime, width=info.width, height=info.height, duration=info.duration_s)
    if media.type is MediaKind.VIDEO:
        if info.mime not in VIDEO_MIMES:
            return facts, (Problem(field=field, message=f"the file is {info.mime}; Bluesky takes "
                                                        f"{', '.join(VIDEO_MIMES)} videos"),), ()
        return facts, limits.video_problems(index, size=info.size, duration=info.duration_s), ()
    if info.mime not in IMAGE_MIMES:
        return facts, (Problem(field=field, message=f"the file is {info.mime}; Bluesky takes "
                                                    f"{', '.join(IMAGE_MIMES)} images"),), ()
    if info.size <= MAX_IMAGE_BYTES:
        return facts, (), ()
    if info.mime not in REENCODABLE:
        message = (f"{info.size} bytes is more than the {MAX_IMAGE_BYTES} bytes a Bluesky image may have "
                   "(an animated GIF cannot be re-encoded)")
        return facts, (Problem(field=field, message=message),), ()
    warning = (f"media[{index}] is {info.size} bytes, over Bluesky's {MAX_IMAGE_BYTES}: "
               "it is re-encoded as a JPEG that fits")
    return attrs.evolve(facts, reencode=True), (), (warning,)
