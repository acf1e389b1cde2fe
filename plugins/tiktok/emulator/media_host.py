"""``/_emulator/media/``: a media host inside the emulator, so photo carousels work on one machine.

TikTok pulls photos only from URLs on a prefix verified for the app; a user trying crosspost on
the emulator has local files and no web server. The emulator therefore hosts files itself and
counts its own media prefix as verified (:class:`~.server.EmulatorServer` adds it on start):

- ``PUT /_emulator/media/{name}``: the body is stored under ``name`` (letters, digits, ``.``,
  ``_``, ``-``; at most 128 characters; at most :data:`MAX_BYTES`); answers ``201`` with
  ``{"url": ...}``, the address to give TikTok. Putting the same name again replaces the file.
- ``GET /_emulator/media/{name}``: the file (``404`` when unknown), with a content type from
  its suffix; the emulator's own PULL_FROM_URL downloads read it like any media server.

Files live in a temporary folder removed when the app stops. crosspost reaches the host through
the ``puthost`` plugin (``CROSSPOST_MEDIA_PUT_URL``); like every admin route this one is plain
HTTP on loopback, outside TikTok's rules, never faulted or recorded.
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

MEDIA_ROUTE = "/_emulator/media/"
MAX_BYTES = 64 * 1024 * 1024
"""Photos are at most 20 MiB at TikTok; some room for a short video pulled by URL."""
MEDIA_DIR = web.AppKey("crosspost_emulator_media_dir", Path)
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


def media_prefix(base_url: str) -> str:
    """The URL prefix of every hosted file on the emulator at ``base_url``."""
    return base_url.rstrip("/") + MEDIA_ROUTE


def add_media_routes(app: web.Application) -> None:
    """The PUT/GET routes and the temporary folder behind them."""
    app.cleanup_ctx.append(_media_dir)
    app.router.add_put(MEDIA_ROUTE + "{name}", put_media, name="admin:put-media")
    app.router.add_get(MEDIA_ROUTE + "{name}", get_media, name="admin:get-media")


async def _media_dir(app: web.Application) -> AsyncIterator[None]:
    folder = Path(tempfile.mkdtemp(prefix="crosspost-emulator-media-"))
    app[MEDIA_DIR] = folder
    yield
    shutil.rmtree(folder, ignore_errors=True)


def _path(request: web.Request) -> Path:
    name = request.match_info["name"]
    if not _NAME.fullmatch(name) or ".." in name:
        raise web.HTTPBadRequest(text="a media name is letters, digits, '.', '_' and '-' (at most 128)")
    return request.app[MEDIA_DIR] / name


async def put_media(request: web.Request) -> web.Response:
    """Store the body (streamed to a part file, renamed once complete) and say its URL."""
    target = _path(request)
    if request.content_length is not None and request.content_length > MAX_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BYTES, actual_size=request.content_length)
    part = target.with_name(f".{target.name}.part")
    size = 0
    try:
        with part.open("wb") as file:
            async for block in request.content.iter_chunked(256 * 1024):
                size += len(block)
                if size > MAX_BYTES:
                    raise web.HTTPRequestEntityTooLarge(max_size=MAX_BYTES, actual_size=size)
                file.write(block)
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    url = f"{request.scheme}://{request.host}{MEDIA_ROUTE}{target.name}"
    return web.json_response({"url": url, "size": size}, status=201)


async def get_media(request: web.Request) -> web.StreamResponse:
    path = _path(request)
    if not path.is_file():
        raise web.HTTPNotFound(text="no such hosted file")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return web.FileResponse(path, headers={"Content-Type": content_type})
