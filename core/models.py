"""The platform-neutral post and the results a platform reports back.

These are plain frozen values: no I/O, no JSON. Turning them to and from JSON lives in
``crosspost.core.convert`` so the models stay free of wire concerns (cattrs' advice).
The wire shape follows what users know from hosted posting APIs (``targets``, ``media``,
``scheduled_at``, ``target_options.<platform>``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs


class MediaKind(enum.StrEnum):
    """What a media item is meant to be; the bytes are checked against it later."""

    VIDEO = "video"
    IMAGE = "image"


class JobStatus(enum.StrEnum):
    """Where one (post, target) job stands. Terminal states never change again."""

    SCHEDULED = "scheduled"
    """Waiting for its ``scheduled_at`` time."""
    QUEUED = "queued"
    """Due; waiting for a worker."""
    VALIDATING = "validating"
    UPLOADING = "uploading"
    PROCESSING = "processing"
    """The platform has the media and is processing it; we poll."""
    DEFERRED = "deferred"
    """Waiting on a limit (daily cap, rate window, account needing login); runs again later."""
    PUBLISHED = "published"
    INBOX = "inbox"
    """Delivered to the creator's drafts/inbox; the creator finishes it in the app."""
    UNKNOWN = "unknown"
    """The outcome cannot be known (a request that may have published got no answer, or the
    platform stopped saying): it may be live or not. Never retried, never called ``failed`` or
    ``published``; ``crosspost reconcile`` records what the user found. Stored as ``unknown``
    since migration 7 (older rows said ``uncertain``, which still reads as this)."""
    UNCERTAIN = "unknown"
    """The same state under its former name (an alias, kept for callers)."""
    FAILED = "failed"
    CANCELLED = "cancelled"
    PARTIAL = "partial"
    """A post's status only, never a job's: every target is final, some delivered and some failed
    (``crosspost retry`` runs the failed ones again)."""

    @classmethod
    def _missing_(cls, value: object) -> JobStatus | None:
        # Rows, exports and API clients of older versions say "uncertain".
        return cls.UNKNOWN if value == "uncertain" else None

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def running(self) -> bool:
        return self in _RUNNING


_TERMINAL = frozenset(
    {JobStatus.PUBLISHED, JobStatus.INBOX, JobStatus.FAILED, JobStatus.CANCELLED,
     JobStatus.UNCERTAIN}
)
_RUNNING = frozenset({JobStatus.VALIDATING, JobStatus.UPLOADING, JobStatus.PROCESSING})


def _one_source(instance: Media, attribute: attrs.Attribute[Any], value: object) -> None:
    if (instance.path is None) == (instance.url is None):
        raise ValueError("give exactly one of 'path' (a local file) or 'url'")


@attrs.frozen(kw_only=True)
class Media:
    """One media item: a local file (``path``) or a remote one (``url``)."""

    type: MediaKind
    path: str | None = attrs.field(default=None, validator=_one_source)
    url: str | None = None
    alt: str | None = None
    """Alternative text describing the media, for platforms that take it (Mastodon, Bluesky);
    a platform that does not (``Platform.alt_text`` False) drops it with a warning."""

    @property
    def is_local(self) -> bool:
        return self.path is not None

    def resolved(self, base: Path) -> Media:
        """This item with a relative ``path`` made absolute against ``base`` (the request's folder)."""
        if self.path is None or Path(self.path).is_absolute():
            return self
        return attrs.evolve(self, path=str((base / self.path).resolve()))


@attrs.frozen(kw_only=True, order=True)
class Target:
    """Where to post: a platform name and, optionally, one of its accounts (``tiktok:main``)."""

    platform: str
    account: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """Read ``platform`` or ``platform:account``; raises ValueError naming what is accepted."""
        platform, sep, account = text.strip().partition(":")
        if not platform or not platform.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"expected 'platform' or 'platform:account', got {text!r}")
        if sep and not account:
            raise ValueError(f"account name missing after ':' in {text!r}")
        return cls(platform=platform.lower(), account=account or None)

    def __str__(self) -> str:
        return f"{self.platform}:{self.account}" if self.account else self.platform


def _targets(value: Iterable[Target]) -> tuple[Target, ...]:
    return tuple(value)


def _media(value: Iterable[Media]) -> tuple[Media, ...]:
    return tuple(value)


@attrs.frozen(kw_only=True)
class Post:
    """A platform-neutral post, exactly as the user asked for it.

    ``scheduled_at`` keeps the user's words (``"now"``, an ISO-8601 instant, or a local time read
    in ``timezone``); ``crosspost.core.schedule`` turns them into an instant.
    ``target_options`` holds each platform's own options, untouched, keyed by platform name;
    a platform's entry may also override ``content`` and ``media`` for that platform.
    """

    content: str = ""
    targets: tuple[Target, ...] = attrs.field(converter=_targets)
    media: tuple[Media, ...] = attrs.field(default=(), converter=_media)
    scheduled_at: str = "now"
    timezone: str | None = None
    idempotency_key: str | None = None
    target_options: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)

    def options_for(self, platform: str) -> Mapping[str, Any]:
        """The options given for ``platform`` (empty when none)."""
        return self.target_options.get(platform, {})

    def resolved(self, base: Path) -> Post:
        """This post with every relative media path made absolute against ``base``."""
        media: tuple[Media, ...] = tuple(m.resolved(base) for m in self.media)
        return attrs.evolve(self, media=media)


@attrs.frozen(kw_only=True)
class ErrorInfo:
    """Why a target failed, in the JSON-ready form users and bots read."""

    code: str
    message: str
    retryable: bool = False
    field: str | None = None


@attrs.frozen(kw_only=True)
class TargetResult:
    """What happened to one target of a post (the ``targets[]`` entries of ``--json`` output)."""

    target: Target
    status: JobStatus
    publish_id: str | None = None
    post_url: str | None = None
    warnings: tuple[str, ...] = ()
    error: ErrorInfo | None = None
