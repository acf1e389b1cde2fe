"""What ``crosspost serve`` stores besides posts and jobs: API keys, idempotency records, the
serve-side post records (drafts, dialect, metadata), webhook subscriptions and their deliveries.

One SQL text serves both backends: times are INTEGER microseconds since the epoch (UTC), JSON is
TEXT, booleans are INTEGER, and ``?`` placeholders are renumbered to ``$n`` for PostgreSQL
(:mod:`crosspost.storage.postgres.serve` holds that adapter and its migration). Each method is one
transaction. The *outbox* is the engine's own event log (``events``), written in the same
transaction as every job state change; :meth:`ServeStore.fan_out` turns new log entries into
deliveries and moves the read cursor in one transaction, so no event is lost or fanned out twice
(``UNIQUE (webhook_id, event_id)`` absorbs a repeated fan-out after a crash).

Secrets: API keys are stored as SHA-256 hashes only; webhook signing secrets arrive here already
sealed by the caller (the hub's SecretBox), never in plaintext.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs

from crosspost.storage.base import EventRow


def ts(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def from_ts(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def _at(value: int) -> datetime:
    result = from_ts(value)
    assert result is not None
    return result


@attrs.frozen(kw_only=True)
class ApiKeyRow:
    id: str
    name: str
    prefix: str
    """The key's first characters, shown in listings so a user can tell keys apart."""
    hash: str = attrs.field(repr=False)
    created_at: datetime
    revoked_at: datetime | None = None


@attrs.frozen(kw_only=True)
class IdempotencyRow:
    scope: str
    key: str
    fingerprint: str
    done: bool
    locked_until: datetime
    status: int | None = None
    body: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ApiPostRow:
    """The server's record of a post it created: which dialect, the draft while it is one, metadata."""

    id: str
    dialect: str
    draft: Mapping[str, Any] | None
    """The crosspost wire request while the post is a draft (not yet given to the engine)."""
    metadata: Mapping[str, Any]
    created_at: datetime
    updated_at: datetime


@attrs.frozen(kw_only=True)
class WebhookRow:
    id: str
    dialect: str
    name: str
    url: str
    secret: bytes = attrs.field(repr=False)
    """Sealed by the caller."""
    events: tuple[str, ...]
    custom_headers: Mapping[str, str]
    enabled: bool
    failure_count: int
    created_at: datetime
    updated_at: datetime


@attrs.frozen(kw_only=True)
class NewDelivery:
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    """The rendered payload, exactly the bytes every attempt sends."""


@attrs.frozen(kw_only=True)
class DeliveryRow:
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    body: str
    state: str
    """``pending``, ``delivered`` or ``failed``."""
    attempts: int
    next_at: datetime
    created_at: datetime


@attrs.frozen(kw_only=True)
class AttemptRow:
    delivery_id: str
    webhook_id: str
    event_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    response_ms: int
    error: str | None
    body: str


TABLES: tuple[str, ...] = (
    """CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT
    )""",
    """CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        locked_until BIGINT NOT NULL,
        status INTEGER,
        body TEXT,
        headers TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        PRIMARY KEY (scope, key)
    )""",
    "CREATE INDEX idempotency_created ON idempotency (created_at)",
    """CREATE TABLE api_posts (
        id TEXT PRIMARY KEY,
        dialect TEXT NOT NULL,
        draft TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )""",
    """CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        dialect TEXT NOT NULL,
        name TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        events TEXT NOT NULL DEFAULT '[]',
        custom_headers TEXT NOT NULL DEFAULT '{}',
        enabled INTEGER NOT NULL DEFAULT 1,
        failure_count INTEGER NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
    )""",
    """CREATE TABLE webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at BIGINT NOT NULL,
        created_at BIGINT NOT NULL,
        UNIQUE (webhook_id, event_id)
    )""",
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending'",
    """CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at BIGINT NOT NULL,
        status_code INTEGER,
        response_ms INTEGER NOT NULL,
        error TEXT,
        PRIMARY KEY (delivery_id, attempt)
    )""",
    """CREATE TABLE serve_cursors (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )""",
)
"""The serve tables, the same DDL on SQLite and PostgreSQL."""

DISABLE_AFTER = 10
"""Consecutive failed events after which a subscription is disabled (Zernio's number)."""


class Tx(Protocol):
    """One open transaction, whatever the backend."""

    async def fetch(self, sql: str, *args: Any) -> list[Mapping[str, Any]]: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; the number of rows it changed."""
        ...


class Transactions(Protocol):
    def tx(self) -> contextlib.AbstractAsyncContextManager[Tx]: ...

    def engine_time(self, value: datetime) -> Any:
        """``value`` as the engine's own tables store times (SQLite: microseconds; PostgreSQL: timestamptz)."""
        ...

    def engine_json(self, value: Mapping[str, Any]) -> Any:
        """``value`` as the engine's JSON columns take it (SQLite: text; PostgreSQL: jsonb, encoded by the pool)."""
        ...


class ServeStore:
    """The serve tables over one backend's transactions."""

    def __init__(self, db: Transactions) -> None:
        self._db = db

    # -- API keys ----------------------------------------------------------------------------

    async def add_api_key(self, row: ApiKeyRow) -> bool:
        async with self._db.tx() as tx:
            return await tx.execute(
                "INSERT INTO api_keys (id, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING", row.id, row.name, row.prefix, row.hash, ts(row.created_at)) == 1

    async def find_api_key(self, digest: str) -> ApiKeyRow | None:
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT * FROM api_keys WHERE hash = ? AND revoked_at IS NULL", digest)
        return _key(rows[0]) if rows else None

    async def list_api_keys(self) -> list[ApiKeyRow]:
        async with self._db.tx() as tx:
            return [_key(r) for r in await tx.fetch("SELECT * FROM api_keys ORDER BY created_at, name")]

    async def revoke_api_key(self, name_or_id: str, *, now: datetime) -> bool:
        async with self._db.tx() as tx:
            return await tx.execute("UPDATE api_keys SET revoked_at = ? WHERE (name = ? OR id = ?) "
                                    "AND revoked_at IS NULL", ts(now), name_or_id, name_or_id) > 0

    # -- idempotency -------------------------------------------------------------------------

    async def claim_idempotency(self, scope: str, key: str, fingerprint: str, *, now: datetime,
                                until: datetime) -> tuple[str, IdempotencyRow | None]:
        """``("claimed", None)`` when this caller runs the request now; else the stored record and
        ``"replay"`` (same request, done), ``"mismatch"`` (another request under this key) or
        ``"running"`` (the same key is held by a live request). A running record whose holder
        died (``locked_until`` passed) is taken over: the handler must then be idempotent itself."""
        async with self._db.tx() as tx:
            if await tx.execute(
                    "INSERT INTO idempotency (scope, key, fingerprint, locked_until, created_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    scope, key, fingerprint, ts(until), ts(now)) == 1:
                return "claimed", None
            rows = await tx.fetch("SELECT * FROM idempotency WHERE scope = ? AND key = ?", scope, key)
            row = _idem(rows[0])
            if row.fingerprint != fingerprint:
                return "mismatch", row
            if row.done:
                return "replay", row
            if row.locked_until > now:
                return "running", row
            await tx.execute("UPDATE idempotency SET locked_until = ? WHERE scope = ? AND key = ?",
                             ts(until), scope, key)
            return "claimed", None

    async def complete_idempotency(self, scope: str, key: str, *, status: int, body: str,
                                   headers: Mapping[str, str]) -> None:
        async with self._db.tx() as tx:
            await tx.execute("UPDATE idempotency SET done = 1, status = ?, body = ?, headers = ? "
                             "WHERE scope = ? AND key = ?", status, body, json.dumps(dict(headers)), scope, key)

    async def forget_idempotency(self, scope: str, key: str) -> None:
        """Drop a claim whose request was refused, so the key may carry a corrected request."""
        async with self._db.tx() as tx:
            await tx.execute("DELETE FROM idempotency WHERE scope = ? AND key = ? AND done = 0", scope, key)

    async def expire_idempotency(self, *, before: datetime) -> int:
        async with self._db.tx() as tx:
            return await tx.execute("DELETE FROM idempotency WHERE created_at < ?", ts(before))

    # -- the server's post records -----------------------------------------------------------

    async def put_api_post(self, row: ApiPostRow) -> None:
        async with self._db.tx() as tx:
            await tx.execute(
                "INSERT INTO api_posts (id, dialect, draft, metadata, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET draft = excluded.draft, "
                "metadata = excluded.metadata, updated_at = excluded.updated_at",
                row.id, row.dialect, None if row.draft is None else json.dumps(dict(row.draft)),
                json.dumps(dict(row.metadata)), ts(row.created_at), ts(row.updated_at))

    async def get_api_post(self, post_id: str) -> ApiPostRow | None:
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT * FROM api_posts WHERE id = ?", post_id)
        return _api_post(rows[0]) if rows else None

    async def list_drafts(self, *, limit: int) -> list[ApiPostRow]:
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT * FROM api_posts WHERE draft IS NOT NULL "
                                  "ORDER BY created_at DESC, id DESC LIMIT ?", limit)
        return [_api_post(r) for r in rows]

    async def count_posts(self) -> int:
        """Engine posts plus drafts (for the dialects' ``total``)."""
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT (SELECT COUNT(*) FROM posts) + "
                                  "(SELECT COUNT(*) FROM api_posts WHERE draft IS NOT NULL) AS n")
        return int(rows[0]["n"])

    async def delete_api_post(self, post_id: str) -> bool:
        async with self._db.tx() as tx:
            return await tx.execute("DELETE FROM api_posts WHERE id = ?", post_id) > 0

    # -- webhook subscriptions ---------------------------------------------------------------

    async def add_webhook(self, row: WebhookRow) -> None:
        async with self._db.tx() as tx:
            await tx.execute(
                "INSERT INTO webhooks (id, dialect, name, url, secret, events, custom_headers, enabled, "
                "failure_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row.id, row.dialect, row.name, row.url, row.secret.decode("ascii"), json.dumps(list(row.events)),
                json.dumps(dict(row.custom_headers)), int(row.enabled), row.failure_count,
                ts(row.created_at), ts(row.updated_at))

    async def update_webhook(self, row: WebhookRow) -> bool:
        async with self._db.tx() as tx:
            return await tx.execute(
                "UPDATE webhooks SET name = ?, url = ?, secret = ?, events = ?, custom_headers = ?, enabled = ?, "
                "failure_count = ?, updated_at = ? WHERE id = ?",
                row.name, row.url, row.secret.decode("ascii"), json.dumps(list(row.events)),
                json.dumps(dict(row.custom_headers)), int(row.enabled), row.failure_count, ts(row.updated_at),
                row.id) > 0

    async def get_webhook(self, webhook_id: str) -> WebhookRow | None:
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT * FROM webhooks WHERE id = ?", webhook_id)
        return _webhook(rows[0]) if rows else None

    async def list_webhooks(self, *, dialect: str | None = None) -> list[WebhookRow]:
        async with self._db.tx() as tx:
            if dialect is None:
                rows = await tx.fetch("SELECT * FROM webhooks ORDER BY created_at, id")
            else:
                rows = await tx.fetch("SELECT * FROM webhooks WHERE dialect = ? ORDER BY created_at, id", dialect)
        return [_webhook(r) for r in rows]

    async def delete_webhook(self, webhook_id: str) -> bool:
        async with self._db.tx() as tx:
            await tx.execute("DELETE FROM webhook_attempts WHERE delivery_id IN "
                             "(SELECT id FROM webhook_deliveries WHERE webhook_id = ?)", webhook_id)
            await tx.execute("DELETE FROM webhook_deliveries WHERE webhook_id = ?", webhook_id)
            return await tx.execute("DELETE FROM webhooks WHERE id = ?", webhook_id) > 0

    # -- the outbox --------------------------------------------------------------------------

    async def cursor(self, name: str) -> int:
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT value FROM serve_cursors WHERE name = ?", name)
        return int(rows[0]["value"]) if rows else 0

    async def events_after(self, after: int, *, limit: int) -> list[EventRow]:
        """Event-log entries with an id above ``after``, oldest first."""
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT id, at, kind, post_id, job_id, data FROM events WHERE id > ? "
                                  "ORDER BY id LIMIT ?", after, limit)
        return [_event(r) for r in rows]

    async def fan_out(self, name: str, *, upto: int, deliveries: Sequence[NewDelivery], now: datetime) -> int:
        """Queue ``deliveries`` and move cursor ``name`` to ``upto``, in one transaction; the number
        of deliveries newly queued (a delivery already queued for its (webhook, event) is skipped)."""
        queued = 0
        async with self._db.tx() as tx:
            for d in deliveries:
                queued += await tx.execute(
                    "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, next_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    d.id, d.webhook_id, d.event_id, d.event_type, d.body, ts(now), ts(now))
            await tx.execute("INSERT INTO serve_cursors (name, value) VALUES (?, ?) "
                             "ON CONFLICT (name) DO UPDATE SET value = excluded.value", name, upto)
        return queued

    # -- deliveries --------------------------------------------------------------------------

    async def claim_deliveries(self, *, now: datetime, lease_until: datetime, limit: int) -> list[DeliveryRow]:
        """Due pending deliveries, each pushed to ``lease_until`` so no other dispatcher takes it."""
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ? "
                                  "ORDER BY next_at, created_at, id LIMIT ?", ts(now), limit)
            claimed = []
            for row in rows:
                if await tx.execute("UPDATE webhook_deliveries SET next_at = ? WHERE id = ? AND next_at = ?",
                                    ts(lease_until), row["id"], row["next_at"]) == 1:
                    claimed.append(_delivery(row))
        return claimed

    async def record_attempt(self, delivery: DeliveryRow, *, now: datetime, status_code: int | None,
                             response_ms: int, error: str | None, state: str, next_at: datetime | None) -> None:
        """Log one attempt and settle the delivery: ``delivered``, ``failed`` (final) or ``pending``
        again at ``next_at``. A final outcome updates the subscription's consecutive-failure count
        and disables it after :data:`DISABLE_AFTER`."""
        attempt = delivery.attempts + 1
        async with self._db.tx() as tx:
            await tx.execute("INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, response_ms, error) "
                             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                             delivery.id, attempt, ts(now), status_code, response_ms, error)
            await tx.execute("UPDATE webhook_deliveries SET state = ?, attempts = ?, next_at = ? WHERE id = ?",
                             state, attempt, ts(next_at or now), delivery.id)
            if state == "delivered":
                await tx.execute("UPDATE webhooks SET failure_count = 0 WHERE id = ?", delivery.webhook_id)
            elif state == "failed":
                await tx.execute("UPDATE webhooks SET failure_count = failure_count + 1, "
                                 "enabled = CASE WHEN failure_count + 1 >= ? THEN 0 ELSE enabled END WHERE id = ?",
                                 DISABLE_AFTER, delivery.webhook_id)

    async def redeliver(self, webhook_id: str, event_id: str, *, now: datetime) -> DeliveryRow | None:
        """Send that event to that subscription again (same body, same event id); None when unknown."""
        async with self._db.tx() as tx:
            if await tx.execute("UPDATE webhook_deliveries SET state = 'pending', next_at = ? "
                                "WHERE webhook_id = ? AND event_id = ?", ts(now), webhook_id, event_id) == 0:
                return None
            rows = await tx.fetch("SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?",
                                  webhook_id, event_id)
        return _delivery(rows[0])

    async def queue_delivery(self, delivery: NewDelivery, *, now: datetime) -> None:
        """One delivery outside the outbox (``webhook.test``)."""
        async with self._db.tx() as tx:
            await tx.execute(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, next_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                delivery.id, delivery.webhook_id, delivery.event_id, delivery.event_type, delivery.body,
                ts(now), ts(now))

    async def list_attempts(self, *, webhook_id: str | None = None, event_id: str | None = None,
                            limit: int = 100) -> list[AttemptRow]:
        """Newest first."""
        where, args = ["1 = 1"], []
        if webhook_id is not None:
            where.append("d.webhook_id = ?")
            args.append(webhook_id)
        if event_id is not None:
            where.append("d.event_id = ?")
            args.append(event_id)
        async with self._db.tx() as tx:
            rows = await tx.fetch(
                "SELECT a.*, d.webhook_id, d.event_id, d.event_type, d.body FROM webhook_attempts a "
                "JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE " + " AND ".join(where) +
                " ORDER BY a.at DESC, a.attempt DESC LIMIT ?", *args, limit)
        return [AttemptRow(delivery_id=r["delivery_id"], webhook_id=r["webhook_id"], event_id=r["event_id"],
                           event_type=r["event_type"], attempt=r["attempt"], at=_at(r["at"]),
                           status_code=r["status_code"], response_ms=r["response_ms"], error=r["error"],
                           body=r["body"]) for r in rows]

    async def get_delivery(self, delivery_id: str) -> DeliveryRow | None:
        async with self._db.tx() as tx:
            rows = await tx.fetch("SELECT * FROM webhook_deliveries WHERE id = ?", delivery_id)
        return _delivery(rows[0]) if rows else None

    async def list_deliveries(self, *, webhook_id: str | None = None, limit: int = 100) -> list[DeliveryRow]:
        async with self._db.tx() as tx:
            if webhook_id is None:
                rows = await tx.fetch("SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id LIMIT ?", limit)
            else:
                rows = await tx.fetch("SELECT * FROM webhook_deliveries WHERE webhook_id = ? "
                                      "ORDER BY created_at DESC, id LIMIT ?", webhook_id, limit)
        return [_delivery(r) for r in rows]


def _key(r: Mapping[str, Any]) -> ApiKeyRow:
    return ApiKeyRow(id=r["id"], name=r["name"], prefix=r["prefix"], hash=r["hash"], created_at=_at(r["created_at"]),
                     revoked_at=from_ts(r["revoked_at"]))


def _idem(r: Mapping[str, Any]) -> IdempotencyRow:
    return IdempotencyRow(scope=r["scope"], key=r["key"], fingerprint=r["fingerprint"], done=bool(r["done"]),
                          locked_until=_at(r["locked_until"]), status=r["status"], body=r["body"],
                          headers=json.loads(r["headers"] or "{}"))


def _api_post(r: Mapping[str, Any]) -> ApiPostRow:
    return ApiPostRow(id=r["id"], dialect=r["dialect"], draft=None if r["draft"] is None else json.loads(r["draft"]),
                      metadata=json.loads(r["metadata"] or "{}"), created_at=_at(r["created_at"]),
                      updated_at=_at(r["updated_at"]))


def _webhook(r: Mapping[str, Any]) -> WebhookRow:
    return WebhookRow(id=r["id"], dialect=r["dialect"], name=r["name"], url=r["url"],
                      secret=str(r["secret"]).encode("ascii"), events=tuple(json.loads(r["events"])),
                      custom_headers=json.loads(r["custom_headers"]), enabled=bool(r["enabled"]),
                      failure_count=r["failure_count"], created_at=_at(r["created_at"]),
                      updated_at=_at(r["updated_at"]))


def _delivery(r: Mapping[str, Any]) -> DeliveryRow:
    return DeliveryRow(id=r["id"], webhook_id=r["webhook_id"], event_id=r["event_id"], event_type=r["event_type"],
                       body=r["body"], state=r["state"], attempts=r["attempts"], next_at=_at(r["next_at"]),
                       created_at=_at(r["created_at"]))


def _event(r: Mapping[str, Any]) -> EventRow:
    at = r["at"]
    data = r["data"]
    return EventRow(id=int(r["id"]), at=at if isinstance(at, datetime) else _at(at), kind=r["kind"],
                    post_id=r["post_id"], job_id=r["job_id"],
                    data=json.loads(data) if isinstance(data, str) else dict(data or {}))


# -- SQLite ----------------------------------------------------------------------------------


class _SqliteTx:
    def __init__(self, storage: Any, db: Any) -> None:
        self._storage = storage
        self._db = db

    async def fetch(self, sql: str, *args: Any) -> list[Mapping[str, Any]]:
        rows = await self._storage._all(self._db, sql, args)
        return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]

    async def execute(self, sql: str, *args: Any) -> int:
        return int(await self._storage._changes(self._db, sql, args))


class SqliteTransactions:
    """Transactions on a :class:`~crosspost.storage.sqlite.SqliteStorage`'s own connection (its lock
    serialises them with the engine's)."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self._storage._tx() as db:
            yield _SqliteTx(self._storage, db)

    def engine_time(self, value: datetime) -> Any:
        return ts(value)

    def engine_json(self, value: Mapping[str, Any]) -> Any:
        return json.dumps(dict(value))


async def sqlite_migration(db: Any) -> None:
    """``m004_serve_tables``: the serve tables (appended to the SQLite migration list)."""
    for statement in TABLES:
        await db.execute(statement)


def serve_store(storage: Any) -> ServeStore:
    """The serve tables on ``storage``'s backend (SQLite or PostgreSQL)."""
    if storage.backend == "sqlite":
        return ServeStore(SqliteTransactions(storage))
    if storage.backend == "postgresql":
        from crosspost.storage.postgres.serve import PostgresTransactions

        return ServeStore(PostgresTransactions(storage))
    raise ValueError(f"crosspost serve has no tables for the {storage.backend} backend")
