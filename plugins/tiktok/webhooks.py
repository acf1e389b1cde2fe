"""TikTok webhooks: signature check, event parsing, and an aiohttp receiver (tiktok-api.md §9).

What a caller may rely on:

- :func:`verify_signature` accepts a request only if ``TikTok-Signature`` is
  ``t=<unix seconds>,s=<hex HMAC-SHA256(client_secret, f"{t}.{raw body}")>`` (compared in
  constant time) and ``t`` is within ``tolerance`` seconds of now, in either direction.
- :func:`parse_event` unwraps the envelope and its JSON-in-a-string ``content``, and says which
  ``publish_id`` the event is about and what happened (:class:`WebhookOutcome`). It accepts
  ``DIRECT_PUBLISH``/``DIRECT_POST``/``INBOX_SHARE``, both spellings of the
  ``no_longer_publicaly_available`` event, and ``post_id`` as a string or a number.
- :func:`make_webhook_app` answers 200 as soon as a request is verified and parsed (TikTok
  retries for 72 h otherwise), then runs ``on_event`` in the background. A redelivered event
  (same event, user, publish_id, create_time and post_id) is acknowledged but not processed
  again. Refused requests get 4xx and are logged without their body.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs
from aiohttp import web

from crosspost.core.clock import Clock
from crosspost.core.errors import PermanentError

log = logging.getLogger("crosspost.plugins.tiktok.webhooks")

SIGNATURE_HEADER = "TikTok-Signature"
"""Header name; aiohttp's headers are case-insensitive, so ``Tiktok-Signature`` matches too."""
DEFAULT_TOLERANCE = 300
MAX_BODY = 1024 * 1024


class WebhookRejected(PermanentError):
    """A webhook request crosspost refuses; ``status`` is the HTTP answer to give."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message, code=type(self).__name__, platform="tiktok")


class MalformedWebhook(WebhookRejected):
    """The signature header or the body is not what TikTok sends."""


class ForgedWebhook(WebhookRejected):
    """The signature does not match the body: not from TikTok, or not for this client secret."""

    status = 401


class StaleWebhook(WebhookRejected):
    """Correctly signed, but too old: possibly a replay of a captured request."""


class FutureWebhook(WebhookRejected):
    """Correctly signed, but dated in the future beyond the tolerance (clock skew or forgery)."""


def verify_signature(
    header: str | None,
    raw_body: bytes,
    *,
    client_secret: str,
    now: datetime | float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> None:
    """Raise unless ``header`` signs ``raw_body`` with ``client_secret`` within ``tolerance`` s.

    The signature is checked before the timestamp, so a forged request is reported as forged.
    """
    timestamp, signatures = _parse_header(header)
    payload = str(timestamp).encode() + b"." + raw_body
    expected = hmac.new(client_secret.encode(), payload, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise ForgedWebhook("webhook signature does not match (check CROSSPOST_TIKTOK_CLIENT_SECRET)")
    current = now.timestamp() if isinstance(now, datetime) else now
    if timestamp < current - tolerance:
        raise StaleWebhook(f"webhook signed {int(current - timestamp)} s ago, over the {tolerance:g} s tolerance")
    if timestamp > current + tolerance:
        raise FutureWebhook(f"webhook signed {int(timestamp - current)} s in the future, over {tolerance:g} s")


def _parse_header(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise MalformedWebhook(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "s" and len(value) == 64:
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise MalformedWebhook(f"{SIGNATURE_HEADER} header is not 't=<seconds>,s=<64 hex digits>'")
    return timestamp, signatures


class WebhookOutcome(enum.StrEnum):
    """What an event means for the job with its ``publish_id`` (or the account)."""

    COMPLETE = "complete"
    FAILED = "failed"
    INBOX_DELIVERED = "inbox_delivered"
    PUBLICLY_AVAILABLE = "publicly_available"
    NO_LONGER_PUBLIC = "no_longer_public"
    AUTHORIZATION_REMOVED = "authorization_removed"
    OTHER = "other"
    """An event crosspost does not act on (e.g. ``portability.download.ready``)."""


_OUTCOMES = {
    "post.publish.complete": WebhookOutcome.COMPLETE,
    "post.publish.failed": WebhookOutcome.FAILED,
    "post.publish.inbox_delivered": WebhookOutcome.INBOX_DELIVERED,
    "post.publish.publicly_available": WebhookOutcome.PUBLICLY_AVAILABLE,
    "post.publish.no_longer_publicaly_available": WebhookOutcome.NO_LONGER_PUBLIC,  # TikTok's spelling
    "post.publish.no_longer_publicly_available": WebhookOutcome.NO_LONGER_PUBLIC,
    "authorization.removed": WebhookOutcome.AUTHORIZATION_REMOVED,
}
REMOVAL_REASONS = {
    0: "unknown",
    1: "the user disconnected the app",
    2: "the account was deleted",
    3: "the user's age changed",
    4: "the account was banned",
    5: "the developer revoked access",
}


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One parsed webhook. ``publish_id`` is set for every ``post.publish.*`` event."""

    event: str
    outcome: WebhookOutcome
    client_key: str
    create_time: int
    """UTC epoch seconds."""
    user_openid: str
    publish_id: str | None = None
    publish_type: str | None = None
    """``INBOX_SHARE`` for drafts; ``DIRECT_PUBLISH`` (observed) or ``DIRECT_POST`` for Direct Post."""
    reason: str | None = None
    """``fail_reason`` of a failed publish, or the meaning of ``authorization.removed``'s code."""
    post_id: str | None = None
    content: Mapping[str, Any] = attrs.field(factory=dict, repr=False)

    @property
    def is_inbox(self) -> bool:
        return self.publish_type == "INBOX_SHARE"

    @property
    def dedupe_key(self) -> str:
        """Same key for a redelivery of this event; different for a new one."""
        parts = (self.event, self.user_openid, self.publish_id or "", str(self.create_time), self.post_id or "")
        return "|".join(parts)


def parse_event(raw_body: bytes) -> WebhookEvent:
    """The event in a webhook body, or :class:`MalformedWebhook` saying what is missing."""
    try:
        envelope = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedWebhook("webhook body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("event"), str):
        raise MalformedWebhook("webhook body has no 'event'")
    content = _content(envelope.get("content"))
    try:
        create_time = int(envelope["create_time"])
    except (KeyError, TypeError, ValueError):
        raise MalformedWebhook("webhook body has no integer 'create_time'") from None
    event: str = envelope["event"]
    outcome = _OUTCOMES.get(event, WebhookOutcome.OTHER)
    publish_id = _text(content.get("publish_id"))
    if event.startswith("post.publish.") and not publish_id:
        raise MalformedWebhook(f"{event} event has no publish_id")
    return WebhookEvent(
        event=event,
        outcome=outcome,
        client_key=str(envelope.get("client_key", "")),
        create_time=create_time,
        user_openid=str(envelope.get("user_openid", "")),
        publish_id=publish_id,
        publish_type=_text(content.get("publish_type")),
        reason=_reason(outcome, content),
        post_id=_text(content.get("post_id")),
        content=content,
    )


def _content(value: Any) -> dict[str, Any]:
    """``content`` is a JSON string (parsed again); an object is accepted too, absence is ``{}``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise MalformedWebhook("webhook 'content' is not a JSON string") from None
    if not isinstance(value, dict):
        raise MalformedWebhook("webhook 'content' is not a JSON object")
    return value


def _text(value: Any) -> str | None:
    """IDs may come as strings or numbers; never as booleans or objects."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    return str(value) if isinstance(value, str | int) else None


def _reason(outcome: WebhookOutcome, content: Mapping[str, Any]) -> str | None:
    raw = content.get("reason")
    if outcome is WebhookOutcome.AUTHORIZATION_REMOVED:
        return REMOVAL_REASONS.get(raw, f"reason code {raw}") if isinstance(raw, int) else "unknown"
    return _text(raw)


class Deduper(Protocol):
    """Remembers which events were accepted. Implement over storage to dedupe across processes."""

    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is seen (and remember it), False afterwards."""
        ...

    async def release(self, key: str) -> None:
        """Forget ``key`` (its processing failed, so a redelivery should be processed)."""
        ...


class MemoryDeduper:
    """Per-process dedupe of the last ``size`` event keys."""

    def __init__(self, size: int = 10_000) -> None:
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._size = size

    async def claim(self, key: str) -> bool:
        if key in self._keys:
            return False
        self._keys[key] = None
        while len(self._keys) > self._size:
            self._keys.popitem(last=False)
        return True

    async def release(self, key: str) -> None:
        self._keys.pop(key, None)


EventHandler = Callable[[WebhookEvent], Awaitable[None]]
_TASKS: web.AppKey[set[asyncio.Task[None]]] = web.AppKey("crosspost_tiktok_webhook_tasks", set)


def make_webhook_app(
    *,
    client_secret: str,
    on_event: EventHandler,
    clock: Clock,
    tolerance: float = DEFAULT_TOLERANCE,
    deduper: Deduper | None = None,
    path: str = "/",
) -> web.Application:
    """An aiohttp application receiving TikTok webhooks at ``path``.

    Mount it in your own app with ``app.add_subapp("/tiktok/webhooks", sub)`` (TikTok then posts
    to ``/tiktok/webhooks/``) or run it on its own. ``on_event`` runs after the 200 answer; make
    it record the effect durably and idempotently (delivery is at least once, and the built-in
    dedupe is per process unless ``deduper`` is shared). Tasks still running at shutdown are
    awaited.
    """
    dedupe: Deduper = deduper or MemoryDeduper()
    app = web.Application(client_max_size=MAX_BODY)
    tasks: set[asyncio.Task[None]] = set()
    app[_TASKS] = tasks

    async def receive(request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            verify_signature(
                request.headers.get(SIGNATURE_HEADER),
                raw,
                client_secret=client_secret,
                now=clock.now(),
                tolerance=tolerance,
            )
            event = parse_event(raw)
        except WebhookRejected as exc:
            log.warning("refused a TikTok webhook from %s: %s", request.remote, exc)
            return web.json_response({"error": exc.code, "message": str(exc)}, status=exc.status)
        if not await dedupe.claim(event.dedupe_key):
            log.info("ignored a redelivered TikTok webhook %s for %s", event.event, event.publish_id)
            return web.json_response({"ok": True, "duplicate": True})
        task = asyncio.create_task(_process(event, on_event, dedupe))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.json_response({"ok": True})

    async def drain(_app: web.Application) -> None:
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    app.router.add_post(path, receive)
    app.on_cleanup.append(drain)
    return app


async def _process(event: WebhookEvent, on_event: EventHandler, dedupe: Deduper) -> None:
    log.info("TikTok webhook %s (%s) for publish_id %s", event.event, event.outcome, event.publish_id)
    try:
        await on_event(event)
    except Exception:
        await dedupe.release(event.dedupe_key)
        log.exception("handling TikTok webhook %s for %s failed", event.event, event.publish_id)
