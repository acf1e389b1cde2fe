"""What the PostgreSQL backend adds to the storage contract: migrations, URLs and pools,
sharing across connection pools (as separate processes would), and LISTEN/NOTIFY wake-ups.

Every test runs in its own fresh schema and skips, saying how to run it, without a server.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage import open_storage
from crosspost.storage.base import NewJob, NewPost
from crosspost.storage.postgres import PostgresStorage, connect
from crosspost.storage.postgres.connection import display_url, split_url
from crosspost.storage.postgres.migrations import MIGRATIONS
from tests.storage.postgres_schemas import fresh_schema, server_url

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with fresh_schema() as url:
        yield url


@pytest.fixture
async def pg(pg_url: str) -> AsyncIterator[PostgresStorage]:
    storage = await connect(pg_url)
    try:
        yield storage
    finally:
        await storage.close()


def new_post(post_id: str, jobs: int = 1, *, run_at: datetime = T0) -> NewPost:
    targets = [Target(platform="fake", account=f"a{i}") for i in range(jobs)]
    post = Post(content=post_id, targets=targets)
    status = JobStatus.SCHEDULED if run_at > T0 else JobStatus.QUEUED
    return NewPost(id=post_id, post=post, created_at=T0,
                   jobs=tuple(NewJob(id=f"{post_id}-{i}", target=t, status=status, run_at=run_at)
                              for i, t in enumerate(targets)))


async def tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_open_storage_selects_postgres_for_postgresql_and_postgres_urls(pg_url: str) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://", 1)):
        storage = await open_storage(url)
        try:
            assert isinstance(storage, PostgresStorage)
            assert storage.backend == "postgresql"
        finally:
            await storage.close()


async def test_migrations_are_explicit_recorded_by_name_and_applied_once(pg_url: str) -> None:
    names = [m.name for m in MIGRATIONS]
    unmigrated = await connect(pg_url, migrate=False)
    try:
        assert await unmigrated.pending_migrations() == names
        assert await tables(pg_url) == set(), "checking the schema must not create anything"
        results = await asyncio.gather(*(unmigrated.migrate() for _ in range(4)))
        assert sorted(n for applied in results for n in applied) == sorted(names), "each applied exactly once"
        assert await unmigrated.pending_migrations() == []
        assert await unmigrated.applied_migrations() == names
        assert {"posts", "jobs", "events", "accounts", "rate_events", "locks", "crosspost_migrations"} <= \
            await tables(pg_url)
    finally:
        await unmigrated.close()


async def test_processes_migrating_one_new_schema_at_once_apply_each_migration_once(pg_url: str) -> None:
    storages = await asyncio.gather(*(connect(pg_url, migrate=False) for _ in range(3)))
    try:
        results = await asyncio.gather(*(s.migrate() for s in storages))
        assert Counter(n for applied in results for n in applied) == Counter(m.name for m in MIGRATIONS)
    finally:
        await asyncio.gather(*(s.close() for s in storages))


def test_pool_size_is_read_from_the_url_and_removed_before_connecting() -> None:
    url, size = split_url("postgresql://u@db.example:5432/crosspost?pool_size=25&search_path=cp")
    assert size == 25
    assert url == "postgresql://u@db.example:5432/crosspost?search_path=cp"
    assert split_url("postgresql://u@h/d") == ("postgresql://u@h/d", None)
    with pytest.raises(ConfigError, match="pool_size in the database URL must be a whole number"):
        split_url("postgresql://u@h/d?pool_size=zero")


async def test_pool_size_comes_from_the_url_else_the_environment(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sized = await connect(f"{pg_url}&pool_size=3")
    assert sized.pool_size == 3
    await sized.close()
    monkeypatch.setenv("CROSSPOST_DB_POOL_SIZE", "4")
    from_env = await connect(pg_url)
    assert from_env.pool_size == 4
    await from_env.close()


def test_reprs_and_messages_never_show_the_password() -> None:
    assert display_url("postgresql://app:hunter2@db:5432/cp") == "postgresql://app:***@db:5432/cp"


async def test_an_unreachable_server_is_a_config_error_naming_the_url_without_its_password() -> None:
    server_url()  # skip like the others when PostgreSQL tests are off
    with pytest.raises(ConfigError) as caught:
        await connect("postgresql://app:hunter2@127.0.0.1:1/cp")
    assert "postgresql://app:***@127.0.0.1:1/cp" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "CROSSPOST_DB" in str(caught.value)


async def test_a_search_path_without_an_existing_schema_is_refused_with_the_fix() -> None:
    url = server_url()
    with pytest.raises(ConfigError, match="CREATE SCHEMA"):
        await connect(url, server_settings={"search_path": "no_such_schema_here"})


async def test_claims_from_separate_pools_hand_each_job_to_exactly_one_worker(pg_url: str, pg: PostgresStorage) -> None:
    for n in range(50):
        await pg.insert_post(new_post(f"p{n:02}", jobs=4))
    workers = [await connect(pg_url, pool_size=3) for _ in range(4)]

    async def drain(storage: PostgresStorage, owner: str) -> list[str]:
        claimed = []
        while (job := await storage.claim_job(owner, now=T0, lease_until=T0 + LEASE)) is not None:
            claimed.append(job.id)
        return claimed

    try:
        results = await asyncio.gather(*(drain(w, f"w{i}-{t}") for i, w in enumerate(workers) for t in range(3)))
    finally:
        await asyncio.gather(*(w.close() for w in workers))
    claimed = [job for result in results for job in result]
    assert len(claimed) == 200
    assert len(set(claimed)) == 200, "no job was handed out twice"


async def test_rate_window_holds_under_concurrent_callers_from_separate_pools(pg_url: str, pg: PostgresStorage) -> None:
    workers = [await connect(pg_url, pool_size=4) for _ in range(4)]
    try:
        waits = await asyncio.gather(*(w.try_acquire_rate("tiktok:init:tok", limit=6, window=60.0, now=T0)
                                       for w in workers for _ in range(5)))
    finally:
        await asyncio.gather(*(w.close() for w in workers))
    assert sum(w == 0.0 for w in waits) == 6, "exactly the limit is admitted, however the calls race"
    assert all(w == pytest.approx(60.0) for w in waits if w)
    assert await pg.rate_usage("tiktok:init:tok", window=60.0, now=T0) == 6


async def test_account_lock_has_one_holder_across_pools(pg_url: str, pg: PostgresStorage) -> None:
    workers = [await connect(pg_url, pool_size=2) for _ in range(4)]
    try:
        taken = await asyncio.gather(*(w.try_lock("account:tiktok:main", f"owner{i}", until=T0 + LEASE, now=T0)
                                       for i, w in enumerate(workers)))
    finally:
        await asyncio.gather(*(w.close() for w in workers))
    assert sum(taken) == 1


async def test_an_idle_worker_is_woken_when_another_process_queues_work(pg_url: str, pg: PostgresStorage) -> None:
    other = await connect(pg_url)
    try:
        assert await pg.wait_for_work(0.0), "a fresh listener may have missed work: it says so at once"
        assert not await pg.wait_for_work(0.05), "nothing happened: the wait times out"
        waiting = asyncio.create_task(pg.wait_for_work(30.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await other.insert_post(new_post("p1"))
        assert await asyncio.wait_for(waiting, 10.0)
        assert not await pg.wait_for_work(0.05), "one notification wakes one round of waiting"
    finally:
        await other.close()


async def test_a_released_job_and_an_unblocked_account_wake_idle_workers(pg_url: str, pg: PostgresStorage) -> None:
    await pg.insert_post(new_post("p1"))
    other = await connect(pg_url)
    try:
        assert await pg.wait_for_work(0.0), "starts listening (the insert came before it)"
        job = await other.claim_job("w1", now=T0, lease_until=T0 + LEASE)
        assert job is not None
        assert job.lease is not None
        assert not await pg.wait_for_work(0.05), "a claim is no new work"
        await other.release_job(job.lease, status=JobStatus.DEFERRED, run_at=T0, attempts=0, now=T0,
                                blocked_on="account:fake:a0")
        assert await pg.wait_for_work(10.0)
        assert await other.unblock_jobs("account:fake:a0", now=T0) == 1
        assert await pg.wait_for_work(10.0)
    finally:
        await other.close()


async def test_a_naive_datetime_is_refused(pg: PostgresStorage) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await pg.claim_job("w1", now=datetime(2026, 3, 1, 12, 0), lease_until=T0)


async def test_a_webhook_finds_its_job_by_publish_id_through_an_index(pg_url: str) -> None:
    storage = await connect(pg_url)
    await storage.close()
    conn = await asyncpg.connect(pg_url)
    try:
        await conn.execute("SET enable_seqscan = off")  # an empty table: ask whether the index can serve it
        plan = await conn.fetch("EXPLAIN SELECT * FROM jobs WHERE publish_id = $1 "
                                "ORDER BY created_at DESC, id DESC LIMIT 1", "v_1")
    finally:
        await conn.close()
    assert "jobs_publish_id" in " ".join(row[0] for row in plan)


async def test_a_released_connection_is_not_reset_with_a_round_trip_but_keeps_its_schema(
        pg: PostgresStorage) -> None:
    sent: list[str] = []
    async with pg._pool.acquire() as conn:
        conn.add_query_logger(lambda record: sent.append(record.query))
        await conn.fetchval("SELECT 1")
    # Released: asyncpg's default reset would have sent RESET ALL / UNLISTEN * here.
    assert sent == ["SELECT 1"]
    await pg.insert_post(new_post("p1"))
    async with pg._pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM posts") == 1, "search_path kept across releases"


async def test_a_connection_released_inside_a_transaction_is_rolled_back(pg: PostgresStorage) -> None:
    conn = await pg._pool.acquire()
    await conn.execute("BEGIN")
    await conn.execute("INSERT INTO locks (name, owner, until) VALUES ('left', 'me', now())")
    await pg._pool.release(conn)
    async with pg._pool.acquire() as again:
        assert not again.is_in_transaction()
    assert await pg._pool.fetchval("SELECT count(*) FROM locks WHERE name = 'left'") == 0


async def test_a_checkpoint_saved_as_not_durable_commits_without_waiting_for_the_wal_flush(
        pg_url: str, pg: PostgresStorage) -> None:
    await pg.insert_post(new_post("p1"))
    job = await pg.claim_job("w", now=T0, lease_until=T0 + LEASE)
    assert job is not None
    assert job.lease is not None
    probe = await asyncpg.connect(pg_url)

    async def wal_syncs() -> int:
        """The cluster's WAL flushes so far (pg_stat_wal), with this server's own counts flushed."""
        await probe.execute("SELECT pg_stat_force_next_flush()")
        await probe.execute("SELECT 1")
        return int(await probe.fetchval("SELECT wal_sync FROM pg_stat_wal"))

    async def saves(durable: bool) -> int:
        before = await wal_syncs()
        for chunk in range(20):
            assert await pg.save_checkpoint(job.lease, {"next_chunk": chunk}, status=None, now=T0,
                                            lease_until=T0 + LEASE, durable=durable)
        await pg._pool.execute("SELECT pg_stat_force_next_flush()")  # the pool's backends report too
        return await wal_syncs() - before

    try:
        flushed, unflushed = await saves(True), await saves(False)
    finally:
        await probe.close()
    assert flushed >= 20, "each durable save waited for its own flush"
    assert unflushed < 10, f"{unflushed} flushes for 20 saves that need none (the WAL writer's own are few)"
    stored = await pg.get_job(job.id)
    assert stored is not None
    assert stored.checkpoint == {"next_chunk": 19}
