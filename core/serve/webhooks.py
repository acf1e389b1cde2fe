"""Outgoing webhooks: the engine's event log as the outbox, fan-out per subscription, delivery.

What is transactional, and what is not:

* Every job state change and its event-log entry commit together (the engine's rule), so the
  log *is* the outbox: a state change without its event cannot happen.
* :meth:`Outbox.pump` reads log entries past its cursor, renders each for every enabled
  subscription in that subscription's dialect, and queues the deliveries *and* moves the cursor
  in one transaction. A crash before that commit repeats the fan-out; ``UNIQUE (webhook_id,
  event_id)`` absorbs the repeat, and event ids are derived from the log entry, so a repeat
  has the same ids.
* Post-level events (``post.published``...) are decided at fan-out time from the post's state
  then, not at the instant of the change: a fast second change may be reported in its place.
* Delivery is at least once: an attempt whose response was lost is sent again, with the same
  event id (``Crosspost-Event-Id``, ``X-Zernio-Event-Id``...), for the receiver to dedupe.

Retries follow RelayAPI's policy: on 429, 5xx or a network error, at most :data:`MAX_ATTEMPTS`
attempts, ``min(30 * 2**(n-1), 3600)`` s apart plus up to 10 % jitter, or what ``Retry-After``
says (1-3600 s). Any other status is final. Redirects are not followed (a failure). Addresses
that resolve to loopback or private networks are refused unless the operator allows them.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from crosspost.core.netguard import AllowList
from crosspost.storage.base import EventRow
from crosspost.storage.serve_tables import DeliveryRow, NewDelivery, ServeStore, WebhookRow

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.clock import Clock
    from crosspost.core.serve.api import Dialect
    from crosspost.core.serve.posts import PostService, PostView

log = logging.getLogger("crosspost.serve.webhooks")

CURSOR = "webhooks"
MAX_ATTEMPTS = 8
TIMEOUT = 5.0
GAP_GRACE = timedelta(seconds=5)
"""A hole in the event ids younger than this may be a transaction still committing (PostgreSQL):
the pump waits for it instead of skipping past."""

TARGET_EVENTS: Mapping[str, str] = {
    "published": "target.published",
    "inbox": "target.inbox_delivered",
    "failed": "target.failed",
    "uncertain": "target.unknown",
}
FINAL_EVENTS: Mapping[str, str] = {
    "published": "post.published", "inbox": "post.published", "partial": "post.partial",
    "failed": "post.failed", "cancelled": "post.cancelled",
}
NATIVE_EVENTS = ("post.scheduled", "post.publishing", "post.published", "post.partial", "post.failed",
                 "post.cancelled", "target.published", "target.failed", "target.inbox_delivered", "target.unknown",
                 "account.disconnected", "webhook.test")


@attrs.frozen(kw_only=True)
class WebhookEvent:
    """One neutral event, before any dialect renders it."""

    id: str
    type: str
    created_at: datetime
    post_id: str | None = None
    """The API's internal post id."""
    target: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)


def event_id(*parts: object) -> str:
    """A stable id from what identifies the occurrence (the same on a repeated fan-out)."""
    return "evt_" + hashlib.sha256("\n".join(str(p) for p in parts).encode()).hexdigest()[:24]


def public_post_id(row_post_id: str, view: PostView | None) -> str:
    return view.id if view is not None else row_post_id


def events_for(row: EventRow, view: PostView | None, target: str | None = None) -> list[WebhookEvent]:
    """The neutral events one event-log entry stands for, given the post as it is now and the
    entry's job target."""
    post_id = public_post_id(row.post_id, view)
    found: list[WebhookEvent] = []
    if row.kind == "submitted":
        run_at = row.data.get("run_at")
        if isinstance(run_at, str) and datetime.fromisoformat(run_at) > row.at:
            found.append(WebhookEvent(id=event_id(post_id, "post.scheduled", run_at), type="post.scheduled",
                                      created_at=row.at, post_id=post_id, data={"run_at": run_at}))
    elif row.kind == "started":
        found.append(WebhookEvent(id=event_id(post_id, "post.publishing"), type="post.publishing",
                                  created_at=row.at, post_id=post_id))
    elif row.kind in TARGET_EVENTS:
        found.append(WebhookEvent(id=event_id(row.id, TARGET_EVENTS[row.kind]), type=TARGET_EVENTS[row.kind],
                                  created_at=row.at, post_id=post_id, target=target, data=dict(row.data)))
    elif row.kind == "needs_login" and target is not None:
        found.append(WebhookEvent(id=event_id(row.id, "account.disconnected"), type="account.disconnected",
                                  created_at=row.at, post_id=post_id, target=target,
                                  data={"account": target, "reason": "refresh_failed", **dict(row.data)}))
    if row.kind in (*TARGET_EVENTS, "cancelled", "cancel_requested") and view is not None and view.record is not None \
            and view.record.done and view.state in FINAL_EVENTS:
        kind = FINAL_EVENTS[view.state]
        found.append(WebhookEvent(id=event_id(post_id, kind), type=kind, created_at=row.at, post_id=post_id))
    return found


def backoff(attempt: int, *, retry_after: float | None, rng: random.Random) -> float:
    """Seconds before attempt ``attempt + 1`` (``attempt`` attempts made so far)."""
    if retry_after is not None:
        return float(min(max(retry_after, 1.0), 3600.0))
    base: float = min(30.0 * 2.0 ** (attempt - 1), 3600.0)
    return base + rng.uniform(0, base * 0.1)


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Outbox:
    """Fans the event log out to subscriptions and delivers what is due."""

    def __init__(self, *, store: ServeStore, posts: PostService, dialects: Mapping[str, Dialect],
                 http: aiohttp.ClientSession, clock: Clock, unseal: Any, allow: AllowList | None = None,
                 allow_private: bool = False, rng: random.Random | None = None) -> None:
        self.store = store
        self.posts = posts
        self.dialects = dialects
        self.http = http
        self.clock = clock
        self.unseal = unseal
        self.rng = rng or random.Random()
        self.allow = allow or AllowList()
        self.allow_private = allow_private
        self.wake = asyncio.Event()

    # -- fan-out -----------------------------------------------------------------------------

    async def start_cursor(self) -> None:
        """A server that never fanned out starts at the log's end: history is not replayed."""
        if await self.store.cursor(CURSOR) == 0:
            newest = await self.store.events_after(0, limit=1_000_000)
            if newest:
                await self.store.fan_out(CURSOR, upto=newest[-1].id, deliveries=(), now=self.clock.now())

    async def pump(self, *, batch: int = 200) -> int:
        """Fan out every new log entry; the number of deliveries queued."""
        queued = 0
        while True:
            cursor = await self.store.cursor(CURSOR)
            rows = _contiguous(await self.store.events_after(cursor, limit=batch), cursor, now=self.clock.now())
            if not rows:
                return queued
            hooks = [h for h in await self.store.list_webhooks() if h.enabled]
            deliveries: list[NewDelivery] = []
            for row in rows:
                if not hooks:
                    continue
                view = await self.posts.view_for_row(row.post_id)
                job = await self.posts.hub.storage.get_job(row.job_id) if row.job_id else None
                for event in events_for(row, view, str(job.target) if job else None):
                    deliveries += self.render(event, view, hooks)
            queued += await self.store.fan_out(CURSOR, upto=rows[-1].id, deliveries=deliveries, now=self.clock.now())
            if len(rows) < batch:
                return queued

    def render(self, event: WebhookEvent, view: PostView | None, hooks: Sequence[WebhookRow]) -> list[NewDelivery]:
        out = []
        for hook in hooks:
            dialect = self.dialects.get(hook.dialect)
            if dialect is None:
                continue
            for eid, name, payload in dialect.render_events(event, view):
                if hook.events and name not in hook.events:
                    continue
                out.append(NewDelivery(id="whd_" + hashlib.sha256(f"{eid}\n{hook.id}".encode()).hexdigest()[:24],
                                       webhook_id=hook.id, event_id=eid, event_type=name,
                                       body=dialect.serialize(payload)))
        return out

    async def test(self, hook: WebhookRow) -> NewDelivery | None:
        """Queue a ``webhook.test`` event for ``hook`` (delivered like any other)."""
        event = WebhookEvent(id=event_id("webhook.test", hook.id, uuid.uuid4().hex), type="webhook.test",
                             created_at=self.clock.now())
        rendered = self.render(event, None, [attrs.evolve(hook, events=())])
        if not rendered:
            return None
        await self.store.queue_delivery(rendered[0], now=self.clock.now())
        self.wake.set()
        return rendered[0]

    # -- delivery ----------------------------------------------------------------------------

    async def deliver_due(self, *, limit: int = 50) -> int:
        """Send every due delivery once; the number attempted."""
        now = self.clock.now()
        due = await self.store.claim_deliveries(now=now, lease_until=now + timedelta(seconds=60), limit=limit)
        await asyncio.gather(*(self._send(d) for d in due))
        return len(due)

    async def _send(self, delivery: DeliveryRow) -> None:
        hook = await self.store.get_webhook(delivery.webhook_id)
        if hook is None:
            return
        dialect = self.dialects[hook.dialect]
        attempt = delivery.attempts + 1
        headers = {"Content-Type": "application/json", "User-Agent": "crosspost-serve", **hook.custom_headers,
                   **dialect.signature_headers(secret=self.unseal(hook), body=delivery.body,
                                               event_id=delivery.event_id, event=delivery.event_type,
                                               delivery_id=delivery.id, attempt=attempt, now=self.clock.now())}
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        try:
            await self._check(hook.url)
            async with self.http.post(hook.url, data=delivery.body.encode("utf-8"), headers=headers,
                                      allow_redirects=False, timeout=_timeout()) as resp:
                status = resp.status
                retry_after = parse_retry_after(resp.headers.get("Retry-After"), now=self.clock.now())
                await resp.read()
        except Exception as exc:  # network errors, refused addresses, timeouts
            error = _describe(exc)
        ms = int((time.monotonic() - started) * 1000)
        await self._settle(delivery, attempt=attempt, status=status, error=error, retry_after=retry_after, ms=ms)

    async def _check(self, url: str) -> None:
        """Literal private addresses are refused here; names resolving to them by the session's
        guarded resolver (:func:`webhook_session`)."""
        from yarl import URL

        from crosspost.core.netguard import check_url

        if not self.allow_private:
            check_url(URL(url), self.allow)

    async def _settle(self, delivery: DeliveryRow, *, attempt: int, status: int | None, error: str | None,
                      retry_after: float | None, ms: int) -> None:
        now = self.clock.now()
        if status is not None and 200 <= status < 300:
            state, next_at = "delivered", None
        elif (status is None and not (error or "").startswith("refused")) or status == 429 or \
                (status is not None and status >= 500):
            if attempt >= MAX_ATTEMPTS:
                state, next_at = "failed", None
            else:
                state = "pending"
                next_at = now + timedelta(seconds=backoff(attempt, retry_after=retry_after, rng=self.rng))
        else:
            state, next_at = "failed", None
        if status is not None and error is None and state != "delivered":
            error = f"HTTP {status}"
        await self.store.record_attempt(delivery, now=now, status_code=status, response_ms=ms, error=error,
                                        state=state, next_at=next_at)
        log.info("webhook %s %s attempt %d -> %s", delivery.event_type, delivery.event_id, attempt, error or status)

    async def run(self, stop: asyncio.Event, *, poll: float) -> None:
        """Pump and deliver until ``stop`` is set; wakes early when :attr:`wake` is set."""
        await self.start_cursor()
        while not stop.is_set():
            try:
                await self.pump()
                await self.deliver_due()
            except Exception:
                log.exception("webhook outbox pass failed; trying again")
            self.wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait()),
                       asyncio.ensure_future(self.clock.sleep(poll))]
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()


def _contiguous(rows: list[EventRow], cursor: int, *, now: datetime) -> list[EventRow]:
    """``rows`` up to the first young hole in the ids (see :data:`GAP_GRACE`)."""
    out: list[EventRow] = []
    previous = cursor
    for row in rows:
        if row.id != previous + 1 and previous != 0 and now - row.at < GAP_GRACE:
            break
        out.append(row)
        previous = row.id
    return out


def _timeout() -> Any:
    import aiohttp

    return aiohttp.ClientTimeout(total=TIMEOUT)


def _describe(exc: BaseException) -> str:
    from crosspost.core.netguard import UnsafeURL

    if isinstance(exc, UnsafeURL) or "resolves to" in str(exc):
        return f"refused: {exc} (start the server with --allow-private-webhooks for local receivers)"
    if isinstance(exc, asyncio.TimeoutError):
        return f"timed out after {TIMEOUT:g} s"
    return f"{type(exc).__name__}: {exc}"


def webhook_session(*, allow: AllowList, allow_private: bool) -> aiohttp.ClientSession:
    """The session deliveries go through: a resolver refusing private addresses unless allowed."""
    import aiohttp

    from crosspost.core.netguard import GuardedResolver

    connector = aiohttp.TCPConnector(resolver=None if allow_private else GuardedResolver(allow))
    return aiohttp.ClientSession(connector=connector, trust_env=False)
