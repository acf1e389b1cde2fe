"""What TikTok's validation decided, shared by ``validate``, ``plan`` and ``publish``.

:class:`TikTokPrepared` travels as ``Validation.value``: the engine validates once per attempt
and hands it back as ``ctx.validation``, so ``plan`` and ``publish`` neither probe the media nor
ask for the creator's settings again. The functions here are the pieces the three share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from crosspost.core.errors import DailyCapReached, InvalidPost, Problem
from crosspost.core.models import MediaKind, Post
from crosspost.core.platform import JobContext, Validation
from crosspost.plugins.tiktok.chunks import plan_chunks
from crosspost.plugins.tiktok.config import TikTokConfig
from crosspost.plugins.tiktok.creator import CreatorInfo
from crosspost.plugins.tiktok.options import TikTokOptions
from crosspost.plugins.tiktok.requests import FileSource, Route, route_media
from crosspost.plugins.tiktok.upload import VIDEO_CONTENT_TYPES
from crosspost.plugins.tiktok.validate import validate_post

if TYPE_CHECKING:
    from crosspost.core.media import MediaInfo

@attrs.frozen(kw_only=True)
class TikTokPrepared:
    """A post TikTok's checks accepted: options parsed, media probed, creator asked, routes chosen."""

    options: TikTokOptions
    infos: tuple[MediaInfo | None, ...]
    """What each local file holds (None for a URL, not fetched to validate)."""
    creator: CreatorInfo | None
    """The creator's live settings (None for drafts: the creator decides in the app)."""
    routes: tuple[Route, ...]
    """How each media item reaches TikTok."""
    has_host: bool
    """Whether a media host was ready when the post was checked."""


def prepared_from(ctx: JobContext) -> TikTokPrepared | None:
    """This attempt's :class:`TikTokPrepared`, when the engine validated first."""
    value = ctx.validation.value if ctx.validation is not None else None
    return value if isinstance(value, TikTokPrepared) else None


def has_media_host(ctx: JobContext) -> bool:
    """Whether ``ctx`` can host local files (``host_media``)."""
    return ctx.has_media_host


def check_post(
    post: Post, creator: CreatorInfo | None, infos: Sequence[MediaInfo | None], *, config: TikTokConfig,
    has_host: bool, report_unknown: bool = False,
) -> tuple[TikTokOptions, Validation]:
    """Options and validation of ``post``. ``report_unknown`` (``validate``) names unknown
    options with the closest TikTok name and other services' spellings; the engine keeps one
    problem per field, so the base class's plainer report of the same key gives way to it."""
    return validate_post(post, creator, infos, verified_url_prefixes=config.verified.prefixes,
                         verified_domains=config.verified.domains, has_media_host=has_host,
                         report_unknown=report_unknown)


def prepare(post: Post, creator: CreatorInfo | None, infos: Sequence[MediaInfo | None], *,
            config: TikTokConfig, has_host: bool, report_unknown: bool = False) -> Validation:
    """:func:`check_post`, with the typed result as ``value`` when the post is accepted."""
    options, result = check_post(post, creator, infos, config=config, has_host=has_host,
                                 report_unknown=report_unknown)
    if result.problems:
        return result
    routes = routes_for(post, infos, config=config, has_host=has_host)
    value = TikTokPrepared(options=options, infos=tuple(infos), creator=creator, routes=tuple(routes),
                           has_host=has_host)
    return attrs.evolve(result, value=value)


def routes_for(post: Post, infos: Sequence[MediaInfo | None], *, config: TikTokConfig,
               has_host: bool) -> list[Route]:
    """How each media item of ``post`` reaches TikTok."""
    return [route_media(item, info, verified=config.verified, has_media_host=has_host)
            for item, info in zip(post.media, infos, strict=True)]


def is_video_post(post: Post, infos: Sequence[MediaInfo | None]) -> bool:
    if not post.media:
        return False
    info = infos[0]
    kind = info.kind if info is not None and info.kind is not None else post.media[0].type
    return kind is MediaKind.VIDEO


def file_source(size: int, config: TikTokConfig) -> FileSource:
    """The FILE_UPLOAD source for a video of ``size`` bytes with the configured chunk size."""
    return FileSource(video_size=size, plan=plan_chunks(size, preferred_chunk_size=config.chunk_size))


def content_type_of(info: MediaInfo | None) -> str:
    """The PUT Content-Type for a video, from its sniffed format."""
    fmt = info.format.value if info is not None else ""
    if fmt not in VIDEO_CONTENT_TYPES:
        label = info.format.label if info is not None else "unreadable"
        raise InvalidPost([Problem(field="media[0]", message=f"TikTok takes MP4, MOV or WebM videos, not {label}")])
    return VIDEO_CONTENT_TYPES[fmt]


def with_not_before(err: DailyCapReached, when: datetime) -> DailyCapReached:
    """``err`` with a ``not_before`` (TikTok's cap answers carry no time)."""
    if err.not_before is None:
        err.not_before = when
    return err
