"""The emulator's Display API: video/query and video/list, counters that grow, user stats."""

from __future__ import annotations

from typing import Any

import aiohttp

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.emulator.records import PublishRecord

SCOPES = ("user.info.basic", "user.info.stats", "video.list", "video.publish")
FIELDS = "id,view_count,like_count,comment_count,share_count,share_url"


def public_video(state: EmulatorState, open_id: str, post_id: int, *, created_at: float) -> PublishRecord:
    record = PublishRecord(publish_id=f"v_pub_file~{post_id}", open_id=open_id, mode="direct", media_type="VIDEO",
                           source="FILE_UPLOAD", request_body={"post_info": {"title": "Hi"}},
                           privacy_level="PUBLIC_TO_EVERYONE", created_at=created_at, status="PUBLISH_COMPLETE",
                           post_ids=[post_id])
    state.published.append(record)
    return record


async def query(http: aiohttp.ClientSession, emu: EmulatorServer, token: str, ids: list[Any]) -> tuple[int, Any]:
    async with http.post(f"{emu.base_url}/v2/video/query/?fields={FIELDS}", json={"filters": {"video_ids": ids}},
                         headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def test_counters_grow_with_the_clock_and_ids_come_back_as_text(
        emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock, http: aiohttp.ClientSession) -> None:
    emu_state.access_token_ttl = 30 * 86_400  # the test spans a week
    creator = emu_state.add_creator(scopes=SCOPES, username="grower")
    big = 7678907398077074696
    public_video(emu_state, creator.open_id, big, created_at=emu_state.now())
    emu_clock.advance(3600)
    status, first = await query(http, emu, creator.access_token, [str(big), "7000000000000000001"])
    assert status == 200
    [video] = first["data"]["videos"]  # an id that is not the caller's is simply absent
    assert video["id"] == str(big)
    assert video["share_url"] == f"https://www.tiktok.com/@grower/video/{big}"
    emu_clock.advance(6 * 24 * 3600)
    _, later = await query(http, emu, creator.access_token, [str(big)])
    assert later["data"]["videos"][0]["view_count"] > video["view_count"] > 0


async def test_more_than_twenty_ids_and_a_missing_scope_are_refused(
        emu: EmulatorServer, emu_state: EmulatorState, http: aiohttp.ClientSession) -> None:
    creator = emu_state.add_creator(scopes=SCOPES)
    status, body = await query(http, emu, creator.access_token, [str(7000000000000000000 + i) for i in range(21)])
    assert status == 400
    assert body["error"]["code"] == "invalid_params"
    poster = emu_state.add_creator(scopes=("user.info.basic", "video.publish"))
    status, body = await query(http, emu, poster.access_token, ["7000000000000000001"])
    assert status == 401
    assert body["error"]["code"] == "scope_not_authorized"


async def test_video_list_pages_newest_first_and_user_info_counts_them(
        emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock, http: aiohttp.ClientSession) -> None:
    emu_state.access_token_ttl = 30 * 86_400
    creator = emu_state.add_creator(scopes=SCOPES)
    for i in range(3):
        public_video(emu_state, creator.open_id, 7100000000000000000 + i, created_at=emu_state.now() + i)
    emu_clock.advance(86_400)
    headers = {"Authorization": f"Bearer {creator.access_token}"}
    async with http.post(f"{emu.base_url}/v2/video/list/?fields=id,create_time", json={"max_count": 2},
                         headers=headers) as resp:
        page = (await resp.json())["data"]
    assert [v["id"] for v in page["videos"]] == ["7100000000000000002", "7100000000000000001"]
    assert page["has_more"] is True
    async with http.post(f"{emu.base_url}/v2/video/list/?fields=id", json={"max_count": 2, "cursor": page["cursor"]},
                         headers=headers) as resp:
        rest = (await resp.json())["data"]
    assert [v["id"] for v in rest["videos"]] == ["7100000000000000000"]
    assert rest["has_more"] is False
    async with http.get(f"{emu.base_url}/v2/user/info/?fields=follower_count,likes_count,video_count",
                        headers=headers) as resp:
        user = (await resp.json())["data"]["user"]
    assert user["video_count"] == 3
    assert user["likes_count"] > 0
