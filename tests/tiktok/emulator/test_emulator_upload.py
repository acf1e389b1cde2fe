"""The FILE_UPLOAD chunk plan and the PUT to upload_url, over loopback HTTP."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState, chunk_plan_problem

VIDEO_INIT = "/v2/post/publish/video/init/"
MIB = 1024 * 1024


def video(size: int) -> bytes:
    """Deterministic bytes of ``size`` (a repeating pattern, cheap to build at 50 MB)."""
    block = bytes(range(251))
    return (block * (size // len(block) + 1))[:size]


async def init_upload(http: aiohttp.ClientSession, emu: EmulatorServer, token: str, size: int, chunk: int,
                      count: int) -> tuple[int, dict[str, Any]]:
    body = {"post_info": {"privacy_level": "SELF_ONLY"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk,
                            "total_chunk_count": count}}
    async with http.post(emu.base_url + VIDEO_INIT, json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def put(http: aiohttp.ClientSession, url: str, data: bytes, first: int, total: int,
              content_type: str = "video/mp4", **headers: str) -> tuple[int, str | None]:
    sent = {"Content-Type": content_type, "Content-Range": f"bytes {first}-{first + len(data) - 1}/{total}",
            **headers}
    async with http.put(url, data=io.BytesIO(data), headers=sent) as response:  # BytesIO: no big-bytes warning
        return response.status, response.headers.get("Content-Range")


@pytest.mark.parametrize(("size", "chunk", "count"), [
    (50_000_123, 10_000_000, 5),          # the official worked example
    (4_194_304, 4_194_304, 1),            # the official whole-upload example ("4 MB")
    (1, 1, 1),
    (64_000_000, 64_000_000, 1),          # largest whole upload safe under both readings
    (6_000_000, 5 * MIB, 1),              # one chunk that absorbs the tail
    (64_000_001, 64_000_000, 1),          # final chunk may exceed chunk_size
    (127_999_999, 64_000_000, 1),         # final chunk just under 128,000,000
    (1000 * 5 * MIB, 5 * MIB, 1000),
])
def test_chunk_plans_valid_under_both_readings_of_mb_are_accepted(size: int, chunk: int, count: int) -> None:
    assert chunk_plan_problem(size, chunk, count) is None


@pytest.mark.parametrize(("size", "chunk", "count"), [
    (75_064_653, 37_532_327, 2),          # balanced plan: floor(size/chunk) is 1
    (50_000_123, 10_000_000, 6),          # ceil instead of floor
    (64 * MIB, 64 * MIB, 1),              # whole upload above 64,000,000 (fine only if MB = MiB)
    (12_000_000, 5_000_000, 2),           # chunk under 5 MiB
    (200_000_000, 65_000_000, 3),         # chunk over 64,000,000
    (128_000_000, 64_000_000, 1),         # final chunk reaches 128,000,000
    (1001 * 5 * MIB, 5 * MIB, 1001),      # more than 1000 chunks
    (4_000_000, 2_000_000, 2),            # under 5 MB must go whole
    (0, 0, 1),
])
def test_off_spec_chunk_plans_are_refused(size: int, chunk: int, count: int) -> None:
    assert chunk_plan_problem(size, chunk, count) is not None


async def test_balanced_plan_is_refused_at_init_with_the_chunk_size_message(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    status, body = await init_upload(http, emu, creator.access_token, 75_064_653, 37_532_327, 2)
    assert (status, body["error"]["code"], body["error"]["message"]) == (
        400, "invalid_params", "The chunk size is invalid")


async def test_official_example_uploads_in_five_chunks_and_records_the_checksum(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    data = video(50_000_123)
    _, body = await init_upload(http, emu, creator.access_token, len(data), 10_000_000, 5)
    url = body["data"]["upload_url"]
    replies = []
    for first in range(0, 40_000_001, 10_000_000):
        end = len(data) if first == 40_000_000 else first + 10_000_000
        replies.append(await put(http, url, data[first:end], first, len(data)))
    assert replies == [(206, "bytes 0-9999999/50000123"), (206, "bytes 0-19999999/50000123"),
                       (206, "bytes 0-29999999/50000123"), (206, "bytes 0-39999999/50000123"),
                       (201, "bytes 0-50000122/50000123")]
    record = emu_state.published[0]
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert (record.total_bytes, record.content_type, record.source) == (50_000_123, "video/mp4", "FILE_UPLOAD")


async def test_content_range_that_is_not_the_next_chunk_is_416_with_the_servers_position(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    data = video(11 * MIB)
    _, body = await init_upload(http, emu, creator.access_token, len(data), 5 * MIB, 2)
    url = body["data"]["upload_url"]
    assert await put(http, url, data[5 * MIB:], 5 * MIB, len(data)) == (416, f"bytes */{len(data)}")
    assert await put(http, url, data[:5 * MIB], 0, len(data)) == (206, f"bytes 0-{5 * MIB - 1}/{len(data)}")
    assert await put(http, url, data[:5 * MIB], 0, len(data)) == (416, f"bytes 0-{5 * MIB - 1}/{len(data)}")
    assert (await put(http, url, data[5 * MIB:], 5 * MIB, len(data)))[0] == 201
    assert await put(http, url, data[5 * MIB:], 5 * MIB, len(data)) == (416, f"bytes 0-{len(data) - 1}/{len(data)}")


async def test_malformed_upload_headers_are_400(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    data = video(1000)
    _, body = await init_upload(http, emu, creator.access_token, len(data), len(data), 1)
    url = body["data"]["upload_url"]
    assert (await put(http, url, data, 0, len(data), content_type="image/png"))[0] == 400
    assert (await put(http, url, data, 0, len(data) + 1))[0] == 400
    mismatch = {"Content-Range": "bytes 0-998/1000"}  # range length 999, body 1000
    async with http.put(url, data=data, headers={"Content-Type": "video/mp4", **mismatch}) as response:
        assert response.status == 400

    async def streamed() -> AsyncIterator[bytes]:
        yield data  # no Content-Length: chunked transfer encoding

    headers = {"Content-Type": "video/mp4", "Content-Range": "bytes 0-999/1000"}
    async with http.put(url, data=streamed(), headers=headers) as response:
        assert response.status == 400
    assert emu_state.published[0].transferred_bytes == 0


async def test_upload_url_expires_after_an_hour_on_the_injected_clock(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock) -> None:
    creator = emu_state.add_creator()
    data = video(1000)
    _, body = await init_upload(http, emu, creator.access_token, len(data), len(data), 1)
    emu_clock.advance(3600)
    assert (await put(http, body["data"]["upload_url"], data, 0, len(data)))[0] == 403


async def test_unknown_upload_or_wrong_upload_token_is_404(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    data = video(1000)
    _, body = await init_upload(http, emu, creator.access_token, len(data), len(data), 1)
    url: str = body["data"]["upload_url"]
    wrong_token = url[:-4] + "0000"
    assert (await put(http, wrong_token, data, 0, len(data)))[0] == 404
    assert (await put(http, emu.base_url + "/upload/?upload_id=1&upload_token=x", data, 0, len(data)))[0] == 404


async def test_chunk_cut_off_midway_is_not_committed_and_can_be_resent(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    data = video(1000)
    _, body = await init_upload(http, emu, creator.access_token, len(data), len(data), 1)
    url = body["data"]["upload_url"]

    async def cut_off() -> AsyncIterator[bytes]:
        yield data[:400]
        raise ConnectionAbortedError("client gave up")

    headers = {"Content-Type": "video/mp4", "Content-Range": "bytes 0-999/1000", "Content-Length": "1000"}
    with pytest.raises(aiohttp.ClientError):
        async with http.put(url, data=cut_off(), headers=headers):
            pass
    assert await put(http, url, data, 0, len(data)) == (201, "bytes 0-999/1000")
    assert emu_state.published[0].sha256 == hashlib.sha256(data).hexdigest()
