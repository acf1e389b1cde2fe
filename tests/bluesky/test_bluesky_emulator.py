"""The emulator answers like the reference PDS where crosspost depends on it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image

from crosspost.core.clock import FakeClock
from crosspost.plugins.bluesky.emulator import BlueskyEmulator, BlueskyEmulatorServer, EmulatorState
from crosspost.plugins.bluesky.images import fit_jpeg

HANDLE, PASSWORD = "bob.test", "bobp-assw-ord1-2345"


class Api:
    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http, self.url, self.token = http, url, ""

    async def call(self, method: str, nsid: str, *, token: str | None = None, **kw: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token if token is not None else self.token}"}
        async with self.http.request(method, f"{self.url}/xrpc/{nsid}", headers=headers, **kw) as response:
            return response.status, await response.json()

    async def login(self) -> dict[str, Any]:
        status, body = await self.call("POST", "com.atproto.server.createSession",
                                       json={"identifier": HANDLE, "password": PASSWORD})
        assert status == 200, body
        self.token = body["accessJwt"]
        return body

    async def create(self, record: dict[str, Any], rkey: str = "3aaaaaaaaaa22") -> tuple[int, Any]:
        did = (await self.call("GET", "com.atproto.identity.resolveHandle", params={"handle": HANDLE}))[1]["did"]
        return await self.call("POST", "com.atproto.repo.createRecord", json={
            "repo": did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": record})


@pytest_asyncio.fixture
async def api() -> AsyncIterator[tuple[Api, EmulatorState]]:
    state = EmulatorState(clock=FakeClock())
    state.add_account(HANDLE, PASSWORD)
    async with BlueskyEmulatorServer(state) as server, aiohttp.ClientSession() as http:
        yield Api(http, server.url), state


Rigged = tuple["Api", EmulatorState]


def post(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-12-02T05:00:00.000Z", **extra}




async def test_a_repeated_create_on_the_same_key_is_a_500_and_the_first_record_stays(api: Rigged) -> None:
    client, state = api
    await client.login()
    assert (await client.create(post("one")))[0] == 200
    status, body = await client.create(post("two"))
    assert (status, body["error"]) == (500, "InternalServerError")
    assert [p["value"]["text"] for p in state.posts()] == ["one"]


@pytest.mark.parametrize(("record", "needle"), [
    (post("a" * 301), "grapheme too big"),
    (post("hi", facets=[{"index": {"byteStart": 0, "byteEnd": 9}, "features": [
        {"$type": "app.bsky.richtext.facet#tag", "tag": "x"}]}]), "byte range"),
    (post("hi", langs=["en", "fr", "de", "es"]), "langs"),
    ({"$type": "app.bsky.feed.post", "text": "no date"}, "createdAt"),
    (post("hi", embed={"$type": "app.bsky.embed.images", "images": [{"image": {"ref": {"$link": "nope"}}}]}), "alt"),
    (post("hi", reply={"root": {"uri": "at://x/app.bsky.feed.post/3a", "cid": "c"},
                       "parent": {"uri": "at://x/app.bsky.feed.post/3a", "cid": "c"}}), "points at no post"),
])
async def test_invalid_records_are_400_invalid_request(api: tuple[Api, EmulatorState], record: dict[str, Any],
                                                      needle: str) -> None:
    client, state = api
    await client.login()
    status, body = await client.create(record)
    assert status == 400
    assert body["error"] == "InvalidRequest"
    assert needle in body["message"]
    assert state.posts() == []


async def test_record_keys_must_be_tids(api: tuple[Api, EmulatorState]) -> None:
    client, _ = api
    await client.login()
    status, body = await client.create(post(), rkey="badkey")
    assert status == 400
    assert "Invalid TID" in body["message"]


async def test_thirty_logins_per_five_minutes_then_429_with_ratelimit_headers(api: tuple[Api, EmulatorState]) -> None:
    client, state = api
    for _ in range(30):
        await client.login()
    async with client.http.post(f"{client.url}/xrpc/com.atproto.server.createSession",
                                json={"identifier": HANDLE, "password": PASSWORD}) as response:
        assert response.status == 429
        assert response.headers["ratelimit-remaining"] == "0"
        assert (await response.json())["error"] == "RateLimitExceeded"
    assert isinstance(state.clock, FakeClock)
    state.clock.advance(301)
    await client.login()


async def test_refresh_rotates_with_a_short_grace_for_a_lost_answer(api: tuple[Api, EmulatorState]) -> None:
    client, state = api
    first = await client.login()
    s1, again1 = await client.call("POST", "com.atproto.server.refreshSession", token=first["refreshJwt"])
    s2, again2 = await client.call("POST", "com.atproto.server.refreshSession", token=first["refreshJwt"])
    assert s1 == s2 == 200
    assert again1["refreshJwt"] == again2["refreshJwt"] != first["refreshJwt"]
    assert isinstance(state.clock, FakeClock)
    state.clock.advance(600)
    status, body = await client.call("POST", "com.atproto.server.refreshSession", token=first["refreshJwt"])
    assert (status, body["error"]) == (400, "ExpiredToken")


async def test_an_expired_access_token_is_expired_token_and_a_forged_one_invalid(api: Rigged) -> None:
    client, state = api
    await client.login()
    state.expire_access_tokens()
    assert (await client.call("GET", "com.atproto.server.getSession"))[1]["error"] == "ExpiredToken"
    assert (await client.call("GET", "com.atproto.server.getSession", token="x.y.z"))[0] == 401


async def test_admin_api_adds_accounts_and_scripts_faults(api: tuple[Api, EmulatorState]) -> None:
    client, _state = api
    async with client.http.post(f"{client.url}/admin/accounts",
                                json={"handle": "carol.test", "app_password": "p"}) as response:
        assert (await response.json())["handle"] == "carol.test"
    async with client.http.post(f"{client.url}/admin/faults",
                                json={"fail": {"com.atproto.server.getSession": [502]}}) as response:
        assert response.status == 200
    await client.login()
    assert (await client.call("GET", "com.atproto.server.getSession"))[0] == 502
    assert (await client.call("GET", "com.atproto.server.getSession"))[0] == 200
    async with client.http.get(f"{client.url}/admin/state") as response:
        assert {a["handle"] for a in (await response.json())["accounts"]} == {HANDLE, "carol.test"}


async def test_demo_emulator_starts_with_an_account_and_demo_posts(tmp_path: Path) -> None:
    emulator = BlueskyEmulator()
    running = await emulator.start()
    try:
        assert running.env["CROSSPOST_BLUESKY_SERVICE"] == running.url
        assert running.account["handle"] == "demo.test"
        assert [p.request["targets"] for p in emulator.demo_posts(str(tmp_path))] == [["bluesky:demo"]] * 4
    finally:
        await running.stop()


def test_fit_jpeg_turns_a_transparent_png_into_a_jpeg_within_budget(tmp_path: Path) -> None:
    source = tmp_path / "logo.png"
    Image.frombytes("RGBA", (800, 800), os.urandom(800 * 800 * 4)).save(source)
    assert source.stat().st_size > 1_000_000
    fitted = fit_jpeg(source, tmp_path / "out", 300_000)
    assert fitted.stat().st_size <= 300_000
    with Image.open(fitted) as image:
        assert image.format == "JPEG"
        assert image.mode == "RGB"
