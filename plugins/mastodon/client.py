"""The aiohttp edge: sends :mod:`sansio` requests to one instance and turns failures into crosspost errors.

The session is the application's (injected), never one per request. aiohttp exceptions stop
here, raised ``from None`` so no request object (holding the ``Authorization`` header) travels.

Rate limits, two ways at once: the shared :class:`~crosspost.core.platform.RateGate` keeps each
token within Mastodon's documented windows (keys per instance and token fingerprint, so every
worker using the database-backed gate shares them), and :class:`RatePacer` honours what the
server says in ``X-RateLimit-Remaining``/``X-RateLimit-Reset``: when nothing remains, the next
request waits for the reset (on the injected clock) instead of spinning into 429s.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
import attrs

from crosspost.core.clock import Clock
from crosspost.core.errors import PermanentError, RateLimited, TransientError
from crosspost.core.platform import RateGate
from crosspost.plugins.mastodon import sansio
from crosspost.plugins.mastodon.errors import error_for_response, reset_at, unreadable_response
from crosspost.plugins.mastodon.options import PLATFORM

API_LIMIT, API_WINDOW = 300, 300.0
"""Mastodon's documented per-token limit: 300 requests per 5 minutes."""
MEDIA_LIMIT, MEDIA_WINDOW = 30, 1800.0
"""Media uploads: 30 per 30 minutes per account."""
LONGEST_PACE_WAIT = 120.0
"""Waiting longer than this for a reset inside a job holds a worker; the job is deferred instead."""


@attrs.frozen(kw_only=True)
class Response:
    status: int
    body: Any
    headers: dict[str, str]


class RatePacer:
    """When each rate key's server-side window resets, as the last response said (process-wide)."""

    def __init__(self) -> None:
        self._blocked_until: dict[str, datetime] = {}

    def observe(self, key: str, headers: dict[str, str]) -> None:
        remaining = headers.get("X-RateLimit-Remaining", "").strip()
        reset = reset_at(headers)
        if remaining.isdigit() and int(remaining) == 0 and reset is not None:
            self._blocked_until[key] = reset
        elif remaining.isdigit():
            self._blocked_until.pop(key, None)

    def wait_for(self, key: str, now: datetime) -> float:
        until = self._blocked_until.get(key)
        return 0.0 if until is None else max(0.0, (until - now).total_seconds())


class MastodonClient:
    """Calls one instance, as one account when a token is given. Never shows the token."""

    def __init__(self, *, http: aiohttp.ClientSession, origin: str, rate: RateGate, clock: Clock,
                 pacer: RatePacer, token: str | None = None) -> None:
        self.http = http
        self.origin = origin
        self.rate = rate
        self.clock = clock
        self.pacer = pacer
        self._token = token
        fingerprint = hashlib.sha256((token or "anonymous").encode()).hexdigest()[:16]
        self.rate_key = f"{PLATFORM}:{origin.split('://', 1)[1]}:{fingerprint}"

    def __repr__(self) -> str:
        return f"MastodonClient(origin={self.origin!r})"

    async def send(self, request: sansio.Request, *, what: str, ok: tuple[int, ...] = (200,)) -> Response:
        """Send ``request``; return the answer when its status is in ``ok``, else raise."""
        await self._pace(request)
        headers = dict(request.headers)
        if request.authorized and self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with UploadBody(request) as data:
                async with self.http.request(request.method, self.origin + request.path,
                                             params=dict(request.query) or None, json=request.json,
                                             data=data, headers=headers) as resp:
                    text = await resp.text()
                    answer = Response(status=resp.status, body=_json_or_none(text), headers=dict(resp.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"{what} failed: {type(exc).__name__} talking to {self.origin}",
                                 code="connection", platform=PLATFORM,
                                 hint="The instance did not answer; crosspost retries.") from None
        except OSError as exc:
            raise PermanentError(f"{what}: cannot read the file ({exc.strerror})", code="unreadable_media",
                                 platform=PLATFORM) from None
        self.pacer.observe(self.rate_key, answer.headers)
        if answer.status not in ok:
            if answer.status < 300:
                raise unreadable_response(what, f"HTTP {answer.status}")
            raise error_for_response(answer.status, answer.body, answer.headers, now=self.clock.now(), what=what,
                                     instance=self.origin)
        return answer

    async def _pace(self, request: sansio.Request) -> None:
        if request.authorized and self._token:
            await self.rate.acquire(self.rate_key, limit=API_LIMIT, window=API_WINDOW)
            if request.upload is not None:
                await self.rate.acquire(self.rate_key + ":media", limit=MEDIA_LIMIT, window=MEDIA_WINDOW)
        wait = self.pacer.wait_for(self.rate_key, self.clock.now())
        if wait > LONGEST_PACE_WAIT:
            raise RateLimited(f"the rate limit at {self.origin} resets in {wait:.0f} s", code="rate_limited",
                              retry_after=wait, platform=PLATFORM,
                              hint="crosspost runs the job again after the reset.")
        if wait > 0:
            await self.clock.sleep(wait)

    async def parsed(self, request: sansio.Request, parse: Any, *, what: str,
                     ok: tuple[int, ...] = (200,)) -> Any:
        answer = await self.send(request, what=what, ok=ok)
        try:
            return parse(answer.body)
        except ValueError as exc:
            raise unreadable_response(what, str(exc)) from None

    async def upload_media(self, request: sansio.Request, *, what: str) -> sansio.MediaState:
        answer = await self.send(request, what=what, ok=(200, 202))
        return _media(answer, what)

    async def media_state(self, media_id: str) -> sansio.MediaState:
        what = f"checking media {media_id}"
        answer = await self.send(sansio.media_request(media_id), what=what, ok=(200, 206))
        return _media(answer, what)


def _media(answer: Response, what: str) -> sansio.MediaState:
    try:
        return sansio.parse_media(answer.status, answer.body)
    except ValueError as exc:
        raise unreadable_response(what, str(exc)) from None


class UploadBody:
    """The multipart body of a media upload (the file streamed by aiohttp), or the form/None."""

    def __init__(self, request: sansio.Request) -> None:
        self.request = request
        self.file: IO[bytes] | None = None

    def __enter__(self) -> Any:
        upload = self.request.upload
        if upload is None:
            return dict(self.request.form) if self.request.form is not None else None
        form = aiohttp.FormData()
        for name, value in (self.request.form or {}).items():
            form.add_field(name, value)
        self.file = Path(upload.path).open("rb")  # closed in __exit__
        form.add_field("file", self.file, filename=upload.filename, content_type=upload.mime)
        return form

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


async def file_head(path: str, size: int = 4096) -> tuple[bytes, int] | None:
    """The first bytes and the size of a local file, read off the event loop; None if missing."""

    def read() -> tuple[bytes, int] | None:
        file = Path(path)
        if not file.is_file():
            return None
        with file.open("rb") as handle:
            return handle.read(size), file.stat().st_size

    return await asyncio.to_thread(read)
