"""Per-token sliding rate windows on the injected clock, and what the request record shows."""

from __future__ import annotations

from typing import Any

import aiohttp

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState, token_fingerprint

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
STATUS = "/v2/post/publish/status/fetch/"
SOURCE = {"source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000, "total_chunk_count": 1}
DIRECT = {"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": SOURCE}


async def call(http: aiohttp.ClientSession, emu: EmulatorServer, path: str, token: str,
               body: dict[str, Any] | None = None) -> tuple[int, str, dict[str, str]]:
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    async with http.post(emu.base_url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs) as response:
        return response.status, (await response.json())["error"]["code"], dict(response.headers)


async def test_seventh_init_in_a_minute_is_429_and_recovers_when_the_window_slides(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock) -> None:
    token = emu_state.add_creator().access_token
    for _ in range(6):
        assert (await call(http, emu, VIDEO_INIT, token, DIRECT))[0] == 200
        emu_clock.advance(5)
    status, code, headers = await call(http, emu, VIDEO_INIT, token, DIRECT)
    assert (status, code) == (429, "rate_limit_exceeded")
    assert "Retry-After" not in headers  # TikTok documents none
    emu_clock.advance(30)  # the first init is now 60 s old
    assert (await call(http, emu, VIDEO_INIT, token, DIRECT))[0] == 200


async def test_each_init_endpoint_has_its_own_window(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    for _ in range(6):
        await call(http, emu, VIDEO_INIT, token, DIRECT)
    assert (await call(http, emu, VIDEO_INIT, token, DIRECT))[0] == 429
    assert (await call(http, emu, INBOX_INIT, token, {"source_info": SOURCE}))[0] == 200


async def test_creator_info_allows_twenty_and_status_thirty_per_minute_per_token(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    first, second = emu_state.add_creator().access_token, emu_state.add_creator().access_token
    codes = [(await call(http, emu, CREATOR_INFO, first))[0] for _ in range(21)]
    assert codes == [200] * 20 + [429]
    assert (await call(http, emu, CREATOR_INFO, second))[0] == 200  # another token, another window
    statuses = [(await call(http, emu, STATUS, first, {"publish_id": "x"}))[0] for _ in range(31)]
    assert statuses == [400] * 30 + [429]


async def test_rate_limits_can_be_switched_off_and_retry_after_switched_on(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock) -> None:
    token = emu_state.add_creator().access_token
    emu_state.rate_limits = False
    assert all([(await call(http, emu, CREATOR_INFO, token))[0] == 200 for _ in range(25)])
    emu_state.rate_limits = True
    emu_state.rate_limit_retry_after = True
    for _ in range(20):
        await call(http, emu, CREATOR_INFO, token)
        emu_clock.advance(1)
    status, _, headers = await call(http, emu, CREATOR_INFO, token)
    assert (status, headers["Retry-After"]) == (429, "40")


async def test_request_record_lets_tests_count_inits_per_token_without_the_token(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    for _ in range(8):
        await call(http, emu, VIDEO_INIT, token, DIRECT)
    inits = [r for r in emu_state.requests if r.route == "video_init"]
    assert [r.status for r in inits] == [200] * 6 + [429] * 2
    assert {r.token_fingerprint for r in inits} == {token_fingerprint(token)}
    assert token not in repr(emu_state.requests)
