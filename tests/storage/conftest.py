"""The ``storage`` fixture: every contract test runs once per backend.

A backend joins the suite by adding its name to ``BACKENDS`` and a branch to
:func:`backend_url` that returns a fresh, empty database URL (skipping with a message when its
server is not available).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from crosspost.storage import open_storage
from crosspost.storage.base import Storage
from crosspost.storage.sqlite import SqliteStorage, connect

BACKENDS = ["sqlite", "postgresql"]


def backend_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    if backend == "postgresql":  # a fresh schema; skips with how-to-run when no server
        from tests.storage.postgres_schemas import fresh_schema_url_sync

        return fresh_schema_url_sync()
    raise AssertionError(f"no URL recipe for backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL for each backend."""
    return backend_url(request.param, tmp_path)


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    opened = await open_storage(storage_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[SqliteStorage]:
    """A fresh SQLite storage of its own, for the tests of SQLite's own machinery."""
    opened = await connect(str(tmp_path / "s.db"))
    try:
        yield opened
    finally:
        await opened.close()
