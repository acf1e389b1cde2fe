"""Signed webhook delivery to ``state.webhook_url``, as TikTok sends it (tiktok-api.md §9).

Each envelope is POSTed as JSON with ``TikTok-Signature: t={unix},s={hex hmac}`` where the HMAC
is SHA-256 keyed with the client secret over ``f"{t}.{raw body}"``; ``content`` inside the
envelope is itself a JSON string. Deliveries go out one at a time in emission order (a single
worker per emulator), so tests see a stable sequence. A receiver that does not answer 200 gets
the same event again, up to ``webhook_attempts`` times with doubling delays: delivery is at
least once, as TikTok's is, and receivers must be idempotent. Every attempt is recorded in
``state.webhook_deliveries``.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
from typing import Any

import aiohttp
import yarl

from .init_rules import is_loopback
from .records import WebhookDelivery
from .state import EmulatorState


def sign_webhook(client_secret: str, timestamp: int, body: bytes) -> str:
    """The ``s=`` part of ``TikTok-Signature``: lowercase hex HMAC-SHA256 of ``b"{t}." + body``."""
    return hmac.new(client_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Queues envelopes from ``state.event_sink`` and delivers them in order."""

    def __init__(self, state: EmulatorState, session: aiohttp.ClientSession) -> None:
        self._state = state
        self._session = session
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._worker: asyncio.Task[None] | None = None

    def submit(self, envelope: dict[str, Any]) -> None:
        """Called synchronously by the lifecycle; delivery happens in the background."""
        url = self._state.webhook_url
        if url is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # emitted from synchronous test code: recorded in state.events only
        self._queue.append(envelope)
        if self._worker is None or self._worker.done():
            self._worker = self._state.spawn(self._run())

    async def _run(self) -> None:
        while self._queue:
            await self._deliver(self._queue.popleft())

    async def _deliver(self, envelope: dict[str, Any]) -> None:
        state = self._state
        body = json.dumps(envelope).encode()
        delay = state.webhook_retry_delay_s
        for attempt in range(1, state.webhook_attempts + 1):
            url = state.webhook_url
            if url is None:
                return
            timestamp = int(state.now())
            signature = f"t={timestamp},s={sign_webhook(state.client_secret, timestamp, body)}"
            status = await self._post(url, body, signature)
            state.webhook_deliveries.append(WebhookDelivery(
                event=str(envelope["event"]), body=body.decode(), signature=signature, attempt=attempt, status=status))
            if status == 200:
                return
            if attempt < state.webhook_attempts:
                await asyncio.sleep(delay)
                delay *= 2

    async def _post(self, url: str, body: bytes, signature: str) -> int | None:
        host = yarl.URL(url).host or ""
        if not self._state.allow_remote_fetch and not is_loopback(host):
            return None  # never leave the machine unless allowed
        headers = {"Content-Type": "application/json", "TikTok-Signature": signature}
        try:
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None
