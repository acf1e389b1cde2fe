"""Fresh PostgreSQL schemas for tests: one per test, dropped afterwards.

Tests reach PostgreSQL through ``CROSSPOST_TEST_POSTGRES`` (``.ci/run`` sets it to
``postgresql://postgres@127.0.0.1:5432/test`` after starting the server). Without it, or when
the server does not answer, every PostgreSQL test skips with :data:`HOW_TO_RUN`.

A schema is selected with ``search_path`` in the URL's query (asyncpg passes unknown query
parameters on as server settings), so a schema URL works everywhere a database URL does:
``open_storage``, worker subprocesses, benchmarks.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import socket
import urllib.parse
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

ENV = "CROSSPOST_TEST_POSTGRES"
HOW_TO_RUN = (f"PostgreSQL tests need a server: start one (`pg_ctlcluster --skip-systemctl-redirect "
              f"$(ls /etc/postgresql) main start`) and set {ENV}=postgresql://postgres@127.0.0.1:5432/test "
              f"(.ci/run does both)")

_reachable: dict[str, str | None] = {}
_leftover: set[str] = set()


def server_url() -> str:
    """The test server's URL, or skip the calling test with :data:`HOW_TO_RUN`."""
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"{ENV} is not set. {HOW_TO_RUN}")
    if url not in _reachable:
        _reachable[url] = _probe(url)
    problem = _reachable[url]
    if problem:
        pytest.skip(f"PostgreSQL at {ENV} is unreachable ({problem}). {HOW_TO_RUN}")
    return url


def _probe(url: str) -> str | None:
    """Why the server cannot be reached (a TCP connect; safe inside a running event loop)."""
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=3):
            return None
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


def schema_url(url: str, schema: str) -> str:
    """``url`` with ``search_path=<schema>`` in its query."""
    parts = urllib.parse.urlsplit(url)
    query = [*urllib.parse.parse_qsl(parts.query), ("search_path", schema)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def new_schema_name() -> str:
    """``t_<pid>_<random>``: the pid lets a later run drop what a killed run left behind."""
    return f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"


async def _sweep_dead_runs(url: str) -> None:
    """Drop test schemas whose creating process is gone (a run killed before its cleanup)."""
    conn = await asyncpg.connect(url)
    try:
        for row in await conn.fetch(r"SELECT nspname FROM pg_namespace WHERE nspname ~ '^t_[0-9]+_[0-9a-f]{10}$'"):
            pid = int(row["nspname"].split("_")[1])
            if not _alive(pid):
                await conn.execute(f"DROP SCHEMA IF EXISTS {row['nspname']} CASCADE")
    finally:
        await conn.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_swept: set[str] = set()


async def create_schema(url: str, schema: str) -> None:
    if url not in _swept:
        _swept.add(url)
        await _sweep_dead_runs(url)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()


async def drop_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()
    _leftover.discard(schema)


@contextlib.asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A new empty schema; yields its URL (``search_path`` set) and drops it afterwards."""
    url = server_url()
    schema = new_schema_name()
    await create_schema(url, schema)
    try:
        yield schema_url(url, schema)
    finally:
        await drop_schema(url, schema)


def fresh_schema_url_sync() -> str:
    """For synchronous fixtures: create a schema now and drop it when the test process exits."""
    url = server_url()
    schema = new_schema_name()
    asyncio.run(create_schema(url, schema))
    _leftover.add(schema)
    return schema_url(url, schema)


@atexit.register
def _drop_leftovers() -> None:
    url = os.environ.get(ENV)
    if not url or not _leftover:
        return

    async def drop_all() -> None:
        conn = await asyncpg.connect(url)
        try:
            for schema in sorted(_leftover):
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()

    with contextlib.suppress(Exception):
        asyncio.run(drop_all())
