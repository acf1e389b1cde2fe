"""Signed webhook deliveries: envelope shape, signature, order, retries."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState, sign_webhook

VIDEO_INIT = "/v2/post/publish/video/init/"


class Receiver:
    """A loopback webhook endpoint that answers with scripted statuses (then 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.statuses: list[int] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.headers["TikTok-Signature"], await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def receiver(emu_state: EmulatorState) -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    emu_state.webhook_url = hook.url
    yield hook
    await runner.cleanup()


async def publish_public_video(http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> str:
    emu_state.processing_polls = 0
    creator = emu_state.add_creator()
    body = {"post_info": {"privacy_level": "PUBLIC_TO_EVERYONE"},
            "source_info": {"source": "FILE_UPLOAD", "video_size": 100, "chunk_size": 100, "total_chunk_count": 1}}
    async with http.post(emu.base_url + VIDEO_INIT, json=body,
                         headers={"Authorization": f"Bearer {creator.access_token}"}) as response:
        data: dict[str, Any] = (await response.json())["data"]
    headers = {"Content-Type": "video/mp4", "Content-Range": "bytes 0-99/100"}
    async with http.put(data["upload_url"], data=bytes(100), headers=headers) as response:
        assert response.status == 201
    await emu_state.drain()
    return str(data["publish_id"])


async def test_completion_sends_signed_complete_then_publicly_available(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, receiver: Receiver) -> None:
    publish_id = await publish_public_video(http, emu, emu_state)
    events = [json.loads(body) for _, body in receiver.received]
    assert [e["event"] for e in events] == ["post.publish.complete", "post.publish.publicly_available"]
    assert json.loads(events[0]["content"]) == {"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"}
    assert json.loads(events[1]["content"])["post_id"] == str(emu_state.published[0].post_ids[0])
    assert events[0]["client_key"] == "emu-client-key"
    for header, body in receiver.received:
        parts = dict(part.split("=", 1) for part in header.split(","))
        expected = hmac.new(b"emu-client-secret", parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(parts["s"], expected)
        assert parts["s"] == sign_webhook("emu-client-secret", int(parts["t"]), body)


async def test_receiver_that_does_not_answer_200_gets_the_event_again(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    await publish_public_video(http, emu, emu_state)
    attempts = [(d.event, d.attempt, d.status) for d in emu_state.webhook_deliveries]
    assert attempts == [("post.publish.complete", 1, 500), ("post.publish.complete", 2, 503),
                        ("post.publish.complete", 3, 200), ("post.publish.publicly_available", 1, 200)]
    assert receiver.received[0][1] == receiver.received[2][1]  # the same event, byte for byte


async def test_events_are_recorded_even_without_a_webhook_url(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.fail_next_publish("picture_size_check_failed")
    publish_id = await publish_public_video(http, emu, emu_state)
    assert emu_state.webhook_deliveries == []
    assert [e["event"] for e in emu_state.events] == ["post.publish.failed"]
    assert json.loads(emu_state.events[0]["content"]) == {
        "publish_id": publish_id, "reason": "picture_size_check_failed", "publish_type": "DIRECT_PUBLISH"}
