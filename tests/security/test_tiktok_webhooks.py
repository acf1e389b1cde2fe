"""TikTok webhooks: signatures (valid, forged, stale, future, malformed), parsing, receiver app, dedupe."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.webhooks import (
    ForgedWebhook,
    FutureWebhook,
    MalformedWebhook,
    MemoryDeduper,
    StaleWebhook,
    WebhookEvent,
    WebhookOutcome,
    make_webhook_app,
    parse_event,
    verify_signature,
)

SECRET = "webhook-client-secret-123"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = int(NOW.timestamp())
# Real Direct Post payload (Syllaby controller comment, tiktok-api.md §9.3).
COMPLETE = (
    b'{"client_key":"bwo2m45353a6k85","event":"post.publish.complete","create_time":1690692732,'
    b'"user_openid":"_000n3xads4rfwdUKrs9LV",'
    b'"content":"{\\"publish_id\\":\\"v_pub_url~v2-1.7261463769757501445\\",\\"publish_type\\":\\"DIRECT_PUBLISH\\"}"}'
)


def sign(body: bytes, *, t: int = T, secret: str = SECRET) -> str:
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},s={digest}"


def envelope(event: str, content: dict[str, Any] | str, *, create_time: int = 1700000000) -> bytes:
    return json.dumps(
        {
            "client_key": "ck",
            "event": event,
            "create_time": create_time,
            "user_openid": "_000openid",
            "content": content if isinstance(content, str) else json.dumps(content),
        }
    ).encode()


# --- signature ---------------------------------------------------------------------------------


def test_valid_signature_passes() -> None:
    verify_signature(sign(COMPLETE), COMPLETE, client_secret=SECRET, now=NOW)


def test_signature_made_with_another_secret_is_forged() -> None:
    with pytest.raises(ForgedWebhook, match="does not match"):
        verify_signature(sign(COMPLETE, secret="other"), COMPLETE, client_secret=SECRET, now=NOW)


def test_body_changed_after_signing_is_forged() -> None:
    with pytest.raises(ForgedWebhook):
        verify_signature(sign(COMPLETE), COMPLETE.replace(b"complete", b"failed"), client_secret=SECRET, now=NOW)


def test_signature_older_than_the_tolerance_is_stale() -> None:
    with pytest.raises(StaleWebhook, match="301 s ago"):
        verify_signature(sign(COMPLETE, t=T - 301), COMPLETE, client_secret=SECRET, now=NOW)
    verify_signature(sign(COMPLETE, t=T - 300), COMPLETE, client_secret=SECRET, now=NOW)


def test_signature_from_the_future_is_refused() -> None:
    with pytest.raises(FutureWebhook):
        verify_signature(sign(COMPLETE, t=T + 301), COMPLETE, client_secret=SECRET, now=NOW)


def test_forged_and_stale_is_reported_as_forged() -> None:
    with pytest.raises(ForgedWebhook):
        verify_signature(sign(COMPLETE, t=T - 9999, secret="x"), COMPLETE, client_secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "header", [None, "", "t=abc,s=" + "0" * 64, "s=" + "0" * 64, f"t={T}", f"t={T},s=abc", "garbage"]
)
def test_malformed_signature_header_is_refused(header: str | None) -> None:
    with pytest.raises(MalformedWebhook):
        verify_signature(header, COMPLETE, client_secret=SECRET, now=NOW)


# --- parsing -----------------------------------------------------------------------------------


def test_real_direct_post_complete_event_names_the_publish_id() -> None:
    event = parse_event(COMPLETE)
    assert event.outcome is WebhookOutcome.COMPLETE
    assert event.publish_id == "v_pub_url~v2-1.7261463769757501445"
    assert event.publish_type == "DIRECT_PUBLISH"
    assert not event.is_inbox


def test_failed_event_carries_the_fail_reason() -> None:
    body = envelope("post.publish.failed", {"publish_id": "p1", "reason": "file_format_check_failed",
                                            "publish_type": "DIRECT_POST"})  # fmt: skip
    event = parse_event(body)
    assert (event.outcome, event.reason, event.publish_type) == (
        WebhookOutcome.FAILED,
        "file_format_check_failed",
        "DIRECT_POST",
    )


def test_inbox_delivered_is_an_inbox_share() -> None:
    event = parse_event(envelope("post.publish.inbox_delivered", {"publish_id": "v_inbox_file~v2.1",
                                                                  "publish_type": "INBOX_SHARE"}))  # fmt: skip
    assert event.outcome is WebhookOutcome.INBOX_DELIVERED
    assert event.is_inbox


@pytest.mark.parametrize("post_id", ["7261463769757501445", 7261463769757501445])
def test_publicly_available_gives_the_post_id_as_text(post_id: str | int) -> None:
    event = parse_event(envelope("post.publish.publicly_available", {"publish_id": "p1", "post_id": post_id}))
    assert event.outcome is WebhookOutcome.PUBLICLY_AVAILABLE
    assert event.post_id == "7261463769757501445"


@pytest.mark.parametrize("spelling", ["publicaly", "publicly"])
def test_no_longer_public_accepts_both_spellings(spelling: str) -> None:
    event = parse_event(envelope(f"post.publish.no_longer_{spelling}_available", {"publish_id": "p", "post_id": 1}))
    assert event.outcome is WebhookOutcome.NO_LONGER_PUBLIC


def test_authorization_removed_names_the_open_id_and_reason() -> None:
    body = b'{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,"user_openid":"act.example12345Example12345Example","content":"{\\"reason\\": 1 }"}'  # noqa: E501 - official example verbatim
    event = parse_event(body)
    assert event.outcome is WebhookOutcome.AUTHORIZATION_REMOVED
    assert event.user_openid == "act.example12345Example12345Example"
    assert event.reason == "the user disconnected the app"
    assert event.publish_id is None


def test_unknown_events_are_parsed_as_other() -> None:
    assert parse_event(envelope("portability.download.ready", {})).outcome is WebhookOutcome.OTHER


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "no 'event'"),
        (b'{"create_time": 1}', "no 'event'"),
        (envelope("post.publish.complete", "{not json"), "'content' is not a JSON string"),
        (envelope("post.publish.complete", "[1]"), "not a JSON object"),
        (envelope("post.publish.complete", {"publish_type": "INBOX_SHARE"}), "no publish_id"),
        (b'{"event": "post.publish.complete", "content": "{}"}', "create_time"),
    ],
)
def test_malformed_bodies_say_what_is_missing(body: bytes, message: str) -> None:
    with pytest.raises(MalformedWebhook, match=message):
        parse_event(body)


def test_redelivery_has_the_same_dedupe_key_and_a_new_event_does_not() -> None:
    first = parse_event(envelope("post.publish.complete", {"publish_id": "p1"}, create_time=1))
    assert parse_event(envelope("post.publish.complete", {"publish_id": "p1"}, create_time=1)).dedupe_key == (
        first.dedupe_key
    )
    assert parse_event(envelope("post.publish.complete", {"publish_id": "p1"}, create_time=2)).dedupe_key != (
        first.dedupe_key
    )


# --- the receiver app --------------------------------------------------------------------------


Receiver = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    clients: list[TestClient[web.Request, web.Application]] = []

    async def start(
        on_event: Callable[[WebhookEvent], Awaitable[None]], app: web.Application | None = None
    ) -> TestClient[web.Request, web.Application]:
        app = app or make_webhook_app(client_secret=SECRET, on_event=on_event, clock=FakeClock(NOW))
        client = TestClient(TestServer(app, host="127.0.0.1"))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


async def test_valid_webhook_is_answered_200_before_it_is_processed(receiver: Receiver) -> None:
    release = asyncio.Event()
    seen: list[WebhookEvent] = []

    async def slow(event: WebhookEvent) -> None:
        await release.wait()
        seen.append(event)

    client = await receiver(slow)
    resp = await client.post("/", data=COMPLETE, headers={"TikTok-Signature": sign(COMPLETE)})
    assert resp.status == 200
    assert seen == []  # answered while the handler is still waiting
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert [e.publish_id for e in seen] == ["v_pub_url~v2-1.7261463769757501445"]


async def test_signature_header_name_is_case_insensitive(receiver: Receiver) -> None:
    seen: list[WebhookEvent] = []

    async def record(event: WebhookEvent) -> None:
        seen.append(event)

    client = await receiver(record)
    resp = await client.post("/", data=COMPLETE, headers={"tiktok-signature": sign(COMPLETE)})
    assert resp.status == 200


async def test_replayed_webhook_is_acknowledged_but_applied_once(receiver: Receiver) -> None:
    seen: list[WebhookEvent] = []

    async def record(event: WebhookEvent) -> None:
        seen.append(event)

    client = await receiver(record)
    answers = []
    for _ in range(3):
        resp = await client.post("/", data=COMPLETE, headers={"Tiktok-Signature": sign(COMPLETE)})
        answers.append((resp.status, await resp.json()))
    await asyncio.sleep(0)
    assert answers[0] == (200, {"ok": True})
    assert answers[1:] == [(200, {"ok": True, "duplicate": True})] * 2
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"TikTok-Signature": sign(COMPLETE, secret="attacker")}, COMPLETE, 401, "ForgedWebhook"),
        ({"TikTok-Signature": sign(COMPLETE, t=T - 3600)}, COMPLETE, 400, "StaleWebhook"),
        ({}, COMPLETE, 400, "MalformedWebhook"),
        ({"TikTok-Signature": sign(b"{oops")}, b"{oops", 400, "MalformedWebhook"),
    ],
)
async def test_forged_stale_and_malformed_requests_are_refused_and_not_processed(
    headers: dict[str, str],
    body: bytes,
    status: int,
    code: str,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[WebhookEvent] = []

    async def record(event: WebhookEvent) -> None:
        seen.append(event)

    client = await receiver(record)
    caplog.set_level(logging.INFO, logger="crosspost")
    resp = await client.post("/", data=body, headers=headers)
    assert resp.status == status
    assert (await resp.json())["error"] == code
    await asyncio.sleep(0)
    assert seen == []
    assert "refused a TikTok webhook" in caplog.text
    assert "v_pub_url" not in caplog.text  # the body is never logged
    assert "_000n3xads4rfwdUKrs9LV" not in caplog.text


async def test_failed_processing_lets_a_redelivery_through(receiver: Receiver) -> None:
    calls: list[str] = []

    async def flaky(event: WebhookEvent) -> None:
        calls.append(event.dedupe_key)
        if len(calls) == 1:
            raise RuntimeError("database down")

    client = await receiver(flaky)
    for _ in range(2):
        resp = await client.post("/", data=COMPLETE, headers={"TikTok-Signature": sign(COMPLETE)})
        assert resp.status == 200
        for _ in range(5):
            await asyncio.sleep(0)
    assert len(calls) == 2


async def test_receiver_mounts_inside_a_users_app(receiver: Receiver) -> None:
    seen: list[WebhookEvent] = []

    async def record(event: WebhookEvent) -> None:
        seen.append(event)

    outer = web.Application()
    outer.add_subapp("/hooks/tiktok", make_webhook_app(client_secret=SECRET, on_event=record, clock=FakeClock(NOW)))
    client = await receiver(record, outer)
    resp = await client.post("/hooks/tiktok/", data=COMPLETE, headers={"TikTok-Signature": sign(COMPLETE)})
    assert resp.status == 200
    await asyncio.sleep(0)
    assert len(seen) == 1


async def test_memory_deduper_forgets_the_oldest_keys_beyond_its_size() -> None:
    dedupe = MemoryDeduper(size=2)
    assert [await dedupe.claim(k) for k in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]
