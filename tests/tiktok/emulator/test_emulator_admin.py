"""The /_emulator/ admin routes, the server's lifecycle, and secrets kept out of reprs."""

from __future__ import annotations

from typing import Any

import aiohttp

from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
STATUS = "/v2/post/publish/status/fetch/"
DIRECT = {"post_info": {"privacy_level": "SELF_ONLY"},
          "source_info": {"source": "FILE_UPLOAD", "video_size": 100, "chunk_size": 100, "total_chunk_count": 1}}


async def admin(http: aiohttp.ClientSession, emu: EmulatorServer, method: str, path: str,
                body: dict[str, Any] | None = None) -> tuple[int, Any]:
    async with http.request(method, emu.base_url + "/_emulator/" + path, json=body) as response:
        return response.status, await response.json()


async def api(http: aiohttp.ClientSession, emu: EmulatorServer, path: str, token: str,
              body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    async with http.post(emu.base_url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs) as response:
        return response.status, await response.json()


async def test_admin_creates_a_creator_whose_token_works(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    status, creator = await admin(http, emu, "POST", "creators", {"private": True, "nickname": "Bo"})
    assert status == 200
    assert creator["privacy_level_options"] == ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    status, info = await api(http, emu, CREATOR_INFO, creator["access_token"])
    assert (status, info["data"]["creator_nickname"]) == (200, "Bo")
    status, error = await admin(http, emu, "POST", "creators", {"no_such_field": 1})
    assert status == 400
    assert "no_such_field" in error["error"]


async def test_admin_lists_publishes_and_requests_but_never_records_itself(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    await api(http, emu, VIDEO_INIT, token, DIRECT)
    _, published = await admin(http, emu, "GET", "published")
    assert [(p["mode"], p["media_type"], p["request_body"]) for p in published] == [("direct", "VIDEO", DIRECT)]
    _, requests = await admin(http, emu, "GET", "requests")
    assert [r["route"] for r in requests] == ["video_init"]
    assert token not in str(requests)


async def test_admin_faults_clock_config_and_reset(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    token = emu_state.add_creator().access_token
    assert (await admin(http, emu, "POST", "faults", {"route": "creator_info", "status": 500}))[0] == 200
    assert (await api(http, emu, CREATOR_INFO, token))[0] == 500
    await admin(http, emu, "POST", "config", {"rate_limits": False, "processing_polls": 0})
    assert (emu_state.rate_limits, emu_state.processing_polls) == (False, 0)
    assert (await admin(http, emu, "POST", "config", {"client_secret": "x"}))[0] == 400
    await admin(http, emu, "POST", "clock", {"advance": 86_400})
    assert (await api(http, emu, CREATOR_INFO, token))[0] == 401
    await admin(http, emu, "POST", "reset")
    assert (emu_state.creators, emu_state.published, emu_state.faults.rules) == ({}, [], [])


async def test_removing_authorization_fails_in_flight_publishes_with_auth_removed(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    await api(http, emu, VIDEO_INIT, creator.access_token, DIRECT)
    await admin(http, emu, "POST", "authorization/remove", {"open_id": creator.open_id})
    assert (emu_state.published[0].status, emu_state.published[0].fail_reason) == ("FAILED", "auth_removed")
    assert [e["event"] for e in emu_state.events] == ["post.publish.failed", "authorization.removed"]
    assert (await api(http, emu, CREATOR_INFO, creator.access_token))[0] == 401


async def test_server_starts_on_a_free_port_and_closes(emu_state: EmulatorState) -> None:
    server = EmulatorServer(emu_state)
    await server.start()
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.port > 0
    finally:
        await server.close()
    assert "stopped" in repr(server)


def test_reprs_never_show_tokens() -> None:
    state = EmulatorState()
    creator = state.add_creator()
    assert creator.access_token not in repr(creator)
    assert creator.refresh_token not in repr(creator)
    assert state.client_secret not in repr(state)
