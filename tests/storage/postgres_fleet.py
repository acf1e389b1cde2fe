"""A worker process for the multi-process PostgreSQL tests, and the fake platform it publishes to.

Run as ``python postgres_fleet.py URL ORIGIN`` (URL with ``search_path`` set to the test's schema,
ORIGIN the wall-clock epoch all processes share). It opens a :class:`~crosspost.core.hub.Hub` on
that database and runs ``hub.run_worker(until_idle=True)``.

:class:`FleetPlatform` behaves like TikTok where exactly-once is at stake: ``init`` creates an
upload at the "server" (rows in ``fleet_uploads``, in the same database but outside crosspost's
tables) and is rate limited at 6 per 60 s per account through the engine's shared rate gate;
the job saves the ``publish_id`` right after; completing an upload is idempotent by
``publish_id``; an upload that is never completed never publishes. Access tokens start expired,
so the first job of each account refreshes it under the account lock (``fleet_refreshes``).

Time runs :data:`SCALE` times faster than the wall clock (:class:`ScaledClock`, shared by every
process through ``time.time()``), so a 60 s rate window takes one real second.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import attrs

from crosspost.core import hookimpl
from crosspost.core.engine import RetryPolicy, Timing
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post
from crosspost.core.platform import JobContext, Outcome, Platform, Validation
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings

SCALE = 60.0
"""Virtual seconds per wall-clock second."""
VIRTUAL_ORIGIN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
INIT_LIMIT = 6
INIT_WINDOW = 60.0
KEY_ENV = "FLEET_SECRET_KEY"
TIMING = Timing(lease=120.0, heartbeat=0.3, poll=2.0, idle_horizon=600.0, shutdown_grace=0.0)
"""Virtual seconds, except ``heartbeat`` (wall clock): a lease lasts 2 real seconds, renewed every
0.3; workers stay while anything is due within 10 real seconds (a dead worker's lease ends within 2)."""

FLEET_TABLES = """
CREATE TABLE fleet_uploads (
    publish_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, account TEXT NOT NULL, worker TEXT NOT NULL,
    inited_at TIMESTAMPTZ NOT NULL, published BOOLEAN NOT NULL DEFAULT FALSE);
CREATE TABLE fleet_refreshes (account TEXT NOT NULL, worker TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
CREATE TABLE rate_audit (key TEXT NOT NULL, at TIMESTAMPTZ NOT NULL);
CREATE FUNCTION rate_audit_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO rate_audit (key, at) VALUES (NEW.key, NEW.at); RETURN NEW; END $$;
CREATE TRIGGER rate_audit_copy AFTER INSERT ON rate_events FOR EACH ROW EXECUTE FUNCTION rate_audit_copy();
"""
"""The fake server's tables, and an audit copy of every admission the rate gate records
(``rate_events`` itself forgets old rows)."""


class ScaledClock:
    """Virtual time ``SCALE`` times faster than the wall clock, the same in every process."""

    def __init__(self, origin: float, scale: float = SCALE) -> None:
        self._origin = origin
        self._scale = scale

    def now(self) -> datetime:
        return VIRTUAL_ORIGIN + timedelta(seconds=(time.time() - self._origin) * self._scale)

    def monotonic(self) -> float:
        return time.monotonic() * self._scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self._scale)


class FleetPlatform(Platform):
    """See the module docstring."""

    name = "fleet"
    needs_account = True

    def __init__(self, url: str, worker: str) -> None:
        self._url = url
        self._worker = worker
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._rng = random.Random()

    async def _server(self) -> asyncpg.Pool[asyncpg.Record]:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=4)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def _pause(self) -> None:
        # Widen the windows a SIGKILL can land in (between init and save, save and complete).
        await asyncio.sleep(self._rng.uniform(0.0, 0.01))

    async def _fresh_token(self, ctx: JobContext) -> None:
        assert ctx.account is not None
        if not _expired(await ctx.account.get(), ctx.clock.now()):
            return
        async with ctx.account.lock():
            account = await ctx.account.get()
            if not _expired(account, ctx.clock.now()):
                return
            server = await self._server()
            await server.execute("INSERT INTO fleet_refreshes (account, worker, at) VALUES ($1, $2, $3)",
                                 account.name, self._worker, ctx.clock.now())
            await ctx.account.update(attrs.evolve(
                account, secrets={**account.secrets, "access_token": uuid.uuid4().hex},
                access_expires_at=ctx.clock.now() + timedelta(hours=24)))

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        assert ctx.target.account is not None
        await self._fresh_token(ctx)
        server = await self._server()
        publish_id = ctx.checkpoint.get("publish_id")
        if publish_id is None:
            await ctx.rate.acquire(f"fleet:init:{ctx.target.account}", limit=INIT_LIMIT, window=INIT_WINDOW)
            publish_id = uuid.uuid4().hex
            await server.execute(
                """INSERT INTO fleet_uploads (publish_id, job_id, account, worker, inited_at)
                   VALUES ($1, $2, $3, $4, $5)""",
                publish_id, ctx.job_id, ctx.target.account, self._worker, ctx.clock.now())
            await self._pause()
            await ctx.save({"publish_id": publish_id}, status=JobStatus.PROCESSING)
        await self._pause()
        await server.execute("UPDATE fleet_uploads SET published = TRUE WHERE publish_id = $1", publish_id)
        await self._pause()
        return Outcome(status=JobStatus.PUBLISHED, publish_id=publish_id)


def _expired(account: object, now: datetime) -> bool:
    expires = getattr(account, "access_expires_at", None)
    return expires is None or expires <= now


def fleet_plugin(platform: Platform) -> object:
    class _Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[Platform], None]) -> None:
            register(platform)

    return _Plugin()


def secret_box() -> SecretBox:
    return SecretBox(base64.urlsafe_b64decode(os.environ[KEY_ENV]))


def open_fleet_hub(url: str, origin: float, platform: FleetPlatform, data_dir: Path, *,
                   concurrency: int = 8) -> contextlib.AbstractAsyncContextManager[Hub]:
    """``Hub.open(...)`` on ``url`` with the fleet platform, the scaled clock and test timing."""
    settings = Settings(db=url, data_dir=data_dir, concurrency=concurrency)
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[fleet_plugin(platform)]))
    return Hub.open(settings, hooks=hooks, clock=ScaledClock(origin), secret_box=secret_box(), timing=TIMING,
                    retry=RetryPolicy())


async def run_worker(url: str, origin: float) -> None:
    worker = f"pid{os.getpid()}"
    platform = FleetPlatform(url, worker)
    try:
        async with open_fleet_hub(url, origin, platform, Path.cwd()) as hub:
            await hub.run_worker(until_idle=True)
    finally:
        await platform.close()


if __name__ == "__main__":
    asyncio.run(run_worker(sys.argv[1], float(sys.argv[2])))
