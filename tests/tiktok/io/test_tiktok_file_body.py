"""The chunk body's reads: cached blocks copied on the loop, the rest in a thread, bytes exact."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from crosspost.plugins.tiktok import file_body
from crosspost.plugins.tiktok.file_body import FileRangeBody

BLOCK = 64 * 1024


class Transport:
    def get_write_buffer_size(self) -> int:
        return 0  # everything written went to the kernel


class Writer:
    """What aiohttp's stream writer offers the body: ``write``, ``drain`` and its transport."""

    def __init__(self) -> None:
        self.transport = Transport()
        self.sent = bytearray()

    async def write(self, chunk: Any) -> None:
        self.sent += bytes(chunk)  # copied now: the buffer is reused afterwards

    async def drain(self) -> None:
        return None


@pytest.fixture
def data() -> bytes:
    return os.urandom(5 * BLOCK + 123)


@pytest.fixture
def video(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "v.mp4"
    path.write_bytes(data)  # so in the page cache, as a just-written or just-probed video is
    return path


@pytest.fixture
async def hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The functions the body sends to a thread."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    real = loop.run_in_executor

    def counting(executor: Any, func: Any, *args: Any) -> Any:
        seen.append(func.__name__)
        return real(executor, func, *args)

    monkeypatch.setattr(loop, "run_in_executor", counting)
    return seen


async def send(video: Path, first: int, length: int) -> bytes:
    writer = Writer()
    body = FileRangeBody(video, first, length, content_type="video/mp4", sent=lambda n: None, block_size=BLOCK)
    await body.write_with_length(writer, None)  # type: ignore[arg-type]
    return bytes(writer.sent)


@pytest.mark.skipif(not file_body._CAN_READ_CACHED, reason="preadv2(RWF_NOWAIT) is Linux-only")
async def test_cached_blocks_are_read_on_the_loop(video: Path, data: bytes, hand_offs: list[str]) -> None:
    assert await send(video, BLOCK // 2, 4 * BLOCK) == data[BLOCK // 2: BLOCK // 2 + 4 * BLOCK]
    assert hand_offs == ["_open_and_fill"], "one trip to a thread: opening and the first block"


async def test_blocks_the_cache_does_not_hold_are_read_in_a_thread(
        video: Path, data: bytes, hand_offs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_body, "_cached_read", lambda handle, view, offset: 0)
    assert await send(video, 0, len(data)) == data
    assert hand_offs == ["_open_and_fill"] + ["_fill_from"] * 5


@pytest.mark.skipif(not file_body._CAN_READ_CACHED, reason="preadv2(RWF_NOWAIT) is Linux-only")
async def test_a_block_partly_cached_is_finished_in_a_thread_at_the_right_offset(
        video: Path, data: bytes, hand_offs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = file_body._cached_read

    def half(handle: Any, view: memoryview, offset: int) -> int | None:
        return real(handle, view[: len(view) // 2], offset)

    monkeypatch.setattr(file_body, "_cached_read", half)
    assert await send(video, 7, len(data) - 7) == data[7:]
    assert hand_offs.count("_fill_from") == 5


async def test_a_file_system_that_cannot_say_is_read_in_a_thread_from_then_on(
        video: Path, data: bytes, hand_offs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def unsupported(handle: Any, view: memoryview, offset: int) -> None:
        asked.append(offset)
        return None

    monkeypatch.setattr(file_body, "_cached_read", unsupported)
    monkeypatch.setattr(file_body, "_CAN_READ_CACHED", True)
    assert await send(video, 0, len(data)) == data
    assert len(asked) == 1, "asked once, then never again for this body"
    assert hand_offs.count("_fill_from") == 5
