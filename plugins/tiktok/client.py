"""The aiohttp edge of TikTok's Content Posting API: one place for rate limits, retries and tokens.

Request bodies are built by :mod:`crosspost.plugins.tiktok.requests` and answers parsed by
:mod:`crosspost.plugins.tiktok.errors` (pure functions); this module only moves them over HTTP.
What a caller may rely on:

- Every call first waits on the shared :class:`~crosspost.core.platform.RateGate` under
  ``tiktok:{token fingerprint}:{endpoint}`` with TikTok's per-token limits (init 6, creator
  info 20, status 30 per minute) over the minute plus :data:`RATE_MARGIN`, so many jobs and
  processes for one account never trip a 429. A call counts from its send until its answer
  (TikTok counts on arrival, in between); a ``rate_limit_exceeded`` answer fills the shared
  window. The key holds a short SHA-256 fingerprint of the token, never the token.
- Transient failures (5xx, 429, dropped connections, timeouts) are retried with full-jitter
  exponential backoff, bounded in attempts and total time, sleeping on the injected clock; a 429
  waits out TikTok's one-minute window. When the budget is spent the last
  :class:`~crosspost.core.errors.TransientError` is raised for the engine to retry later.
- ``access_token_invalid`` asks the token source for a refreshed token once, then retries.
- A PULL_FROM_URL init (every photo post, and URL videos) whose answer was lost is *not* sent
  again: TikTok may already be publishing, so :class:`~crosspost.core.errors.UncertainOutcome`
  is raised with how to check. A lost FILE_UPLOAD init is safe to send again (an upload that never
  completes never publishes).
- aiohttp exceptions never leave this module; errors carry no token and no upload URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
import attrs

from crosspost.core.clock import Clock
from crosspost.core.errors import PlatformError, RateLimited, TransientError, UncertainOutcome
from crosspost.core.platform import RateGate
from crosspost.plugins.tiktok.creator import CreatorInfo, parse_creator_info
from crosspost.plugins.tiktok.errors import parse_envelope
from crosspost.plugins.tiktok.requests import (
    ApiRequest,
    cancel_request,
    creator_info_request,
    status_request,
)
from crosspost.plugins.tiktok.status import PublishStatus, parse_status

log = logging.getLogger("crosspost.plugins.tiktok.client")

PLATFORM = "tiktok"
API_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=15)
"""TikTok's JSON endpoints answer in well under a second; a minute is a dead connection."""


RATE_MARGIN = 3.0
"""Seconds added to TikTok's one-minute window: TikTok counts a request when it arrives, by its
clock, and several processes pace by theirs; a 7th init sent 60.0 s after the 1st by our clock
was seen 59.9 s after it by TikTok's (issue 19). A call also counts until its answer (see
:meth:`TikTokClient.call`), so the margin only covers skew between clocks, not latency."""


@attrs.frozen(kw_only=True)
class EndpointLimit:
    """TikTok's documented per-token limit for one endpoint (tiktok-api.md §6)."""

    name: str
    limit: int
    window: float = 60.0
    margin: float = 0.0
    """Seconds of safety added to ``window`` (clock skew between processes and TikTok): the
    Content Posting limits below use :data:`RATE_MARGIN`, where a breach costs a post a minute."""

    @property
    def paced_window(self) -> float:
        """The window crosspost paces by: TikTok's plus the margin."""
        return self.window + self.margin


CREATOR_INFO_LIMIT = EndpointLimit(name="creator_info", limit=20, margin=RATE_MARGIN)
INIT_LIMIT = EndpointLimit(name="init", limit=6, margin=RATE_MARGIN)
"""Shared by video, inbox and photo inits (each is 6/min; sharing one budget is the safe side)."""
STATUS_LIMIT = EndpointLimit(name="status", limit=30, margin=RATE_MARGIN)
CANCEL_LIMIT = EndpointLimit(name="cancel", limit=6, margin=RATE_MARGIN)
"""Undocumented; assumed no looser than init."""


def token_fingerprint(token: str) -> str:
    """A short stable name for a token, safe for rate-limit keys and logs (never the token)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def rate_key(token: str, endpoint: EndpointLimit) -> str:
    return f"tiktok:{token_fingerprint(token)}:{endpoint.name}"


# -- retries --------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard to retry one request (or one upload chunk) before giving up for now.

    Full-jitter exponential backoff: before retry ``n`` (from 0) sleep a uniform random time in
    ``[0, min(max_delay, initial_delay * 2**n)]``. A 429 sleeps ``rate_window`` (or the server's
    ``Retry-After``) plus up to one second of jitter. ``attempts`` counts the first try; no retry
    starts once ``total_time`` seconds (on the injected clock) would be exceeded.
    """

    attempts: int = 8
    initial_delay: float = 1.0
    max_delay: float = 32.0
    total_time: float = 600.0
    rate_window: float = 60.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.max_delay, self.initial_delay * 2.0**retry))


class Attempts:
    """The retry budget of one request: call :meth:`pause` after each transient failure."""

    def __init__(self, policy: RetryPolicy, clock: Clock, rng: random.Random) -> None:
        self.policy = policy
        self.clock = clock
        self.rng = rng
        self.started = clock.monotonic()
        self.retries = 0

    async def pause(self, error: TransientError) -> None:
        """Sleep before the next try, or raise ``error`` when attempts or time are spent."""
        if self.retries + 1 >= self.policy.attempts:
            raise error
        if isinstance(error, RateLimited) or error.retry_after is not None:
            base = error.retry_after if error.retry_after is not None else self.policy.rate_window
            delay = base + self.rng.uniform(0.0, 1.0)
        else:
            delay = self.policy.backoff(self.retries, self.rng)
        if self.clock.monotonic() - self.started + delay > self.policy.total_time:
            raise error
        self.retries += 1
        await self.clock.sleep(delay)


class NotSent(TransientError):
    """The connection failed before the request could be sent (nothing reached TikTok)."""


class AnswerLost(TransientError):
    """The request may have reached TikTok but no complete answer came back (reset, timeout)."""


def translate_client_error(exc: BaseException, *, what: str) -> TransientError:
    """A crosspost error for an aiohttp / timeout exception (no URL, no token in the message)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return NotSent(f"could not connect to TikTok for {what} ({type(exc).__name__})",
                       code="network", platform=PLATFORM)
    return AnswerLost(f"the connection to TikTok broke during {what} ({type(exc).__name__})",
                      code="network", platform=PLATFORM)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds when the server sent a number (TikTok documents none)."""
    value = headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


# -- tokens ---------------------------------------------------------------------------------------


class TokenSource(Protocol):
    """Where the client gets access tokens (``crosspost.plugins.tiktok.auth.TokenKeeper``)."""

    async def access_token(self) -> str:
        """A token that is valid now (refreshed first when it is about to expire)."""
        ...

    async def refreshed(self, rejected: str) -> str:
        """A new token after TikTok answered ``access_token_invalid`` for ``rejected``."""
        ...


# -- the client -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class InitResult:
    """What an init returned: the publish id and, for FILE_UPLOAD, where to PUT the bytes."""

    publish_id: str
    upload_url: str | None = attrs.field(default=None, repr=False)
    """Holds an upload token: never log it."""


class TikTokClient:
    """Calls TikTok's JSON endpoints for one account. Cheap to create; one per job is fine.

    ``http`` is the application's shared session (never closed here). ``api_base`` is the
    scheme and host (``https://open.tiktokapis.com`` or an emulator's base URL).
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        api_base: str,
        tokens: TokenSource,
        rate: RateGate,
        clock: Clock,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        timeout: aiohttp.ClientTimeout = API_TIMEOUT,
        paced: bool = True,
    ) -> None:
        self.http = http
        self.paced = paced
        """False only against a loopback emulator (``CLIENT_LIMITS=off``): no client-side pacing."""
        self.api_base = api_base.rstrip("/")
        self.tokens = tokens
        self.rate = rate
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.timeout = timeout

    async def creator_info(self) -> CreatorInfo:
        """The creator's live posting settings (read-only; safe to call any time)."""
        data = await self.call(creator_info_request(), endpoint=CREATOR_INFO_LIMIT)
        return parse_creator_info(data)

    async def init(self, request: ApiRequest, *, pull_from_url: bool | None = None) -> InitResult:
        """Send one init. ``pull_from_url`` (default: ``not request.safe_to_repeat``) marks an init
        that may publish with no further call: if its answer is lost, :class:`UncertainOutcome` is
        raised instead of sending it again."""
        if pull_from_url is None:
            pull_from_url = not request.safe_to_repeat
        data = await self.call(request, endpoint=INIT_LIMIT, may_publish=pull_from_url)
        publish_id = data.get("publish_id")
        if not isinstance(publish_id, str) or not publish_id:
            raise TransientError("TikTok's init answer has no publish_id", code="bad_response", platform=PLATFORM)
        upload_url = data.get("upload_url")
        if not pull_from_url and not (isinstance(upload_url, str) and upload_url):
            raise TransientError("TikTok's FILE_UPLOAD init answer has no upload_url",
                                 code="bad_response", platform=PLATFORM)
        return InitResult(publish_id=publish_id, upload_url=upload_url if isinstance(upload_url, str) else None)

    async def fetch_status(self, publish_id: str) -> PublishStatus:
        data = await self.call(status_request(publish_id), endpoint=STATUS_LIMIT)
        return parse_status(data)

    async def cancel(self, publish_id: str) -> None:
        """Best-effort cancel of a PULL_FROM_URL download (TikTok refuses once it is processing)."""
        await self.call(cancel_request(publish_id), endpoint=CANCEL_LIMIT)

    async def call(
        self, request: ApiRequest, *, endpoint: EndpointLimit, may_publish: bool = False
    ) -> Mapping[str, Any]:
        """Send ``request`` with rate limiting, retries and one token refresh; return ``data``."""
        attempts = Attempts(self.policy, self.clock, self.rng)
        token = await self.tokens.access_token()
        refreshed = False
        while True:
            key = rate_key(token, endpoint)
            admitted = (await self.rate.acquire(key, limit=endpoint.limit, window=endpoint.paced_window)
                        if self.paced else None)
            try:
                try:
                    return await self._send(request, token, endpoint=endpoint, may_publish=may_publish)
                finally:
                    if admitted is not None:
                        # It counts from its send until its answer (TikTok counted it on arrival).
                        await self.rate.answered(key, admitted_at=admitted)
            except PlatformError as err:
                if isinstance(err, RateLimited) and self.paced:
                    # TikTok's count beats ours: every process sharing this token waits a window.
                    await self.rate.refused(key, limit=endpoint.limit, window=endpoint.paced_window)
                if err.code == "access_token_invalid" and not refreshed:
                    refreshed = True
                    token = await self.tokens.refreshed(token)
                    continue
                if not isinstance(err, TransientError):
                    raise
                log.info("TikTok %s failed (%s); retrying", endpoint.name, err.code)
                await attempts.pause(err)

    async def _send(
        self, request: ApiRequest, token: str, *, endpoint: EndpointLimit, may_publish: bool
    ) -> Mapping[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=UTF-8"}
        try:
            async with self.http.request(
                request.method, self.api_base + request.path, json=request.json, headers=headers,
                timeout=self.timeout,
            ) as resp:
                raw = await resp.read()
                status, resp_headers = resp.status, resp.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            err = translate_client_error(exc, what=endpoint.name)
            if may_publish and isinstance(err, AnswerLost):
                raise _uncertain_init(err) from None
            raise err from None
        payload = _json_or_none(raw)
        if may_publish and status >= 500 and not _is_envelope(payload):
            # A gateway answered for TikTok: the init may or may not have been processed.
            raise _uncertain_init(AnswerLost(f"HTTP {status} without a TikTok answer", platform=PLATFORM))
        log.debug("TikTok %s %s -> HTTP %s", request.method, request.path, status)
        return parse_envelope(status, payload if isinstance(payload, Mapping) else None, endpoint=request.path,
                              retry_after=retry_after_seconds(resp_headers))


def _json_or_none(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _is_envelope(payload: Any) -> bool:
    return isinstance(payload, Mapping) and isinstance(payload.get("error"), Mapping)


def _uncertain_init(cause: TransientError) -> UncertainOutcome:
    return UncertainOutcome(
        f"TikTok received a post request but its answer was lost ({cause}); the post may already be "
        "publishing, so crosspost did not send it again.",
        code="uncertain",
        hint=("Check the account's recent posts in the TikTok app (and its inbox for drafts), and "
              "`crosspost status ID` for this post; publish again only if it is not there."),
        platform=PLATFORM,
    )
