"""The serve tables on every backend: API keys, idempotency claims, the outbox cursor and fan-out,
delivery retries and the subscription's failure count, and the retry of failed jobs."""

from __future__ import annotations

from datetime import timedelta

from crosspost.storage.base import NewEvent, Storage
from crosspost.storage.serve_tables import DISABLE_AFTER, ApiKeyRow, NewDelivery, WebhookRow, serve_store
from tests.storage.test_storage_jobs_contract import T0, new_post


async def test_api_keys_are_found_by_hash_until_revoked(storage: Storage) -> None:
    store = serve_store(storage)
    row = ApiKeyRow(id="k1", name="app", prefix="sk_k1", hash="h" * 64, created_at=T0)
    assert await store.add_api_key(row)
    assert not await store.add_api_key(ApiKeyRow(id="k2", name="app", prefix="sk_k2", hash="g" * 64, created_at=T0))
    assert (await store.find_api_key("h" * 64)) == row
    assert await store.revoke_api_key("app", now=T0)
    assert await store.find_api_key("h" * 64) is None
    assert not await store.revoke_api_key("app", now=T0)


async def test_idempotency_claims_replay_mismatch_running_and_takeover(storage: Storage) -> None:
    store = serve_store(storage)
    until = T0 + timedelta(seconds=30)
    assert (await store.claim_idempotency("s", "k", "f1", now=T0, until=until))[0] == "claimed"
    assert (await store.claim_idempotency("s", "k", "f1", now=T0, until=until))[0] == "running"
    assert (await store.claim_idempotency("s", "k", "f2", now=T0, until=until))[0] == "mismatch"
    later = T0 + timedelta(seconds=31)
    assert (await store.claim_idempotency("s", "k", "f1", now=later, until=later + timedelta(seconds=30)))[0] == \
        "claimed"
    await store.complete_idempotency("s", "k", status=201, body='{"id":1}', headers={"X": "y"})
    state, row = await store.claim_idempotency("s", "k", "f1", now=later, until=later)
    assert state == "replay"
    assert row is not None
    assert (row.status, row.body, dict(row.headers)) == (201, '{"id":1}', {"X": "y"})
    assert (await store.claim_idempotency("s", "other", "f1", now=T0, until=until))[0] == "claimed"
    await store.forget_idempotency("s", "other")
    assert (await store.claim_idempotency("s", "other", "f9", now=T0, until=until))[0] == "claimed"


def hook(hook_id: str = "w1") -> WebhookRow:
    return WebhookRow(id=hook_id, dialect="native", name="n", url="http://x.example/h", secret=b"c2VhbGVk",
                      events=("post.published",), custom_headers={}, enabled=True, failure_count=0,
                      created_at=T0, updated_at=T0)


async def test_fan_out_moves_the_cursor_once_and_absorbs_a_repeat(storage: Storage) -> None:
    store = serve_store(storage)
    await store.add_webhook(hook())
    await storage.insert_post(new_post("p1"), event=NewEvent(kind="submitted", post_id="p1", data={"a": 1}))
    events = await store.events_after(0, limit=10)
    assert [(e.kind, e.post_id, dict(e.data)) for e in events] == [("submitted", "p1", {"a": 1})]
    delivery = NewDelivery(id="d1", webhook_id="w1", event_id="evt_1", event_type="post.published", body="{}")
    assert await store.fan_out("c", upto=events[-1].id, deliveries=[delivery], now=T0) == 1
    assert await store.fan_out("c", upto=events[-1].id, deliveries=[delivery], now=T0) == 0
    assert await store.cursor("c") == events[-1].id
    assert await store.events_after(events[-1].id, limit=10) == []


async def test_a_delivery_is_retried_then_delivered_and_failures_disable_the_subscription(storage: Storage) -> None:
    store = serve_store(storage)
    await store.add_webhook(hook())
    await store.queue_delivery(NewDelivery(id="d1", webhook_id="w1", event_id="e1", event_type="t", body="{}"),
                               now=T0)
    [due] = await store.claim_deliveries(now=T0, lease_until=T0 + timedelta(seconds=60), limit=10)
    assert await store.claim_deliveries(now=T0, lease_until=T0 + timedelta(seconds=60), limit=10) == []
    await store.record_attempt(due, now=T0, status_code=500, response_ms=3, error="HTTP 500", state="pending",
                               next_at=T0 + timedelta(seconds=30))
    assert await store.claim_deliveries(now=T0 + timedelta(seconds=29), lease_until=T0, limit=10) == []
    [again] = await store.claim_deliveries(now=T0 + timedelta(seconds=30), lease_until=T0 + timedelta(hours=1),
                                           limit=10)
    assert again.attempts == 1
    await store.record_attempt(again, now=T0, status_code=200, response_ms=3, error=None, state="delivered",
                               next_at=None)
    assert [a.status_code for a in await store.list_attempts(webhook_id="w1")] == [200, 500]
    for n in range(DISABLE_AFTER):
        await store.queue_delivery(NewDelivery(id=f"f{n}", webhook_id="w1", event_id=f"x{n}", event_type="t",
                                               body="{}"), now=T0)
    for row in await store.claim_deliveries(now=T0, lease_until=T0 + timedelta(hours=1), limit=100):
        await store.record_attempt(row, now=T0, status_code=410, response_ms=1, error="HTTP 410", state="failed",
                                   next_at=None)
    stored = await store.get_webhook("w1")
    assert stored is not None
    assert (stored.failure_count, stored.enabled) == (DISABLE_AFTER, False)
    assert await store.redeliver("w1", "x0", now=T0) is not None
    assert await store.redeliver("w1", "nope", now=T0) is None
