"""The aiohttp edge: sends :mod:`xrpc` calls, adds the right token, refreshes an expired one.

The session is the application's (``ctx.http``), never one per request. aiohttp's exceptions
stop here: a dropped connection or a timeout becomes ``TransientError`` raised ``from None``, so
no aiohttp object (whose request info holds the ``Authorization`` header) travels on.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import attrs

from crosspost.core.clock import Clock
from crosspost.core.errors import PermanentError, TransientError
from crosspost.plugins.bluesky import xrpc
from crosspost.plugins.bluesky.errors import PLATFORM, XrpcFailure, error_for, read_failure, unreadable
from crosspost.plugins.bluesky.records import StrongRef

if TYPE_CHECKING:
    from crosspost.plugins.bluesky.auth import SessionKeeper

T = TypeVar("T")
READ_SIZE = 1024 * 1024
"""Bytes read from disk per upload chunk."""

Body = Callable[[], AsyncIterator[bytes]]
"""Makes a fresh body stream (a retried upload streams the file again from its start)."""


@attrs.frozen(kw_only=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class XrpcClient:
    """Calls one PDS (``base``) as the account ``keeper`` holds; or anonymously without one."""

    def __init__(self, *, http: aiohttp.ClientSession, base: str, clock: Clock,
                 keeper: SessionKeeper | None = None) -> None:
        self.http = http
        self.base = base.rstrip("/")
        self.clock = clock
        self.keeper = keeper

    def __repr__(self) -> str:
        return f"XrpcClient(base={self.base!r})"

    async def exchange(self, call: xrpc.Call, *, what: str, bearer: str | None = None, base: str | None = None,
                       body: Body | None = None, size: int | None = None) -> Reply:
        """Send ``call`` once; any answer comes back (connection failures raise TransientError)."""
        headers: dict[str, str] = {}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        data: Any = None
        if body is not None:
            data = body()
            headers["Content-Type"] = call.content_type or "application/octet-stream"
            if size is not None:
                headers["Content-Length"] = str(size)
        url = (base or self.base) + call.path
        try:
            async with self.http.request(call.method, url, params=dict(call.params) or None, json=call.json,
                                         data=data, headers=headers) as response:
                text = await response.text()
                return Reply(status=response.status, body=_json_or_none(text), headers=dict(response.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientError(f"{what} failed: {type(exc).__name__} talking to {base or self.base}",
                                 code="connection", platform=PLATFORM) from None

    def raise_for(self, reply: Reply, what: str) -> Any:
        """The reply's JSON body, or the crosspost error for a non-2xx reply."""
        if reply.status >= 300:
            raise error_for(read_failure(reply.status, reply.body), reply.headers, now=self.clock.now(), what=what)
        return reply.body

    async def call(self, call: xrpc.Call, *, what: str, base: str | None = None, bearer: str | None = None,
                   body: Body | None = None, size: int | None = None) -> Any:
        """Send ``call`` with the credential it asks for; an ``ExpiredToken`` answer refreshes the
        session (one refresh across workers, see :class:`SessionKeeper`) and sends it once more."""
        if call.auth != "access":
            return self.raise_for(await self.exchange(call, what=what, bearer=bearer, base=base, body=body,
                                                      size=size), what)
        keeper = self._keeper()
        session = await keeper.session()
        reply = await self.exchange(call, what=what, bearer=session.access_jwt, base=base, body=body, size=size)
        if _failure(reply).expired_token:
            session = await keeper.renew(session)
            reply = await self.exchange(call, what=what, bearer=session.access_jwt, base=base, body=body, size=size)
        return self.raise_for(reply, what)

    def _keeper(self) -> SessionKeeper:
        if self.keeper is None:
            raise PermanentError("this Bluesky call needs a logged-in account", code="no_session", platform=PLATFORM)
        return self.keeper

    # -- the calls crosspost makes -------------------------------------------------------------

    async def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle``, or None when no account has it."""
        try:
            body = await self.call(xrpc.resolve_handle(handle), what=f"resolving @{handle}")
        except PermanentError:
            return None
        return parsed(xrpc.parse_did, body, f"resolving @{handle}")

    async def upload_blob(self, path: Path, mime: str, size: int, on_progress: Callable[[int], None]) -> dict[str, Any]:
        """Stream the file at ``path`` to the PDS; its blob reference."""
        what = f"uploading {path.name}"
        body = await self.call(xrpc.upload_blob(mime), what=what, body=lambda: file_chunks(path, on_progress),
                               size=size)
        return parsed(xrpc.parse_blob, body, what)

    async def create_record(self, repo: str, rkey: str, record: dict[str, Any]) -> StrongRef:
        body = await self.call(xrpc.create_record(repo, rkey, record), what=f"creating post {rkey}")
        return parsed(xrpc.parse_ref, body, f"creating post {rkey}")

    async def get_record(self, repo: str, rkey: str) -> tuple[StrongRef, dict[str, Any]] | None:
        """The post at ``rkey`` and its record, or None when there is none (``RecordNotFound``)."""
        what = f"reading post {rkey}"
        reply = await self.exchange(xrpc.get_record(repo, rkey), what=what)
        if reply.status == 400 and _failure(reply).name == "RecordNotFound":
            return None
        body = self.raise_for(reply, what)
        value = body.get("value") if isinstance(body, dict) else None
        return parsed(xrpc.parse_ref, body, what), dict(value) if isinstance(value, dict) else {}


def _failure(reply: Reply) -> XrpcFailure:
    return read_failure(reply.status, reply.body)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def parsed(parse: Callable[[object], T], body: object, what: str) -> T:
    """``parse(body)``; a body that is not the expected shape is a retryable unreadable answer."""
    try:
        return parse(body)
    except ValueError as exc:
        raise unreadable(what, str(exc)) from None



async def file_chunks(path: Path, on_progress: Callable[[int], None]) -> AsyncIterator[bytes]:
    """The file's bytes in :data:`READ_SIZE` pieces, read off the event loop."""
    sent = 0
    with path.open("rb") as file:
        while chunk := await asyncio.to_thread(file.read, READ_SIZE):
            sent += len(chunk)
            on_progress(sent)
            yield chunk

