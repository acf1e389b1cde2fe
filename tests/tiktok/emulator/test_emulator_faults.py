"""Scripted faults: injected statuses, dropped connections (before and after handling),
seeded probabilities and delays."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

VIDEO_INIT = "/v2/post/publish/video/init/"
DIRECT = {"post_info": {"privacy_level": "SELF_ONLY"},
          "source_info": {"source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000, "total_chunk_count": 1}}


async def init(http: aiohttp.ClientSession, emu: EmulatorServer, token: str) -> tuple[int, dict[str, Any]]:
    async with http.post(emu.base_url + VIDEO_INIT, json=DIRECT,
                         headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


async def put(http: aiohttp.ClientSession, url: str) -> int:
    headers = {"Content-Type": "video/mp4", "Content-Range": "bytes 0-999/1000"}
    async with http.put(url, data=bytes(1000), headers=headers) as response:
        return response.status


async def test_status_fault_answers_a_tiktok_5xx_envelope_then_clears(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    rule = emu_state.faults.add(route="video_init", kind="status", status=503, times=1)
    status, body = await init(http, emu, token)
    assert (status, body["error"]["code"]) == (503, "internal_error")
    assert (await init(http, emu, token))[0] == 200
    assert rule.fired == 1
    assert len(emu_state.published) == 1


async def test_dropped_connection_gives_the_client_no_response_and_changes_nothing(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    emu_state.faults.add(route="video_init", kind="drop")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await init(http, emu, token)
    assert emu_state.published == []
    assert (emu_state.requests[-1].status, emu_state.requests[-1].fault) == (None, "drop")


async def test_drop_after_handling_loses_the_response_but_the_publish_exists(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    emu_state.faults.add(route="video_init", kind="drop_after")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await init(http, emu, token)
    assert len(emu_state.published) == 1  # the "init sent, response lost" crash point


async def test_upload_put_fault_is_a_bare_status_and_the_chunk_can_be_retried(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    _, body = await init(http, emu, token)
    emu_state.faults.add(route="upload_put", kind="status", status=500, times=2)
    assert [await put(http, body["data"]["upload_url"]) for _ in range(3)] == [500, 500, 201]


async def test_upload_put_drop_then_retry_completes(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    _, body = await init(http, emu, token)
    # times=2: aiohttp itself resends an idempotent PUT once after a dropped connection.
    emu_state.faults.add(route="upload_put", kind="drop", times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await put(http, body["data"]["upload_url"])
    assert await put(http, body["data"]["upload_url"]) == 201
    assert [r.status for r in emu_state.requests if r.route == "upload_put"] == [None, None, 201]


async def test_token_route_fault_has_the_oauth_error_shape(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    emu_state.faults.add(route="token", kind="status", status=503)
    form = {"client_key": "emu-client-key", "client_secret": "emu-client-secret", "grant_type": "refresh_token",
            "refresh_token": creator.refresh_token}
    async with http.post(emu.base_url + "/v2/oauth/token/", data=form) as response:
        assert (response.status, (await response.json())["error"]) == (503, "temporarily_unavailable")


def fire_pattern(seed: int) -> list[bool]:
    state = EmulatorState(rng_seed=seed)
    state.faults.add(route="status", kind="status", probability=0.5)
    return [state.faults.match("status") is not None for _ in range(40)]


def test_probability_rules_repeat_exactly_for_the_same_seed() -> None:
    assert fire_pattern(7) == fire_pattern(7)
    assert 5 < sum(fire_pattern(7)) < 35
    assert fire_pattern(7) != fire_pattern(8)


def test_fault_rules_reject_unknown_routes_and_bad_probabilities() -> None:
    state = EmulatorState()
    with pytest.raises(ValueError, match="unknown fault route"):
        state.faults.add(route="video", kind="status")
    with pytest.raises(ValueError, match="probability"):
        state.faults.add(route="status", probability=1.5)


async def test_delay_fault_still_answers_normally(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    emu_state.faults.add(route="video_init", kind="delay", delay_s=0.01)
    assert (await init(http, emu, token))[0] == 200
    assert emu_state.requests[-1].fault == "delay"
