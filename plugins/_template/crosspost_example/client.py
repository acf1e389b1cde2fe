"""The aiohttp edge: sends :mod:`sansio` requests and turns every failure into a crosspost error.

The session is the application's (``ctx.http``), never one per request. aiohttp's own exceptions
stop here: a dropped connection or timeout becomes ``TransientError``, raised ``from None`` so no
aiohttp object (whose request info holds the ``Authorization`` header) travels in the chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from crosspost.core.clock import Clock
from crosspost.core.errors import PermanentError, TransientError
from crosspost.core.models import MediaKind
from crosspost.core.platform import RateGate

from crosspost_example import sansio
from crosspost_example.errors import error_for_response, unreadable_response

T = TypeVar("T")

READ_SIZE = 4 * 1024 * 1024
"""Bytes read from disk per upload chunk (4 MiB streams at loopback speed with little memory)."""


class ExampleClient:
    """Calls the Example API as one account. Holds the token; never shows it."""

    def __init__(self, *, http: aiohttp.ClientSession, config: sansio.ExampleConfig, token: str,
                 rate: RateGate, clock: Clock) -> None:
        self.http = http
        self.config = config
        self._token = token
        self.rate = rate
        self.clock = clock
        # The rate key is stored and logged by the engine: a fingerprint, never the token itself.
        self.rate_key = f"{sansio.PLATFORM}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"

    def __repr__(self) -> str:
        return f"ExampleClient(url={self.config.url!r})"

    async def send(self, request: sansio.Request, *, what: str, data: Any = None) -> Any:
        """Send ``request`` and return its JSON body (None when empty); raise crosspost errors."""
        await self.rate.acquire(self.rate_key, limit=sansio.RATE_LIMIT, window=sansio.RATE_WINDOW)
        headers = {**request.headers, "Authorization": f"Bearer {self._token}"}
        try:
            async with self.http.request(request.method, self.config.url + request.path,
                                         params=dict(request.query), json=request.json, data=data,
                                         headers=headers) as response:
                status, text = response.status, await response.text()
                response_headers = dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"{what} failed: {type(exc).__name__} talking to {self.config.url}",
                                 code="connection", platform=sansio.PLATFORM) from None
        body = _json_or_none(text)
        if status >= 300:
            raise error_for_response(status, body, response_headers, now=self.clock.now(), what=what)
        return body

    async def upload(self, path: Path, kind: MediaKind, on_progress: Callable[[int], None]) -> str:
        """Stream the file at ``path``; return its media id. ``on_progress`` gets bytes sent."""
        try:
            size = (await asyncio.to_thread(path.stat)).st_size
        except OSError as exc:
            raise PermanentError(f"cannot read {path}: {exc.strerror}", code="unreadable_media",
                                 platform=sansio.PLATFORM) from None
        body = await self.send(sansio.upload_request(kind, size), what=f"uploading {path.name}",
                               data=_file_chunks(path, on_progress))
        return _parsed(sansio.parse_created_id, body, f"uploading {path.name}")

    async def create_post(self, request: sansio.Request) -> str:
        body = await self.send(request, what="creating the post")
        return _parsed(sansio.parse_created_id, body, "creating the post")

    async def post_state(self, post_id: str) -> sansio.PostState:
        body = await self.send(sansio.status_request(post_id), what="checking the post's status")
        return _parsed(sansio.parse_post_state, body, "checking the post's status")

    async def profile(self) -> sansio.Profile:
        body = await self.send(sansio.account_request(), what="checking the token")
        return _parsed(sansio.parse_profile, body, "checking the token")

    async def delete_post(self, post_id: str) -> None:
        await self.send(sansio.delete_request(post_id), what="cancelling the post")


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _parsed(parse: Callable[[object], T], body: object, what: str) -> T:
    try:
        return parse(body)
    except ValueError as exc:
        raise unreadable_response(what, str(exc)) from None


async def _file_chunks(path: Path, on_progress: Callable[[int], None]) -> AsyncIterator[bytes]:
    """The file's bytes in :data:`READ_SIZE` pieces, read off the event loop."""
    sent = 0
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, READ_SIZE):
            sent += len(chunk)
            on_progress(sent)
            yield chunk
