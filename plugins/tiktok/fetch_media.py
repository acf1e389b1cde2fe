"""Getting a post's media ready for TikTok: probe local files, download, convert, host.

TikTok takes a video as uploaded bytes (FILE_UPLOAD) or as a URL on a verified domain
(PULL_FROM_URL), and photos only as URLs. :func:`crosspost.plugins.tiktok.requests.route_media`
decides the route of each item; this module carries it out:

- local files are probed from their bytes (:func:`crosspost.core.media.probe_async`);
- remote videos off the verified domains, and remote photos to re-host, are downloaded through
  :mod:`crosspost.core.netguard` (SSRF-safe, size-capped, refuses HTML share pages) into the
  job's work folder;
- local PNG photos are converted to JPEG (TikTok takes no PNG) before hosting;
- local photos get a public URL from ``ctx.host_media`` (the ``host_media`` hook).

Everything written lives in :func:`work_dir`, one folder per job, removed when the job ends.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

from crosspost.core import media as core_media
from crosspost.core.errors import PermanentError
from crosspost.core.media import MediaFormat, MediaInfo
from crosspost.core.models import Media, MediaKind
from crosspost.core.netguard import SafeFetcher
from crosspost.core.platform import JobContext
from crosspost.plugins.tiktok.requests import Route

PLATFORM = "tiktok"
MAX_VIDEO_BYTES = 4 * 1024**3
"""TikTok's documented video size limit; a download stops there."""
MAX_PHOTO_BYTES = 20 * 1000**2
DOWNLOAD_TIMEOUT_S = 3600.0
_PHOTO_SUFFIXES = {MediaFormat.JPEG: ".jpg", MediaFormat.WEBP: ".webp"}


def work_dir(ctx: JobContext) -> Path:
    """The job's private folder for downloads and conversions (stable across restarts)."""
    safe = hashlib.sha256(ctx.job_id.encode("utf-8")).hexdigest()[:24]
    return Path(ctx.settings.data_dir) / "tmp" / "tiktok" / safe


async def remove_work_dir(ctx: JobContext, media: Sequence[Media]) -> None:
    """Delete the job's work folder, if the post could have made one: only downloads (media given
    by URL) and photo conversions write there, so a post of local videos skips the thread hop."""
    if any(item.url is not None or item.type is MediaKind.IMAGE for item in media):
        await asyncio.to_thread(shutil.rmtree, work_dir(ctx), True)


async def probe_local(media: Sequence[Media]) -> list[MediaInfo | None]:
    """What each local file holds; ``None`` for remote items (not fetched to validate). Several
    files are probed at once; a single one (a video post) without a task around it."""
    if len(media) == 1:
        return [await _probe(media[0])]
    return list(await asyncio.gather(*(_probe(m) for m in media)))


async def _probe(item: Media) -> MediaInfo | None:
    return await core_media.probe_async(item.path) if item.path is not None else None


async def download(ctx: JobContext, url: str, *, name: str, max_bytes: int) -> tuple[Path, MediaInfo]:
    """Fetch ``url`` into the job's work folder (reusing a complete earlier download) and probe it."""
    folder = work_dir(ctx)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    dest = folder / name
    if not await asyncio.to_thread(dest.exists):
        async with SafeFetcher.from_settings(ctx.settings, max_bytes=max_bytes, timeout=DOWNLOAD_TIMEOUT_S) as fetch:
            await fetch.fetch(url, dest)
    return dest, await core_media.probe_async(dest)


async def photo_urls(
    ctx: JobContext, media: Sequence[Media], infos: Sequence[MediaInfo | None], routes: Sequence[Route]
) -> list[str]:
    """A URL TikTok can pull for every photo, in order (hosting or re-hosting where needed)."""
    urls: list[str] = []
    for index, (item, info, route) in enumerate(zip(media, infos, routes, strict=True)):
        if route is Route.PULL_FROM_URL and item.url is not None:
            urls.append(item.url)
            continue
        path = await _local_photo(ctx, index, item, info, route)
        url = await ctx.host_media(str(path))
        if not url:
            raise PermanentError(
                f"media[{index}] is a local photo, but no media host is configured: TikTok only takes photos "
                "by URL.", code="no_media_host", field=f"media[{index}]", platform=PLATFORM,
                hint="Install and configure a host_media plugin (e.g. crosspost's S3 host on a domain "
                     "verified with TikTok), or give the photo as a URL on a verified domain.")
        urls.append(url)
    return urls


async def _local_photo(ctx: JobContext, index: int, item: Media, info: MediaInfo | None, route: Route) -> Path:
    if route is Route.REHOST and item.url is not None:
        path, info = await download(ctx, item.url, name=f"photo-{index}", max_bytes=MAX_PHOTO_BYTES)
        if info.format is MediaFormat.PNG:
            route = Route.CONVERT_AND_HOST
        elif info.format in _PHOTO_SUFFIXES:
            # Media hosts serve a Content-Type guessed from the file name.
            named = path.with_suffix(_PHOTO_SUFFIXES[info.format])
            await asyncio.to_thread(path.replace, named)
            path = named
    else:
        assert item.path is not None, "route_media gives HOST routes to local files only"
        path = Path(item.path)
    if route is Route.CONVERT_AND_HOST:
        folder = work_dir(ctx) / f"jpeg-{index}"
        return await asyncio.to_thread(core_media.convert_to_jpeg, path, folder)
    return path
