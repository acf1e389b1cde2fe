"""Operating the database from the CLI: workers refuse an older schema, ``migrate`` upgrades it,
``export``/``import`` move everything to PostgreSQL, and no command prints a URL's password."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest
from click.testing import CliRunner, Result

from crosspost.core.models import JobStatus, Post, Target
from crosspost.storage import migrations, open_storage
from crosspost.storage.base import AccountRow, NewJob, NewPost
from tests.cli.cli_support import invoke

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "s3cret-Pw"
LATER_MIGRATIONS = ["m002_accounts", "m003_rate_events_and_locks", "m004_jobs_publish_id_index", "m005_metrics",
                    "m006_serve_tables", "m007_unknown_status"]


def flat(text: str) -> str:
    """``text`` on one line (the terminal wraps long error paragraphs)."""
    return " ".join(text.split())


def first_schema_only(path: Path) -> None:
    """A SQLite database as the first crosspost release left it: only the first migration."""

    async def build() -> None:
        async with aiosqlite.connect(path, isolation_level=None) as db:
            assert await migrations.apply(db, upto="m001_posts_jobs_events") == ["m001_posts_jobs_events"]

    asyncio.run(build())


def pending_sqlite(path: Path) -> list[str]:
    async def look() -> list[str]:
        storage = await open_storage(str(path), migrate=False)
        try:
            return await storage.pending_migrations()
        finally:
            await storage.close()

    return asyncio.run(look())


def test_worker_refuses_an_older_sqlite_schema_and_names_crosspost_migrate(
        runner: CliRunner, db_path: Path) -> None:
    first_schema_only(db_path)
    refused = invoke(runner, "worker", "--until-idle")
    assert refused.exit_code == 2
    message = flat(refused.stderr)
    assert "older crosspost schema" in message
    assert "run `crosspost migrate`" in message
    assert ", ".join(LATER_MIGRATIONS) in message
    assert "Worker running" not in refused.stdout
    assert pending_sqlite(db_path) == LATER_MIGRATIONS, "the refusing worker left the schema alone"


def test_migrate_upgrades_an_older_schema_and_the_worker_then_starts(runner: CliRunner, db_path: Path) -> None:
    first_schema_only(db_path)
    applied = json.loads(invoke(runner, "migrate", "--json").stdout)
    assert applied == {"database": str(db_path), "backend": "sqlite", "pending": [], "applied": LATER_MIGRATIONS}
    worker = invoke(runner, "worker", "--until-idle")
    assert worker.exit_code == 0, worker.output
    assert "Nothing left to do" in worker.stdout


def test_worker_on_a_new_database_creates_the_schema(runner: CliRunner, db_path: Path) -> None:
    worker = invoke(runner, "worker", "--until-idle")
    assert worker.exit_code == 0, worker.output
    assert pending_sqlite(db_path) == []


def test_import_into_sqlite_is_refused_with_the_copy_path(runner: CliRunner, tmp_path: Path) -> None:
    dump = tmp_path / "export.jsonl"
    assert invoke(runner, "export", str(dump)).exit_code == 0
    refused = invoke(runner, "import", str(dump))
    assert refused.exit_code == 2
    assert "import into PostgreSQL" in flat(refused.stderr)


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test server, as a URL carrying a password (trust auth ignores it)."""
    from tests.storage.postgres_schemas import create_schema, drop_schema, new_schema_name, schema_url, server_url

    server = server_url()
    schema = new_schema_name()
    asyncio.run(create_schema(server, schema))
    parts = urllib.parse.urlsplit(schema_url(server, schema))
    netloc = f"{parts.username or 'postgres'}:{PASSWORD}@{parts.hostname}:{parts.port or 5432}"
    try:
        yield urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    finally:
        asyncio.run(drop_schema(server, schema))


def run_pg(runner: CliRunner, url: str, *args: str) -> Result:
    result = invoke(runner, "--db", url, *args)
    assert PASSWORD not in result.stdout + result.stderr, "the database password was printed"
    return result


def roll_back_last_pg_migration(url: str) -> None:
    """Leave the schema one migration behind, as an older crosspost would have left it."""

    async def roll_back() -> None:
        storage = await open_storage(url)
        await storage.close()
        import asyncpg

        from crosspost.storage.postgres.connection import split_url

        conn = await asyncpg.connect(split_url(url)[0])
        try:
            await conn.execute("DROP TABLE rate_events, locks")
            await conn.execute("DELETE FROM crosspost_migrations WHERE name = '0003_rate_events_and_locks'")
        finally:
            await conn.close()

    asyncio.run(roll_back())


@pytest.mark.postgres
def test_worker_refuses_an_older_postgres_schema_until_migrate_hiding_the_password(
        runner: CliRunner, pg_url: str) -> None:
    roll_back_last_pg_migration(pg_url)
    refused = run_pg(runner, pg_url, "worker", "--until-idle")
    assert refused.exit_code == 2
    message = flat(refused.stderr)
    assert "0003_rate_events_and_locks" in message
    assert "run `crosspost migrate`" in message
    assert "postgres:***@" in message

    check = run_pg(runner, pg_url, "migrate", "--check", "--json")
    assert check.exit_code == 1
    assert json.loads(check.stdout)["pending"] == ["0003_rate_events_and_locks"]
    applied = json.loads(run_pg(runner, pg_url, "migrate", "--json").stdout)
    assert applied["applied"] == ["0003_rate_events_and_locks"]
    assert applied["backend"] == "postgresql"
    assert applied["database"].startswith("postgresql://postgres:***@127.0.0.1")
    worker = run_pg(runner, pg_url, "worker", "--until-idle")
    assert worker.exit_code == 0, worker.output


def fill_sqlite(path: Path) -> None:
    """One account and two posts, each with a job waiting for a worker."""

    async def fill() -> None:
        storage = await open_storage(str(path))
        try:
            await storage.insert_account(AccountRow(
                platform="tiktok", name="main", secrets=b"\x01sealed\xff", profile={"username": "ana"},
                scopes=("video.publish",), access_expires_at=None, refresh_expires_at=None,
                needs_login=False, version=1, created_at=T0, updated_at=T0))
            for post_id in ("p1", "p2"):
                post = Post(content=f"moved {post_id}", targets=[Target.parse("tiktok:main")])
                job = NewJob(id=f"{post_id}-0", target=post.targets[0], status=JobStatus.QUEUED, run_at=T0)
                await storage.insert_post(NewPost(id=post_id, post=post, created_at=T0, jobs=(job,)))
        finally:
            await storage.close()

    asyncio.run(fill())


@pytest.mark.postgres
def test_export_from_sqlite_then_import_into_postgres_moves_everything_once(
        runner: CliRunner, db_path: Path, tmp_path: Path, pg_url: str) -> None:
    fill_sqlite(db_path)
    dump = tmp_path / "move.jsonl"
    exported = json.loads(invoke(runner, "export", str(dump), "--json").stdout)
    assert exported["backend"] == "sqlite"
    assert (exported["accounts"], exported["posts"], exported["jobs"]) == (1, 2, 2)
    assert dump.read_text().startswith('{"format":"crosspost-export"')

    imported = run_pg(runner, pg_url, "import", str(dump), "--json")
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.stdout)
    assert (summary["accounts"], summary["posts"], summary["skipped_posts"]) == (1, 2, 0)
    assert summary["database"].startswith("postgresql://postgres:***@")

    again = run_pg(runner, pg_url, "import", str(dump))
    assert again.exit_code == 0
    assert "skipped 3 already present" in flat(again.stdout)

    listed = json.loads(run_pg(runner, pg_url, "list", "--json").stdout)["posts"]
    assert sorted(p["id"] for p in listed) == ["p1", "p2"]
    assert {p["content"] for p in listed} == {"moved p1", "moved p2"}
    assert {p["status"] for p in listed} == {"queued"}
