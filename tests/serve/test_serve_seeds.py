"""Every request example of the hosted services' TikTok pages (``shared/seeds``), sent to the
server as written except for the base URL, the key and the account id, gets a success answer in
its service's shape, and the post reaches the TikTok emulator with the options the body asked for.

The bodies are the JSON copies in ``tests/tiktok/sansio/seed_requests.json`` (each example's
Python, curl and Node forms carry the same body); SocialSyncerAPI's video examples are also
Zernio's (seed 001 prints the same bodies), so they are sent to both.
"""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import Served

SEEDS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "tiktok" / "sansio" / "seed_requests.json").read_text(encoding="utf-8"))
ACCOUNT = "tiktok:main"

CASES: list[tuple[str, str]] = [
    ("socialsyncer", "socialsyncer_quickstart"), ("socialsyncer", "socialsyncer_video_cover"),
    ("socialsyncer", "socialsyncer_photo_carousel"), ("socialsyncer", "socialsyncer_draft"),
    ("zernio", "socialsyncer_quickstart"), ("zernio", "socialsyncer_video_cover"),
    ("zernio", "zernio_photo_carousel"),
    ("relay", "relayapi_quickstart"), ("relay", "relayapi_photo_carousel"), ("relay", "relayapi_ai_disclosure"),
    ("relay", "relayapi_draft"),
    ("postpost", "postpost_video"), ("postpost", "postpost_private_video"),
    ("late", "late_node"), ("late", "late_python"),
]
PATHS = {"zernio": "/zernio/api/v1/posts", "late": "/late/api/v1/posts", "socialsyncer": "/socialsyncer/v1/posts",
         "relay": "/relay/v1/posts", "postpost": "/postpost/api/v1/create-post"}


def with_account(body: dict[str, Any]) -> dict[str, Any]:
    """The seed body with its placeholder account id replaced (the one change the seeds ask for)."""
    body = copy.deepcopy(body)
    platforms = body.get("platforms")
    if isinstance(platforms, list):
        for index, entry in enumerate(platforms):
            if isinstance(entry, dict) and "accountId" in entry:
                entry["accountId"] = ACCOUNT
            elif isinstance(entry, str):
                platforms[index] = "tiktok-main"
    return body


def tiktok_settings(body: dict[str, Any]) -> dict[str, Any]:
    """The TikTok options the body asks for, in crosspost's names."""
    if "target_options" in body:
        return body["target_options"]["tiktok"]
    if "platformSettings" in body:
        pp = body["platformSettings"]["tiktok"]
        return {"privacy_level": pp["viewerSetting"], "allow_comment": pp["allowComments"],
                "allow_duet": pp["allowDuet"], "allow_stitch": pp["allowStitch"]}
    if "tiktokSettings" in body:
        return body["tiktokSettings"]
    return body["platforms"][0]["platformSpecificData"]["tiktokSettings"]


def check_created(dialect: str, status: int, reply: Any) -> str:
    """The post id from a create answer in the dialect's shape."""
    if dialect in ("zernio", "late"):
        assert status == 201
        post = reply["post"]
        assert len(post["_id"]) == 24
        assert int(post["_id"], 16) >= 0
        assert post["status"] in ("publishing", "scheduled", "draft")
        return str(post["_id"])
    if dialect == "socialsyncer":
        assert status == 201
        assert reply["status"] in ("publishing", "scheduled", "draft")
        return str(reply["id"])
    if dialect == "relay":
        assert status == 201
        assert reply["id"].startswith("post_")
        assert reply["status"] in ("publishing", "scheduled", "draft")
        return str(reply["id"])
    assert status == 200
    assert reply["success"] is True
    return str(reply["postGroupId"])


async def postpost_attach_and_schedule(served: Served, group: str, clip: Path) -> None:
    """PostPost's documented flow: upload the video into the draft, then schedule it."""
    headers = served.headers("postpost")
    resp = await served.client.post("/postpost/api/v1/get-upload-url", headers=headers, json={
        "fileName": "clip.mp4", "contentType": "video/mp4", "postGroupId": group, "type": "video"})
    assert resp.status == 200, await resp.text()
    ticket = await resp.json()
    upload = ticket["uploadUrl"].split("/", 3)[3]
    data = await asyncio.to_thread(clip.read_bytes)
    put = await served.client.put("/" + upload, data=data, headers={"Content-Type": "video/mp4"})
    assert put.status == 200, await put.text()
    resp = await served.client.put(f"/postpost/api/v1/update-post/{group}", headers=headers,
                                   json={"status": "scheduled"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["postGroup"]["status"] in ("scheduled", "published")


async def fetch(served: Served, dialect: str, post_id: str) -> Any:
    path = {"postpost": f"/postpost/api/v1/get-post/{post_id}"}.get(dialect, f"{PATHS[dialect]}/{post_id}")
    resp = await served.client.get(path, headers=served.headers(dialect))
    assert resp.status == 200, await resp.text()
    return await resp.json()


def final_status(dialect: str, body: Any) -> str:
    if dialect in ("zernio", "late"):
        return str(body["post"]["status"])
    if dialect == "postpost":
        return str(body["status"])
    return str(body["status"])


@pytest.mark.parametrize(("dialect", "seed"), CASES, ids=[f"{d}-{s}" for d, s in CASES])
async def test_seed_example_is_answered_in_the_services_shape_and_reaches_tiktok(
        served: Served, dialect: str, seed: str, cdn: Any) -> None:
    body = with_account(SEEDS[seed])
    resp = await served.client.post(PATHS[dialect], headers=served.headers(dialect), json=body)
    reply = await resp.json()
    post_id = check_created(dialect, resp.status, reply)
    if dialect == "postpost":
        await postpost_attach_and_schedule(served, post_id, cdn.file_for("postpost.mp4"))
    if dialect == "late":  # scheduled for 2026-03-15T14:00Z: let the fake clock reach it
        served.clock.advance((datetime(2026, 3, 15, 14, 1, tzinfo=UTC) - served.clock.now()).total_seconds())

    await served.work()

    published = served.emulator.state.published
    assert len(published) == 1
    record = published[0]
    wanted = tiktok_settings(SEEDS[seed])
    post_info = record.request_body.get("post_info", {})
    if wanted.get("draft"):
        assert record.mode == "inbox"
    else:
        assert post_info["privacy_level"] == wanted["privacy_level"]
        assert post_info["disable_comment"] is (not wanted["allow_comment"])
        if record.media_type == "VIDEO":
            assert post_info["disable_duet"] is (not wanted["allow_duet"])
            assert post_info["disable_stitch"] is (not wanted["allow_stitch"])
        if "video_made_with_ai" in wanted:
            assert post_info["is_aigc"] is wanted["video_made_with_ai"]
        if "video_cover_timestamp_ms" in wanted:
            assert post_info["video_cover_timestamp_ms"] == wanted["video_cover_timestamp_ms"]
    if wanted.get("media_type") == "photo" or "photo_cover_index" in wanted:
        assert record.media_type == "PHOTO"
        assert record.request_body["source_info"]["photo_cover_index"] == wanted["photo_cover_index"]
    after = await fetch(served, dialect, post_id)
    expected = {"relay": "provider_draft"} if wanted.get("draft") else {}
    assert final_status(dialect, after) == expected.get(dialect, "published")


async def test_zernio_analytics_example_is_answered_in_zernios_shape(served: Served) -> None:
    resp = await served.client.get("/zernio/api/v1/analytics?platform=tiktok&fromDate=2024-01-01&toDate=2024-01-31",
                                   headers=served.headers("zernio"))
    assert resp.status == 200
    body = await resp.json()
    assert body["posts"] == []
    assert body["pagination"]["page"] == 1


async def test_late_endpoints_of_the_seed_answer(served: Served) -> None:
    headers = served.headers("late")
    resp = await served.client.post("/late/api/v1/posts", headers=headers, json=with_account(SEEDS["late_node"]))
    post_id = (await resp.json())["post"]["_id"]
    put = await served.client.put(f"/late/api/v1/posts/{post_id}", headers=headers,
                                  json={"content": "Edited before it runs #api"})
    assert put.status == 200, await put.text()
    assert (await put.json())["post"]["content"] == "Edited before it runs #api"
    profiles = await served.client.get("/late/api/v1/profiles", headers=headers)
    assert (await profiles.json())["profiles"][0]["isDefault"] is True
    analytics = await served.client.get(f"/late/api/v1/analytics/{post_id}", headers=headers)
    assert analytics.status == 200
    deleted = await served.client.delete(f"/late/api/v1/posts/{post_id}", headers=headers)
    assert deleted.status == 200
    gone = await served.client.get(f"/late/api/v1/posts/{post_id}", headers=headers)
    assert gone.status == 404
    assert "error" in await gone.json()
    await served.work()
    assert served.emulator.state.published == []
