"""Metrics, neutral: what a platform reports about a published post, and when crosspost asks.

A platform that reports metrics declares them (:class:`MetricSpec`, on
``Platform.metrics``) and implements ``fetch_metrics(refs, ctx)``: given published targets
(:class:`MetricRef`, all on one account) it returns one :class:`MetricSnapshot` per post it
found. Counters are lifetime totals at the moment of the call, so a time series is a list of
snapshots taken on :data:`SNAPSHOT_AFTER`'s decaying schedule by the engine
(:mod:`crosspost.core.engine.metrics`). Platform ids are strings end to end: TikTok's are
19-digit numbers that a float (or JavaScript's ``JSON.parse``) rounds to a post that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from crosspost.core.errors import PermanentError
from crosspost.core.models import Target

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.clock import Clock
    from crosspost.core.platform import AccountAccess, RateGate
    from crosspost.core.settings import Settings

SNAPSHOT_AFTER: tuple[timedelta, ...] = (
    timedelta(hours=1), timedelta(hours=6), timedelta(hours=24),
    timedelta(days=3), timedelta(days=7), timedelta(days=30),
)
"""When after publishing a target's metrics are read: often while a post is new, then rarely."""

RESOLVE_AFTER: tuple[timedelta, ...] = (
    timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=1),
    timedelta(hours=3), timedelta(hours=6), timedelta(hours=12), timedelta(hours=24), timedelta(hours=48),
)
"""When after publishing crosspost asks again for a public id it does not know yet (TikTok's
``publicaly_available_post_id`` may come hours after the post, after moderation)."""

MISSING_SCOPE_RETRY = timedelta(hours=24)
"""How long a target whose account lacks a metrics scope waits before it is tried again (or at
once, after the account is connected again): never a tight loop."""

STANDARD_METRICS = ("views", "likes", "comments", "shares")
"""Names a platform uses for the counters most have; others are its own (documented per spec)."""


def _identifier(value: object) -> str:
    """Platform ids as text: an int is accepted and turned into its exact decimal string."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"a platform id must be a string, got {type(value).__name__}")
    return str(value)


def _counts(value: Mapping[str, object]) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for name, count in value.items():
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"metric {name!r} must be an integer count, got {type(count).__name__}")
        counts[name] = count
    return counts


@attrs.frozen(kw_only=True)
class MetricSpec:
    """One metric a platform reports: its name (a key of :attr:`MetricSnapshot.metrics`) and
    what it counts, in words for ``crosspost stats`` and the docs."""

    name: str
    help: str
    label: str = ""
    """Short heading (default: the name, capitalised)."""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


@attrs.frozen(kw_only=True)
class MetricRef:
    """A published target whose metrics are wanted, as the engine knows it."""

    job_id: str
    post_id: str
    target: Target
    publish_id: str | None = None
    """The platform's id of the publish (TikTok ``v_pub_file~…``), not the public post id."""
    platform_post_id: str | None = attrs.field(default=None, converter=attrs.converters.optional(_identifier))
    """The public post id once known (TikTok's video ``id``); None while it is being resolved."""
    post_url: str | None = None
    published_at: datetime


@attrs.frozen(kw_only=True)
class ResolvedPost:
    """A public post id found later (status poll, webhook), and its link when one can be built."""

    platform_post_id: str = attrs.field(converter=_identifier)
    post_url: str | None = None
    resolved_by: str = ""
    """How: ``status``, ``webhook``, ``list_match`` (inferred from captions: less certain)."""


@attrs.frozen(kw_only=True)
class MetricSnapshot:
    """One reading of one post's counters."""

    target: Target
    platform_post_id: str = attrs.field(converter=_identifier)
    taken_at: datetime
    metrics: Mapping[str, int] = attrs.field(converter=_counts)
    """Lifetime totals by :class:`MetricSpec` name (``views``, ``likes``, ...)."""
    extras: Mapping[str, Any] = attrs.field(factory=dict)
    """Platform facts that are not counters (TikTok: ``share_url``, ``duration``, ``title``)."""
    job_id: str = ""
    """Filled in by the engine: which published target the snapshot belongs to."""


@attrs.frozen(kw_only=True)
class AccountMetrics:
    """An account's lifetime totals now (TikTok ``user.info.stats``: followers, likes, videos)."""

    target: Target
    taken_at: datetime
    metrics: Mapping[str, int] = attrs.field(converter=_counts)
    extras: Mapping[str, Any] = attrs.field(factory=dict)


class MetricsContext(Protocol):
    """What a platform may use while reading metrics for one account."""

    settings: Settings
    http: aiohttp.ClientSession
    clock: Clock
    rate: RateGate
    log: logging.Logger
    account: AccountAccess


class MissingScope(PermanentError):
    """The account was connected without a permission metrics need (TikTok ``video.list``).

    Not retried soon: the target's next try is :data:`MISSING_SCOPE_RETRY` later, or right after
    the account is connected again with the scope granted."""

    def __init__(self, message: str, *, scope: str, platform: str, reconnect: str) -> None:
        super().__init__(message, code="scope_missing", platform=platform, hint=reconnect)
        self.scope = scope
        self.reconnect = reconnect


class MetricsUnsupported(PermanentError):
    """The platform reports no metrics (or no account totals)."""

    def __init__(self, message: str, *, platform: str) -> None:
        super().__init__(message, code="metrics_unsupported", platform=platform)


def next_snapshot_step(published_at: datetime, now: datetime, *, after_step: int = -1) -> int | None:
    """The index into :data:`SNAPSHOT_AFTER` of the next reading after ``after_step``: the first
    step still ahead of ``now``, except that one step already due is taken (a worker that was
    offline for a week takes one reading, not four). None when the schedule is over."""
    due: int | None = None
    for step in range(after_step + 1, len(SNAPSHOT_AFTER)):
        at = published_at + SNAPSHOT_AFTER[step]
        if at > now:
            return step if due is None else due
        due = step
    return due


def snapshot_due(published_at: datetime, step: int) -> datetime:
    return published_at + SNAPSHOT_AFTER[step]


__all__ = [
    "MISSING_SCOPE_RETRY", "RESOLVE_AFTER", "SNAPSHOT_AFTER", "STANDARD_METRICS", "AccountMetrics",
    "MetricRef", "MetricSnapshot", "MetricSpec", "MetricsContext", "MetricsUnsupported", "MissingScope",
    "ResolvedPost", "next_snapshot_step", "snapshot_due",
]
