"""Databases for benchmarks: a PostgreSQL run gets a schema of its own, dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator


@contextlib.contextmanager
def fresh_schema(db: str | None) -> Iterator[str | None]:
    """A PostgreSQL ``db`` as a URL to a new schema of it, dropped afterwards (every run starts
    empty and leaves the database as it was); any other ``db`` as it is."""
    if not db or not db.startswith("postgres"):
        yield db
        return
    import asyncpg

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(db)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    schema = f"fanout_{uuid.uuid4().hex[:10]}"
    asyncio.run(run(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{db}{'&' if '?' in db else '?'}search_path={schema}"
    finally:
        asyncio.run(run(f"DROP SCHEMA {schema} CASCADE"))
