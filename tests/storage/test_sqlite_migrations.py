"""SQLite's schema: named migrations recorded in a table, upgrades from older schemas, pragmas."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.models import JobStatus
from crosspost.storage import migrations, open_storage
from crosspost.storage.sqlite import SqliteStorage, connect

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T0_US = int(T0.timestamp()) * 1_000_000


async def test_a_new_database_gets_every_migration_recorded_by_name(tmp_path: Path) -> None:
    storage = await connect(str(tmp_path / "new.db"))
    try:
        assert await storage.pending_migrations() == []
        assert await storage.migrate() == [], "migrating an up-to-date database is a no-op"
    finally:
        await storage.close()
    with sqlite3.connect(tmp_path / "new.db") as db:
        names = [r[0] for r in db.execute(f"SELECT name FROM {migrations.TABLE} ORDER BY rowid")]
    assert names == [name for name, _ in migrations.MIGRATIONS]
    assert names[0].startswith("m001_")


async def test_upgrading_a_database_from_the_first_schema_keeps_its_posts(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        applied = await migrations.apply(db, upto="m001_posts_jobs_events")
        assert applied == ["m001_posts_jobs_events"]
        body = {"content": "from an old version", "targets": ["fake:main"], "media": [], "scheduled_at": "now",
                "timezone": None, "idempotency_key": None, "target_options": {}}
        await db.execute("INSERT INTO posts (id, idempotency_key, body, created_at, updated_at) VALUES (?,?,?,?,?)",
                         ("old1", None, json.dumps(body), T0_US, T0_US))
        await db.execute("""INSERT INTO jobs (id, post_id, position, target, status, run_at, created_at, updated_at)
                            VALUES ('j1', 'old1', 0, 'fake:main', 'queued', ?, ?, ?)""", (T0_US, T0_US, T0_US))
        with pytest.raises(sqlite3.OperationalError, match="no such table: accounts"):
            await db.execute("SELECT * FROM accounts")

    storage = await connect(str(path), migrate=False)
    try:
        later = ["m002_accounts", "m003_rate_events_and_locks", "m004_jobs_publish_id_index",
                  "m005_metrics", "m006_serve_tables", "m007_unknown_status"]
        assert await storage.pending_migrations() == later
        assert await storage.migrate() == later
        row = await storage.get_post("old1")
        assert row is not None
        assert row.post.content == "from an old version"
        assert row.jobs[0].status is JobStatus.QUEUED
        assert row.jobs[0].run_at == T0
        assert await storage.list_accounts() == []
        assert await storage.try_acquire_rate("k", limit=1, window=1, now=T0) == 0.0
    finally:
        await storage.close()


async def test_processes_opening_one_new_database_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    path = str(tmp_path / "race.db")
    opened = await asyncio.gather(*(connect(path) for _ in range(4)))
    for storage in opened:
        assert await storage.pending_migrations() == []
        await storage.close()
    with sqlite3.connect(path) as db:
        count = db.execute(f"SELECT COUNT(*) FROM {migrations.TABLE}").fetchone()[0]
    assert count == len(migrations.MIGRATIONS)


async def test_unknown_target_migration_is_refused(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "x.db", isolation_level=None) as db:
        with pytest.raises(ValueError, match="unknown migration"):
            await migrations.apply(db, upto="m999_nothing")


async def test_connection_uses_wal_a_busy_timeout_and_full_sync(tmp_path: Path) -> None:
    storage = await open_storage(f"sqlite:///{tmp_path / 'p.db'}")
    assert isinstance(storage, SqliteStorage)
    try:
        db = storage._db
        async with db.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
        # The loop's calls never wait in SQLite's busy handler; they pause on the loop instead,
        # for up to the configured timeout (tests/storage/test_sqlite_on_loop.py).
        async with db.execute("PRAGMA busy_timeout") as cur:
            assert (await cur.fetchone())[0] == 0
        assert storage._patience_s >= 10
        # FULL durability, with the flush done by WalSync rather than inside SQLite's commit.
        assert storage.synchronous == "FULL"
        assert storage._sync is not None
        async with db.execute("PRAGMA synchronous") as cur:
            assert (await cur.fetchone())[0] == 1  # NORMAL: the commit itself does not flush
        async with db.execute("PRAGMA foreign_keys") as cur:
            assert (await cur.fetchone())[0] == 1
    finally:
        await storage.close()


async def test_open_storage_reads_paths_and_urls_and_names_unknown_schemes(tmp_path: Path) -> None:
    nested = tmp_path / "deep" / "er" / "crosspost.db"
    storage = await open_storage(str(nested))
    await storage.close()
    assert nested.exists(), "the data folder is created on first use"
    with pytest.raises(ConfigError, match="unknown database URL scheme 'mysql'"):
        await open_storage("mysql://localhost/db")


async def test_a_webhook_finds_its_job_by_publish_id_through_an_index(tmp_path: Path) -> None:
    path = str(tmp_path / "indexed.db")
    storage = await connect(path)
    await storage.close()
    with sqlite3.connect(path) as db:
        plan = db.execute("EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE publish_id = ? "
                          "ORDER BY created_at DESC, id DESC LIMIT 1", ("v_1",)).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "USING INDEX jobs_publish_id" in details, details
