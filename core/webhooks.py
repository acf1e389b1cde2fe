"""Incoming platform webhooks, neutral: a platform parses and verifies, core routes and applies.

A platform's :class:`WebhookReceiver` is pure (gidgethub's ``sansio``): given the request's
headers, raw body, the settings and the time, it returns the events or raises
:class:`WebhookRejected`. ``crosspost webhooks serve`` (and ``crosspost serve``) mount every
platform's receiver at ``POST /webhooks/<platform>`` and hand the events to
:meth:`crosspost.core.hub.Hub.apply_webhook_events`. aiohttp stays at that edge.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import attrs

from crosspost.core.errors import PermanentError

if TYPE_CHECKING:
    from crosspost.core.settings import Settings


class WebhookRejected(PermanentError):
    """The request is not a genuine, fresh, well-formed event: answered 4xx, nothing applied.

    ``status`` is the HTTP status the receiver answers (400 malformed, 401 forged/stale).
    """

    def __init__(self, message: str, *, code: str = "webhook_rejected", status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


class EventKind(enum.StrEnum):
    POST = "post"
    """About one publish (``publish_id``): published, failed, processing, inbox, public id."""
    ACCOUNT = "account"
    """About an account (``account_ref``): access removed, token revoked."""
    IGNORED = "ignored"
    """A genuine event crosspost has no use for (acknowledged, nothing applied)."""


@attrs.frozen(kw_only=True)
class PlatformEvent:
    """One verified event, in crosspost's words."""

    kind: EventKind
    event_id: str
    """The platform's id of the event (or a digest of it): redeliveries are applied once."""
    outcome: str = ""
    """POST: ``published``, ``failed``, ``processing``, ``inbox``, ``public``; ACCOUNT: ``removed``."""
    publish_id: str | None = None
    platform_post_id: str | None = None
    account_ref: str | None = None
    """The platform's id of the account (TikTok ``open_id``), matched against stored profiles."""
    reason: str | None = None


ACCOUNT_REF_KEYS: tuple[str, ...] = ("account_ref", "open_id", "id")
"""Keys of ``Account.profile`` an ACCOUNT event's ``account_ref`` is matched against, in order."""


@attrs.frozen(kw_only=True)
class AppliedEvent:
    """What :meth:`~crosspost.core.hub.Hub.apply_webhook_events` did with one event."""

    event: PlatformEvent
    matched: bool
    """A job (POST) or an account (ACCOUNT) was found for it."""
    account: str | None = None
    """``platform:name`` of the account an ACCOUNT event was about, when one is stored."""


class WebhookReceiver(Protocol):
    """What a platform offers for incoming webhooks. ``parse`` is pure and synchronous."""

    max_body: int
    """Largest body accepted, in bytes (bigger: 413 before reading it all)."""

    def parse(self, headers: Mapping[str, str], body: bytes, *, settings: Settings,
              now: datetime) -> Sequence[PlatformEvent]:
        """Verify ``body`` (signature, freshness) and return its events; raise WebhookRejected."""
        ...
