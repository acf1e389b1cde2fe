"""Media the server keeps itself: presigned PUTs, streamed multipart uploads, serving, validation.

A presign writes a small ticket file (``<id>/.ticket``: file name, type, size, expiry); the PUT
to ``/media/upload/{id}`` streams the body to ``<id>/<file name>`` within the size limit and
deletes the ticket, so no signing key has to survive a restart. Files are served at
``/media/files/{id}/{file name}`` (ids are 128-bit random: unguessable, hence unauthenticated, as
the hosted services' public URLs are). A post naming such a URL is published from the local
file: the server never downloads from itself.
"""

from __future__ import annotations

import json
import re
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from crosspost.core.errors import Problem
from crosspost.core.serve.errors import ApiError, invalid, not_found

if TYPE_CHECKING:
    from aiohttp import web

    from crosspost.core.serve.api import Ctx

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
CHUNK = 1024 * 1024
ALLOWED_TYPES = ("image/", "video/")


@attrs.frozen(kw_only=True)
class StoredMedia:
    id: str
    filename: str
    content_type: str
    size: int
    url: str


def safe_name(name: str) -> str:
    cleaned = _SAFE_NAME.sub("_", Path(name).name).strip("._") or "upload"
    return cleaned[:120]


def public_url(ctx: Ctx, media_id: str, filename: str) -> str:
    return f"{ctx.base_url()}/media/files/{media_id}/{filename}"


def media_base(ctx: Ctx) -> str:
    return f"{ctx.base_url()}/media/files/"


def check_type(content_type: object, field: str = "contentType") -> str:
    if not isinstance(content_type, str) or not content_type.startswith(ALLOWED_TYPES):
        raise invalid([Problem(field=field, message=f"expected an image/* or video/* type, got {content_type!r}")])
    return content_type


def presign(ctx: Ctx, *, filename: str, content_type: str, size: int | None) -> tuple[StoredMedia, str, int]:
    """A ticket for one PUT; ``(media, upload_url, expires_in)``."""
    limit = ctx.api.config.max_upload
    if size is not None and size > limit:
        raise ApiError(status=413, code="PAYLOAD_TOO_LARGE", message=f"size {size} is above the {limit}-byte limit",
                       problems=(Problem(field="size", message=f"at most {limit} bytes"),))
    media_id = uuid.uuid4().hex
    name = safe_name(filename)
    folder = ctx.api.media_dir / media_id
    folder.mkdir(parents=True)
    ttl = ctx.api.config.presign_ttl
    ticket = {"filename": name, "content_type": content_type, "size": size,
              "expires": (ctx.now + timedelta(seconds=ttl)).isoformat()}
    (folder / ".ticket").write_text(json.dumps(ticket), encoding="utf-8")
    media = StoredMedia(id=media_id, filename=name, content_type=content_type, size=size or 0,
                        url=public_url(ctx, media_id, name))
    return media, f"{ctx.base_url()}/media/upload/{media_id}", ttl


async def receive_put(ctx: Ctx) -> StoredMedia:
    """The body of a presigned PUT, streamed to disk; the ticket is used once."""
    media_id = ctx.match["media_id"]
    if not re.fullmatch(r"[0-9a-f]{32}", media_id):
        raise not_found("upload")
    folder = ctx.api.media_dir / media_id
    ticket_path = folder / ".ticket"
    if not ticket_path.is_file():
        raise not_found("upload (the URL was used already, or never issued)")
    ticket = json.loads(ticket_path.read_text(encoding="utf-8"))
    if datetime.fromisoformat(ticket["expires"]) < ctx.now:
        raise ApiError(status=403, code="FORBIDDEN", message="the upload URL expired; ask for a new one")
    limit = ticket["size"] or ctx.api.config.max_upload
    size = await _stream(ctx.request, folder / ticket["filename"], limit=min(limit, ctx.api.config.max_upload))
    ticket_path.unlink()
    return StoredMedia(id=media_id, filename=ticket["filename"], content_type=ticket["content_type"], size=size,
                       url=public_url(ctx, media_id, ticket["filename"]))


async def receive_multipart(ctx: Ctx, *, limit: int, field: str = "file") -> StoredMedia:
    """The ``file`` part of a multipart body, streamed to disk within ``limit`` bytes."""
    if not ctx.request.content_type.startswith("multipart/"):
        raise ApiError(status=415, code="UNSUPPORTED_MEDIA_TYPE", message="expected multipart/form-data with a "
                       f"'{field}' part", problems=(Problem(field=field, message="required"),))
    reader = await ctx.request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise invalid([Problem(field=field, message="required: the file part of the form")])
        if getattr(part, "name", None) == field:
            break
    content_type = check_type(part.headers.get("Content-Type", ""), field=f"{field}.contentType")
    media_id = uuid.uuid4().hex
    name = safe_name(getattr(part, "filename", None) or "upload")
    folder = ctx.api.media_dir / media_id
    folder.mkdir(parents=True)
    size = 0
    path = folder / name
    try:
        with path.open("wb") as out:
            while chunk := await part.read_chunk(CHUNK):  # type: ignore[union-attr]
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        folder.rmdir()
        raise
    return StoredMedia(id=media_id, filename=name, content_type=content_type, size=size,
                       url=public_url(ctx, media_id, name))


async def _stream(request: web.Request, path: Path, *, limit: int) -> int:
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    size = 0
    tmp = path.with_name(path.name + ".part")
    try:
        with tmp.open("wb") as out:
            async for chunk in request.content.iter_chunked(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                out.write(chunk)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return size


def _too_large(limit: int) -> ApiError:
    return ApiError(status=413, code="PAYLOAD_TOO_LARGE", message=f"the upload is above the {limit}-byte limit")


def stored_file(ctx: Ctx) -> Path:
    media_id, name = ctx.match["media_id"], ctx.match["filename"]
    path = ctx.api.media_dir / media_id / name
    if not re.fullmatch(r"[0-9a-f]{32}", media_id) or name.startswith(".") or not path.is_file():
        raise not_found("media")
    return path


async def validate_media(ctx: Ctx, url: str) -> dict[str, Any]:
    """Fetch ``url`` (SSRF-guarded, or the local file for our own URLs) and probe its bytes."""
    from crosspost.core.media import probe_async
    from crosspost.core.netguard import SafeFetcher

    base = media_base(ctx)
    if url.startswith(base):
        media_id, _, name = url[len(base):].partition("/")
        path = ctx.api.media_dir / media_id / name
        if not path.is_file():
            raise not_found("media")
        info = await probe_async(path)
        return _media_facts(info)
    with tempfile.TemporaryDirectory() as folder:
        async with SafeFetcher.from_settings(ctx.api.hub.settings, max_bytes=ctx.api.config.max_upload,
                                             timeout=60) as fetcher:
            try:
                fetched = await fetcher.fetch(url, Path(folder) / "media")
            except Exception as exc:
                return {"valid": False, "error": str(exc)}
        info = await probe_async(fetched.path)
        return _media_facts(info)


def _media_facts(info: Any) -> dict[str, Any]:
    return {"valid": info.ok, "error": info.problem, "contentType": info.mime, "size": info.size,
            "type": info.kind.value if info.kind else "unknown", "format": str(info.format),
            "durationSec": info.duration_s, "width": info.width, "height": info.height, "codec": info.codec}
