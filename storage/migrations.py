"""The SQLite schema as named, ordered migrations, recorded in a table when applied (llm's way).

Never edit a migration that shipped: add a new one. Each migration runs in its own
``BEGIN IMMEDIATE`` transaction together with the row recording it, so two processes opening
the same database at once apply each migration exactly once, and a crash leaves either all of a
migration or none of it. Times are stored as INTEGER microseconds since the epoch (UTC), so
they round-trip exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]

TABLE = "_crosspost_migrations"
MIGRATIONS: list[tuple[str, Migration]] = []
"""Every migration, in the order they apply."""


def migration(fn: Migration) -> Migration:
    """Register ``fn`` as the next migration, named after the function."""
    MIGRATIONS.append((getattr(fn, "__name__", repr(fn)), fn))
    return fn


async def _run(db: aiosqlite.Connection, *statements: str) -> None:
    for sql in statements:
        await db.execute(sql)


@migration
async def m001_posts_jobs_events(db: aiosqlite.Connection) -> None:
    await _run(
        db,
        """CREATE TABLE posts (
            id TEXT PRIMARY KEY,
            idempotency_key TEXT UNIQUE,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )""",
        "CREATE INDEX posts_created ON posts (created_at)",
        """CREATE TABLE jobs (
            id TEXT PRIMARY KEY,
            post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            target TEXT NOT NULL,
            status TEXT NOT NULL,
            run_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_token INTEGER NOT NULL DEFAULT 0,
            lease_until INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            blocked_on TEXT,
            checkpoint TEXT NOT NULL DEFAULT '{}',
            publish_id TEXT,
            post_url TEXT,
            warnings TEXT NOT NULL DEFAULT '[]',
            error TEXT,
            started_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            finished_at INTEGER,
            UNIQUE (post_id, target)
        )""",
        # The claim query reads these two partial indexes (waiting jobs by due time, running
        # jobs by lease expiry); terminal jobs are in neither, so claims stay cheap as history grows.
        """CREATE INDEX jobs_waiting ON jobs (run_at)
           WHERE status IN ('scheduled', 'queued', 'deferred') AND blocked_on IS NULL""",
        """CREATE INDEX jobs_leased ON jobs (lease_until)
           WHERE status IN ('validating', 'uploading', 'processing')""",
        "CREATE INDEX jobs_post ON jobs (post_id, position)",
        "CREATE INDEX jobs_blocked ON jobs (blocked_on) WHERE blocked_on IS NOT NULL",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            kind TEXT NOT NULL,
            post_id TEXT NOT NULL,
            job_id TEXT,
            data TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE INDEX events_post ON events (post_id, id)",
    )


@migration
async def m002_accounts(db: aiosqlite.Connection) -> None:
    await _run(
        db,
        """CREATE TABLE accounts (
            platform TEXT NOT NULL,
            name TEXT NOT NULL,
            secrets BLOB NOT NULL,
            profile TEXT NOT NULL DEFAULT '{}',
            scopes TEXT NOT NULL DEFAULT '[]',
            access_expires_at INTEGER,
            refresh_expires_at INTEGER,
            needs_login INTEGER NOT NULL DEFAULT 0,
            login_reason TEXT,
            version INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (platform, name)
        )""",
    )


@migration
async def m003_rate_events_and_locks(db: aiosqlite.Connection) -> None:
    await _run(
        db,
        """CREATE TABLE rate_events (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL,
            at INTEGER NOT NULL
        )""",
        "CREATE INDEX rate_events_key_at ON rate_events (key, at)",
        """CREATE TABLE locks (
            name TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            until INTEGER NOT NULL
        )""",
    )


@migration
async def m004_jobs_publish_id_index(db: aiosqlite.Connection) -> None:
    # Webhooks find their job by the platform's publish id (find_job_by_publish_id): without an
    # index that is a scan of every job ever run. Partial: most rows never get a publish id.
    await _run(db, "CREATE INDEX jobs_publish_id ON jobs (publish_id, created_at) WHERE publish_id IS NOT NULL")


@migration
async def m005_metrics(db: aiosqlite.Connection) -> None:
    from crosspost.storage.sqlite_metrics import SCHEMA

    await _run(db, *SCHEMA)


from crosspost.storage.serve_tables import sqlite_migration as _serve_tables  # noqa: E402

MIGRATIONS.append(("m006_serve_tables", _serve_tables))
"""``crosspost serve``'s tables (API keys, idempotency, post records, webhooks and deliveries)."""


@migration
async def m007_unknown_status(db: aiosqlite.Connection) -> None:
    # The state whose outcome cannot be known is called "unknown" where users read it (issue 12
    # item 8); it was stored as "uncertain". Old rows are renamed so a filter on the new name
    # finds them; the model still reads "uncertain" from exports of older versions.
    await _run(
        db,
        "UPDATE jobs SET status = 'unknown' WHERE status = 'uncertain'",
        "UPDATE events SET kind = 'unknown' WHERE kind = 'uncertain'",
    )


def names() -> list[str]:
    """Every migration's name, in order (a database with all of them pending is new)."""
    return [name for name, _ in MIGRATIONS]


async def applied(db: aiosqlite.Connection) -> list[str]:
    """Names of the migrations already applied (empty for a new database)."""
    await db.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    async with db.execute(f"SELECT name FROM {TABLE} ORDER BY rowid") as cursor:
        return [row[0] async for row in cursor]


async def pending(db: aiosqlite.Connection) -> list[str]:
    done = set(await applied(db))
    return [name for name, _ in MIGRATIONS if name not in done]


async def apply(db: aiosqlite.Connection, *, upto: str | None = None) -> list[str]:
    """Apply every pending migration (through ``upto`` when given); return the names applied.

    ``db`` must be in autocommit mode (``isolation_level=None``): each migration commits alone.
    """
    names = [name for name, _ in MIGRATIONS]
    if upto is not None and upto not in names:
        raise ValueError(f"unknown migration {upto!r}; known: {', '.join(names)}")
    done: list[str] = []
    await applied(db)
    for name, fn in MIGRATIONS:
        try:
            await db.execute("BEGIN IMMEDIATE")
            async with db.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", (name,)) as cursor:
                already = await cursor.fetchone() is not None
            if not already:
                await fn(db)
                await db.execute(f"INSERT INTO {TABLE} (name, applied_at) VALUES (?, ?)",
                                 (name, datetime.now(UTC).isoformat()))
                done.append(name)
            await db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.OperationalError):
                await asyncio.shield(db.execute("ROLLBACK"))
            raise
        if name == upto:
            break
    return done
