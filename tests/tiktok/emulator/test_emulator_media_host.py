"""The emulator's own media host (/_emulator/media/) and its admin index (/_emulator/)."""

from __future__ import annotations

import aiohttp

from crosspost.plugins.tiktok.emulator import EmulatorServer


async def test_a_put_file_is_served_back_with_a_content_type(emu: EmulatorServer,
                                                            http: aiohttp.ClientSession) -> None:
    async with http.put(emu.media_url + "photo.jpg", data=b"\xff\xd8\xff\xe0 a jpeg") as put:
        assert put.status == 201
        answer = await put.json()

    assert answer == {"url": emu.media_url + "photo.jpg", "size": 11}
    async with http.get(answer["url"]) as got:
        assert (got.status, got.content_type, await got.read()) == (200, "image/jpeg", b"\xff\xd8\xff\xe0 a jpeg")


async def test_the_emulator_counts_its_media_prefix_as_verified(emu: EmulatorServer) -> None:
    assert emu.media_url == emu.base_url + "/_emulator/media/"
    assert emu.media_url in emu.state.verified_url_prefixes


async def test_names_that_could_leave_the_folder_are_refused(emu: EmulatorServer,
                                                            http: aiohttp.ClientSession) -> None:
    for name in (".hidden", "a..b", "x" * 200, "a%2F..%2Fb"):
        async with http.put(emu.media_url + name, data=b"x") as put:
            assert put.status == 400, name


async def test_an_unknown_file_is_404_and_nothing_is_recorded_as_a_tiktok_call(
        emu: EmulatorServer, http: aiohttp.ClientSession) -> None:
    async with http.get(emu.media_url + "nothing.jpg") as got:
        assert got.status == 404
    assert emu.state.requests == []


async def test_the_admin_index_lists_every_route_the_banner_points_to(emu: EmulatorServer,
                                                                     http: aiohttp.ClientSession) -> None:
    async with http.get(emu.base_url + "/_emulator/") as index:
        assert index.status == 200
        routes = {(r["method"], r["path"]) for r in (await index.json())["routes"]}

    assert {("POST", "/_emulator/creators"), ("GET", "/_emulator/published"), ("POST", "/_emulator/config"),
            ("PUT", "/_emulator/media/{name}"), ("GET", "/_emulator/media/{name}")} <= routes
