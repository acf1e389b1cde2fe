"""TikTok's :class:`~crosspost.core.webhooks.WebhookReceiver`: the signature check and event
parsing of :mod:`crosspost.plugins.tiktok.webhooks`, answered in crosspost's neutral events.

Pure: headers and body in, :class:`~crosspost.core.webhooks.PlatformEvent` values out.
``crosspost webhooks serve`` mounts it at ``POST /webhooks/tiktok``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from crosspost.core.settings import Settings
from crosspost.core.webhooks import EventKind, PlatformEvent, WebhookRejected
from crosspost.plugins.tiktok import webhooks

OUTCOMES: Mapping[webhooks.WebhookOutcome, tuple[EventKind, str]] = {
    webhooks.WebhookOutcome.COMPLETE: (EventKind.POST, "published"),
    webhooks.WebhookOutcome.FAILED: (EventKind.POST, "failed"),
    webhooks.WebhookOutcome.INBOX_DELIVERED: (EventKind.POST, "inbox"),
    webhooks.WebhookOutcome.PUBLICLY_AVAILABLE: (EventKind.POST, "public"),
    webhooks.WebhookOutcome.NO_LONGER_PUBLIC: (EventKind.POST, "no_longer_public"),
    webhooks.WebhookOutcome.AUTHORIZATION_REMOVED: (EventKind.ACCOUNT, "removed"),
    webhooks.WebhookOutcome.OTHER: (EventKind.IGNORED, ""),
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def to_platform_event(event: webhooks.WebhookEvent) -> PlatformEvent:
    """One parsed TikTok webhook in crosspost's words."""
    kind, outcome = OUTCOMES[event.outcome]
    return PlatformEvent(
        kind=kind, event_id=hashlib.sha256(event.dedupe_key.encode()).hexdigest()[:32], outcome=outcome,
        publish_id=event.publish_id, platform_post_id=event.post_id, account_ref=event.user_openid or None,
        reason=event.reason)


class TikTokWebhookReceiver:
    """Verifies ``TikTok-Signature`` (HMAC-SHA256 with the client secret, 5-minute tolerance)."""

    max_body = webhooks.MAX_BODY

    def __init__(self, *, tolerance: float = webhooks.DEFAULT_TOLERANCE) -> None:
        self.tolerance = tolerance

    def parse(self, headers: Mapping[str, str], body: bytes, *, settings: Settings,
              now: datetime) -> Sequence[PlatformEvent]:
        secret = settings.platform("tiktok").get("client_secret", "")
        if not secret:
            raise WebhookRejected("CROSSPOST_TIKTOK_CLIENT_SECRET is not set, so no TikTok webhook can be verified",
                                  code="not_configured", status=503)
        try:
            webhooks.verify_signature(_header(headers, webhooks.SIGNATURE_HEADER), body, client_secret=secret,
                                      now=now, tolerance=self.tolerance)
            event = webhooks.parse_event(body)
        except webhooks.WebhookRejected as exc:
            raise WebhookRejected(str(exc), code=exc.code, status=exc.status) from None
        return [to_platform_event(event)]
