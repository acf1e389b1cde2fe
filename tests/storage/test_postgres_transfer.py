"""Moving from SQLite to PostgreSQL with ``export_to`` / ``import_from``: nothing is lost or changed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost.core.errors import ConfigError
from crosspost.core.models import ErrorInfo, JobStatus, Post, Target
from crosspost.storage.base import AccountRow, NewEvent, NewJob, NewPost, Storage
from crosspost.storage.postgres import PostgresStorage, connect
from crosspost.storage.sqlite import SqliteStorage
from crosspost.storage.sqlite import connect as connect_sqlite
from crosspost.storage.transfer import export_to, import_from
from tests.storage.postgres_schemas import fresh_schema

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def pg() -> AsyncIterator[PostgresStorage]:
    async with fresh_schema() as url:
        storage = await connect(url)
        try:
            yield storage
        finally:
            await storage.close()


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    storage = await connect_sqlite(str(tmp_path / "old.db"))
    try:
        yield storage
    finally:
        await storage.close()


def new_post(post_id: str, *targets: str, key: str | None = None, run_at: datetime = T0) -> NewPost:
    post = Post(content=f"post {post_id} ✓", targets=[Target.parse(t) for t in targets], idempotency_key=key)
    return NewPost(id=post_id, post=post, created_at=T0, jobs=tuple(
        NewJob(id=f"{post_id}-{i}", target=Target.parse(t), status=JobStatus.QUEUED, run_at=run_at,
               warnings=("caption trimmed",) if i else ())
        for i, t in enumerate(targets)))


async def fill(storage: Storage) -> None:
    """Accounts, and posts in every kind of state: published, running mid-upload, blocked, waiting."""
    await storage.insert_account(AccountRow(
        platform="tiktok", name="main", secrets=b"\x01\x00sealed-bytes\xff", profile={"username": "ana"},
        scopes=("video.publish", "video.upload"), access_expires_at=T0 + timedelta(hours=2),
        refresh_expires_at=None, needs_login=False, version=3, created_at=T0, updated_at=T0))
    await storage.set_needs_login("tiktok", "main", "refresh token revoked", now=T0)
    await storage.insert_post(new_post("done", "tiktok:main"), event=NewEvent(kind="submitted", post_id="done"))
    await storage.insert_post(new_post("running", "tiktok:main", "fake:b", key="client-1"))
    await storage.insert_post(new_post("blocked", "tiktok:main"))
    await storage.insert_post(new_post("later", "tiktok:main", run_at=T0 + timedelta(days=1)))
    first = await storage.claim_job("w1", now=T0, lease_until=T0 + LEASE, post_id="done")
    assert first is not None
    assert first.lease is not None
    await storage.finish_job(first.lease, status=JobStatus.PUBLISHED, now=T0, publish_id="v_pub_1",
                             post_url="https://www.tiktok.com/@ana/video/1", warnings=("w",),
                             event=NewEvent(kind="published", post_id="done", job_id=first.id, data={"n": 1}))
    running = await storage.claim_job("w2", now=T0, lease_until=T0 + LEASE, post_id="running")
    assert running is not None
    assert running.lease is not None
    await storage.save_checkpoint(running.lease, {"publish_id": "v_pub_2", "next_chunk": 3, "nested": {"a": [1]}},
                                  status=JobStatus.UPLOADING, now=T0, lease_until=T0 + LEASE)
    blocked = await storage.claim_job("w3", now=T0, lease_until=T0 + LEASE, post_id="blocked")
    assert blocked is not None
    assert blocked.lease is not None
    await storage.release_job(blocked.lease, status=JobStatus.DEFERRED, run_at=T0, attempts=2, now=T0,
                              error=ErrorInfo(code="needs_login", message="log in again", retryable=True),
                              blocked_on="account:tiktok:main")


async def snapshot(storage: Storage) -> tuple[object, ...]:
    return (await storage.list_accounts(), await storage.list_posts(limit=100),
            await storage.list_events(limit=100))


async def test_sqlite_export_imports_into_postgres_unchanged(sqlite: SqliteStorage, pg: PostgresStorage,
                                                             tmp_path: Path) -> None:
    await fill(sqlite)
    exported = await export_to(sqlite, tmp_path / "move.jsonl")
    assert (exported.accounts, exported.posts, exported.jobs, exported.running_jobs) == (1, 4, 5, 1)
    imported = await import_from(pg, tmp_path / "move.jsonl")
    assert (imported.accounts, imported.posts, imported.jobs, imported.events) == (1, 4, 5, exported.events)
    assert await snapshot(pg) == await snapshot(sqlite)


async def test_imported_jobs_keep_their_fencing_and_the_queue_goes_on(sqlite: SqliteStorage, pg: PostgresStorage,
                                                                     tmp_path: Path) -> None:
    await fill(sqlite)
    await export_to(sqlite, tmp_path / "move.jsonl")
    await import_from(pg, tmp_path / "move.jsonl")
    running = await pg.get_job("running-0")
    assert running is not None
    assert running.lease is not None
    sibling = await pg.claim_job("w9", now=T0, lease_until=T0 + LEASE, post_id="running")
    assert sibling is not None
    assert sibling.id == "running-1", "the leased job is not handed out before expiry"
    # The old worker's lease still fences: after it expires a new claim resumes from the checkpoint.
    later = T0 + 2 * LEASE
    taken = await pg.claim_job("w9", now=later, lease_until=later + LEASE, post_id="running")
    assert taken is not None
    assert taken.lease is not None
    assert taken.id == "running-0"
    assert taken.lease.token == running.lease.token + 1
    assert taken.checkpoint["next_chunk"] == 3
    assert not await pg.extend_lease(running.lease, until=later + LEASE), "the pre-move holder is fenced"
    await pg.add_event(NewEvent(kind="after", post_id="running"), now=later)
    events = await pg.list_events(limit=100)
    assert events[-1].kind == "after"
    assert events[-1].id > events[-2].id, "new events sort after imported ones"
    again, created = await pg.insert_post(new_post("dup", "fake:b", key="client-1"))
    assert not created
    assert again.id == "running", "idempotency keys survive the move"


async def test_importing_twice_skips_what_is_already_there(sqlite: SqliteStorage, pg: PostgresStorage,
                                                           tmp_path: Path) -> None:
    await fill(sqlite)
    await export_to(sqlite, tmp_path / "move.jsonl")
    await import_from(pg, tmp_path / "move.jsonl")
    before = await snapshot(pg)
    second = await import_from(pg, tmp_path / "move.jsonl")
    assert (second.posts, second.skipped_posts, second.accounts, second.skipped_accounts) == (0, 4, 0, 1)
    assert await snapshot(pg) == before


async def test_secrets_travel_encrypted_exactly_as_stored(sqlite: SqliteStorage, tmp_path: Path) -> None:
    await fill(sqlite)
    await export_to(sqlite, tmp_path / "move.jsonl")
    text = (tmp_path / "move.jsonl").read_text()
    assert "sealed-bytes" not in text, "secrets are base64 of the ciphertext, never readable text"
    account = next(json.loads(line) for line in text.splitlines() if '"account"' in line)
    assert account["row"]["secrets"]


async def test_a_file_that_is_not_an_export_is_refused_with_its_line(pg: PostgresStorage, tmp_path: Path) -> None:
    (tmp_path / "other.jsonl").write_text('{"hello": 1}\n')
    with pytest.raises(ConfigError, match="not a crosspost export"):
        await import_from(pg, tmp_path / "other.jsonl")
    header = '{"format": "crosspost-export", "version": 1}'
    (tmp_path / "broken.jsonl").write_text(header + '\n{"kind": "post", "row": {}}\n')
    with pytest.raises(ConfigError, match="line 2"):
        await import_from(pg, tmp_path / "broken.jsonl")


async def test_sqlite_cannot_receive_an_import_and_says_what_to_do(sqlite: SqliteStorage, tmp_path: Path) -> None:
    await export_to(sqlite, tmp_path / "empty.jsonl")
    with pytest.raises(ConfigError, match=r"import into PostgreSQL"):
        await import_from(sqlite, tmp_path / "empty.jsonl")
