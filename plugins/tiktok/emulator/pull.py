"""PULL_FROM_URL: the emulator downloads the media itself, as TikTok's servers do.

Downloads run as background tasks on the app's own ``aiohttp.ClientSession`` (``trust_env``
off, so no proxy is ever used), streaming and hashing as they go; ``downloaded_bytes`` grows
meanwhile and status/fetch reports PROCESSING_DOWNLOAD. Redirects are never followed: TikTok
treats a 3xx as an invalid URL. Any non-200 answer, connection error or timeout ends the publish
FAILED with ``video_pull_failed`` / ``photo_pull_failed``. ``state.pause_pulls()`` holds
downloads before they start, which makes "cancel during PROCESSING_DOWNLOAD" deterministic.
"""

from __future__ import annotations

import asyncio
import hashlib

import aiohttp
from aiohttp import web

from .access import SESSION, STATE
from .records import MediaItem, PublishRecord, looks_like_photo, looks_like_video
from .state import EmulatorState

_HEAD_BYTES = 16


class PullFailed(Exception):
    """The media server did not hand over the file (non-200, redirect)."""


def start_pull(app: web.Application, publish: PublishRecord, urls: list[str]) -> None:
    state = app[STATE]
    task = state.spawn(_pull(state, app[SESSION], publish, urls))
    state.pull_tasks[publish.publish_id] = task


def cancel_pull(state: EmulatorState, publish: PublishRecord) -> None:
    """Stop the download and fail the publish with ``publish_cancelled``."""
    task = state.pull_tasks.pop(publish.publish_id, None)
    if task is not None:
        task.cancel()
    state.lifecycle.fail(publish, "publish_cancelled")


async def _pull(state: EmulatorState, session: aiohttp.ClientSession, publish: PublishRecord, urls: list[str]) -> None:
    photo = publish.media_type == "PHOTO"
    total = hashlib.sha256()
    items: list[MediaItem] = []
    try:
        await state.pulls_open.wait()
        for url in urls:
            items.append(await _fetch(session, publish, url, total, photo=photo))
    except (aiohttp.ClientError, TimeoutError, PullFailed):
        if not publish.terminal:
            state.lifecycle.fail(publish, "photo_pull_failed" if photo else "video_pull_failed")
        return
    finally:
        if state.pull_tasks.get(publish.publish_id) is asyncio.current_task():
            del state.pull_tasks[publish.publish_id]
    if not publish.terminal:
        state.lifecycle.media_received(publish, items, total.hexdigest())


async def _fetch(session: aiohttp.ClientSession, publish: PublishRecord, url: str, total: hashlib._Hash, *,
                 photo: bool) -> MediaItem:
    async with session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise PullFailed(f"media server answered {response.status}")
        hasher = hashlib.sha256()
        head = b""
        size = 0
        async for data in response.content.iter_any():
            hasher.update(data)
            total.update(data)
            size += len(data)
            publish.transferred_bytes += len(data)
            if len(head) < _HEAD_BYTES:
                head = (head + data[:_HEAD_BYTES])[:_HEAD_BYTES]
        recognised = looks_like_photo(head) if photo else looks_like_video(head)
        return MediaItem(url=url, size=size, sha256=hasher.hexdigest(), content_type=response.content_type,
                         recognised_format=recognised)
