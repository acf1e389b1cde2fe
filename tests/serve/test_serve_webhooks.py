"""Outgoing webhooks: at-least-once with the same event id, backoff and Retry-After, each service's
signature checked with that service's documented verification (rewritten in Python), private
addresses refused unless allowed."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import attrs
import pytest
from aiohttp import web

from tests.serve.conftest import Served
from tests.serve.test_serve_api import RELAY_BODY, ZERNIO_BODY


@attrs.define
class Receiver:
    """A webhook endpoint on loopback that answers from a script and records every request."""

    statuses: list[int] = attrs.Factory(list)
    retry_after: str | None = None
    received: list[tuple[dict[str, str], bytes]] = attrs.Factory(list)
    url: str = ""
    runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Retry-After": self.retry_after} if self.retry_after and status >= 400 else {}
        return web.Response(status=status, headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    rec.runner = web.AppRunner(app, access_log=None)
    await rec.runner.setup()
    await web.TCPSite(rec.runner, "127.0.0.1", 0).start()
    rec.url = f"http://127.0.0.1:{rec.runner.addresses[0][1]}/hook"
    yield rec
    await rec.runner.cleanup()


async def subscribe(served: Served, dialect: str, url: str, **extra: Any) -> dict[str, Any]:
    path = {"native": "/v1/webhooks", "relay": "/relay/v1/webhooks", "zernio": "/zernio/api/v1/webhooks/settings",
            "late": "/late/api/v1/webhooks/settings", "socialsyncer": "/socialsyncer/v1/webhooks/settings",
            "postpost": "/postpost/api/v1/webhooks"}[dialect]
    resp = await served.client.post(path, headers=served.headers(dialect), json={"url": url, **extra})
    assert resp.status in (200, 201), await resp.text()
    body = await resp.json()
    return dict(body.get("webhook", body))


async def publish_one(served: Served, dialect: str = "native") -> None:
    if dialect in ("zernio", "late", "socialsyncer"):
        path = {"zernio": "/zernio/api/v1/posts", "late": "/late/api/v1/posts",
                "socialsyncer": "/socialsyncer/v1/posts"}[dialect]
        body = ZERNIO_BODY
    else:
        path, body = "/v1/posts", RELAY_BODY
    resp = await served.client.post(path, headers=served.headers(dialect), json=body)
    assert resp.status == 201
    await served.work()


async def test_a_receiver_failing_three_times_gets_the_event_again_with_the_same_id(
        served: Served, receiver: Receiver) -> None:
    await served.api.outbox.start_cursor()
    await subscribe(served, "native", receiver.url, events=["post.published"])
    receiver.statuses = [500, 503, 502]
    await publish_one(served)
    assert await served.deliver() == 1
    for _ in range(3):  # each retry is due after its backoff; the fake clock gets there
        served.clock.advance(3600)
        assert await served.api.outbox.deliver_due() == 1
    served.clock.advance(3600)
    assert await served.api.outbox.deliver_due() == 0  # delivered: nothing more is sent
    ids = [headers["Crosspost-Event-Id"] for headers, _ in receiver.received]
    assert len(ids) == 4
    assert len(set(ids)) == 1
    bodies = {body for _, body in receiver.received}
    assert len(bodies) == 1  # the very same bytes every time
    assert [h["Crosspost-Delivery-Attempt"] for h, _ in receiver.received] == ["1", "2", "3", "4"]
    assert json.loads(receiver.received[0][1])["type"] == "post.published"
    logs = await (await served.client.get("/v1/webhooks/logs", headers=served.headers("native"))).json()
    assert [row["status_code"] for row in logs["data"]] == [200, 502, 503, 500]


async def test_backoff_grows_and_retry_after_is_honoured(served: Served, receiver: Receiver) -> None:
    await served.api.outbox.start_cursor()
    await subscribe(served, "native", receiver.url, events=["post.published"])
    receiver.statuses = [429, 500]
    receiver.retry_after = "120"
    await publish_one(served)
    start = served.clock.now()
    await served.deliver()
    [delivery] = await served.api.store.list_deliveries()
    assert delivery.next_at == start + timedelta(seconds=120)
    served.clock.advance(119)
    assert await served.api.outbox.deliver_due() == 0
    served.clock.advance(1)
    receiver.retry_after = None
    assert await served.api.outbox.deliver_due() == 1
    [delivery] = await served.api.store.list_deliveries()
    waited = (delivery.next_at - served.clock.now()).total_seconds()
    assert 60 <= waited <= 66  # 30 * 2**(2-1) plus at most 10 % jitter


async def test_a_4xx_answer_is_final(served: Served, receiver: Receiver) -> None:
    await served.api.outbox.start_cursor()
    await subscribe(served, "native", receiver.url, events=["post.published"])
    receiver.statuses = [410]
    await publish_one(served)
    await served.deliver()
    served.clock.advance(7200)
    assert await served.api.outbox.deliver_due() == 0
    [delivery] = await served.api.store.list_deliveries()
    assert delivery.state == "failed"


async def test_redeliver_sends_the_same_event_id_again(served: Served, receiver: Receiver) -> None:
    await served.api.outbox.start_cursor()
    hook = await subscribe(served, "zernio", receiver.url, events=["post.published"])
    await publish_one(served, "zernio")
    await served.deliver()
    event_id = receiver.received[0][0]["X-Zernio-Event-Id"]
    resp = await served.client.post("/zernio/api/v1/webhooks/logs/redeliver", headers=served.headers("zernio"),
                                    json={"webhook_id": hook["_id"], "event_id": event_id})
    assert resp.status == 200
    assert await served.api.outbox.deliver_due() == 1
    assert [h["X-Zernio-Event-Id"] for h, _ in receiver.received] == [event_id, event_id]


# -- each service's documented verification, rewritten in Python ---------------------------------


def zernio_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Zernio rules/webhooks.md: createHmac('sha256', secret).update(payload).digest('hex')."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Zernio-Signature"])


def late_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """docs.getlate.dev/core/webhooks: the same HMAC, header X-Late-Signature."""
    return hmac.compare_digest(hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
                               headers["X-Late-Signature"])


def socialsyncer_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """SocialSyncerAPI's Python example hashes the raw body; the Node one reads x-socialapi-signature."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-SocialSyncerAPI-Signature"]) and \
        hmac.compare_digest(expected, headers["X-SocialAPI-Signature"])


def relay_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """RelayAPI webhook-delivery.ts: X-RelayAPI-Signature: sha256=<hex HMAC of the exact body>."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-RelayAPI-Signature"])


def postpost_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """PostPost docs/endpoints/webhooks.md (Python): hash json.dumps(payload, separators=(',', ':'))."""
    payload = json.loads(body)
    message = json.dumps(payload, separators=(",", ":"))
    expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-PostPost-Signature"])


def native_check(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """docs/serve.md: Crosspost-Signature t=<unix>,v1=<hex HMAC(secret, "<t>.<body>")>, 5 minutes."""
    parts = dict(item.split("=", 1) for item in headers["Crosspost-Signature"].split(","))
    signed = f"{parts['t']}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    fresh = abs(int(parts["t"]) - int(headers["_now"])) <= 300
    return fresh and hmac.compare_digest(expected, parts["v1"])


CHECKS = {"zernio": zernio_check, "late": late_check, "socialsyncer": socialsyncer_check, "relay": relay_check,
          "postpost": postpost_check, "native": native_check}
PUBLISHED = {"zernio": "post.published", "late": "post.published", "socialsyncer": "post.published",
             "relay": "post.published", "postpost": "post.published", "native": "post.published"}


@pytest.mark.parametrize("dialect", sorted(CHECKS))
async def test_signatures_verify_with_the_services_documented_check(served: Served, receiver: Receiver,
                                                                     dialect: str) -> None:
    await served.api.outbox.start_cursor()
    hook = await subscribe(served, dialect, receiver.url, events=[PUBLISHED[dialect]], secret="whsec_test_secret")
    assert hook.get("secret") == "whsec_test_secret"
    await publish_one(served, dialect if dialect in ("zernio", "late", "socialsyncer") else "native")
    assert await served.deliver() >= 1
    assert receiver.received
    for headers, body in receiver.received:
        headers["_now"] = str(int(served.clock.now().timestamp()))
        assert CHECKS[dialect]("whsec_test_secret", headers, body)
        assert not CHECKS[dialect]("another-secret", headers, body)
        payload = json.loads(body)
        assert payload.get("event", payload.get("type")) == "post.published"


async def test_private_addresses_are_refused_unless_the_operator_allows_them(
        served: Served, receiver: Receiver) -> None:
    from crosspost.core.netguard import AllowList

    served.api.outbox.allow_private = False
    served.api.outbox.allow = AllowList()  # nor listed in CROSSPOST_ALLOW_HOSTS
    await served.api.outbox.start_cursor()
    await subscribe(served, "native", receiver.url, events=["post.published"])
    await publish_one(served)
    await served.deliver()
    assert receiver.received == []
    [attempt] = await served.api.store.list_attempts()
    assert attempt.error is not None
    assert "refused" in attempt.error
    assert "--allow-private-webhooks" in attempt.error
    [delivery] = await served.api.store.list_deliveries()
    assert delivery.state == "failed"


async def test_webhook_secrets_are_not_stored_in_plaintext(served: Served, receiver: Receiver) -> None:
    await subscribe(served, "native", receiver.url, secret="whsec_plain_text_here")
    [row] = await served.api.store.list_webhooks()
    assert b"whsec_plain_text_here" not in row.secret
    assert "whsec_plain_text_here" not in repr(row)

