"""The minimal TikTok client the benchmarks measure crosspost against: plain aiohttp, the video
in memory, no storage, no validation, no retries. ``engine_overhead.py`` and ``fanout.py`` pace
and schedule it differently; the requests (and so the emulator's work) are these."""

from __future__ import annotations

from typing import Any

import aiohttp

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
STATUS = "/v2/post/publish/status/fetch/"


async def call(http: aiohttp.ClientSession, base: str, token: str, path: str, body: Any) -> dict[str, Any]:
    """One TikTok API call; its ``data``. Any error code raises (a benchmark must not hide one)."""
    async with http.post(base + path, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        answer: dict[str, Any] = await resp.json()
    if answer["error"]["code"] != "ok":
        raise RuntimeError(f"{path}: {answer['error']['code']}")
    return dict(answer.get("data") or {})


def video_init(title: str, size: int) -> dict[str, Any]:
    """The init body of a one-chunk direct post of ``size`` bytes, as crosspost sends it."""
    return {"post_info": {"title": title, "privacy_level": "SELF_ONLY", "disable_comment": False,
                          "disable_duet": True, "disable_stitch": True},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": size,
                            "total_chunk_count": 1}}


async def put_video(http: aiohttp.ClientSession, upload_url: str, data: bytes) -> None:
    """The whole video in one PUT; anything but 201 raises."""
    size = len(data)
    headers = {"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{size - 1}/{size}"}
    async with http.put(upload_url, data=data, headers=headers) as resp:
        await resp.read()
        if resp.status != 201:
            raise RuntimeError(f"upload answered {resp.status}")
