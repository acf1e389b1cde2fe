"""The upload URL: issuing it at init, and the PUT that receives each chunk.

The PUT streams the body and hashes it as it arrives: one SHA-256 per upload, copied at the
start of each chunk and committed only when the whole chunk has arrived, so a chunk cut off
midway leaves no trace and the client can resend it from the same offset. Nothing is ever held
in memory beyond aiohttp's read buffer; benchmarks push gigabytes through this handler.

Responses follow tiktok-api.md §2.5: 206 for an intermediate chunk, 201 for the last, both with
``Content-Range: bytes 0-{last byte received}/{total}``; 400 for malformed headers (including a
missing Content-Length, i.e. chunked transfer encoding, or a Content-Length that differs from
the range); 403 once the URL is older than ``upload_url_ttl``; 404 for an unknown URL; 416 when
``Content-Range`` is not the chunk the server expects next, with a ``Content-Range`` that says
where the server is (``bytes */{total}`` when nothing has arrived yet). A PUT after the upload
completed is also 416 with the full range, so a client that lost the 201 learns it is done
(``completed_put_status=400`` answers as an independent stand-in did: a refusal that says nothing).
Bodies are empty (TikTok documents none). A refused chunk's body is read and dropped before
answering, so the client's keep-alive connection stays clean for the retry.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import aiohttp
from aiohttp import web

from .access import state_of
from .records import MediaItem, PublishRecord, UploadSession, looks_like_video

VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_HEAD_BYTES = 16


def open_upload(request: web.Request, publish: PublishRecord, video_size: int, chunk_size: int,
                total_chunk_count: int) -> str:
    """Create the upload session and return its URL, on the host the client called."""
    state = state_of(request)
    session = UploadSession(
        upload_id=str(state.ids.digits19()),
        upload_token=state.ids.upload_token(),
        publish_id=publish.publish_id,
        video_size=video_size,
        chunk_size=chunk_size,
        total_chunk_count=total_chunk_count,
        issued_at=state.now(),
        hasher=hashlib.sha256(),
    )
    state.uploads[session.upload_id] = session
    url = request.url.origin().with_path("/upload/")
    return str(url.with_query(upload_id=session.upload_id, upload_token=session.upload_token))


def _where(session: UploadSession) -> str:
    if session.received == 0:
        return f"bytes */{session.video_size}"
    return f"bytes 0-{session.received - 1}/{session.video_size}"


def _reply(status: int, session: UploadSession | None = None) -> web.Response:
    headers = {"Content-Range": _where(session)} if session is not None else None
    return web.Response(status=status, headers=headers)


async def upload_put(request: web.Request) -> web.Response:
    session, status = _refusal(request)
    if status is None and session is not None:
        return await _receive(request, session, state_of(request).publishes[session.publish_id])
    await discard_body(request)
    return _reply(status or 404, session if status in (400, 416) else None)


async def discard_body(request: web.Request) -> None:
    """Read and drop a refused chunk, so the connection stays usable (aiohttp would otherwise
    linger on the unread body for 10 s once the response is out)."""
    try:
        async for _ in request.content.iter_any():
            pass
    except (ConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
        pass


def _refusal(request: web.Request) -> tuple[UploadSession | None, int | None]:
    """The upload session, and the refusal status if this PUT cannot be taken."""
    state = state_of(request)
    session = state.uploads.get(request.query.get("upload_id", ""))
    token = request.query.get("upload_token", "")
    if session is None or not hmac.compare_digest(session.upload_token.encode(), token.encode()):
        return None, 404
    if state.publishes[session.publish_id].status == "FAILED":
        return None, 404
    if state.now() - session.issued_at >= state.upload_url_ttl:
        return session, 403
    if session.received == session.video_size:
        return session, state.completed_put_status
    if session.busy:
        return session, 416
    return session, _header_problem(request, session)


def _header_problem(request: web.Request, session: UploadSession) -> int | None:
    """400 for malformed headers, 416 for a range that is not the next expected chunk."""
    if request.content_type not in VIDEO_TYPES:
        return 400
    match = _RANGE.fullmatch(request.headers.get("Content-Range", "").strip())
    if match is None:
        return 400
    first, last, total = (int(group) for group in match.groups())
    if total != session.video_size or last < first or last >= total:
        return 400
    if request.content_length is None or request.content_length != last - first + 1:
        return 400
    expected_first, expected_length = session.expected_chunk()
    if first != expected_first or last - first + 1 != expected_length:
        return 416
    return None


async def _receive(request: web.Request, session: UploadSession, publish: PublishRecord) -> web.Response:
    assert session.hasher is not None
    state = state_of(request)
    hasher = session.hasher.copy()
    head = session.head
    received = 0
    session.busy = True
    try:
        async for data in request.content.iter_any():
            hasher.update(data)
            received += len(data)
            if len(head) < _HEAD_BYTES:
                head = (head + data[:_HEAD_BYTES])[:_HEAD_BYTES]
    except (ConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
        return _reply(400, session)  # the client is gone; nothing was committed
    finally:
        session.busy = False
    if received != request.content_length:
        return _reply(400, session)
    session.hasher = hasher
    session.head = head
    session.received += received
    session.chunks_received += 1
    session.content_type = session.content_type or request.content_type
    publish.transferred_bytes = session.received
    if session.chunks_received < session.total_chunk_count:
        return _reply(206, session)
    digest = hasher.hexdigest()
    item = MediaItem(url=None, size=session.received, sha256=digest, content_type=session.content_type,
                     recognised_format=looks_like_video(head))
    state.lifecycle.media_received(publish, [item], digest)
    return _reply(201, session)
