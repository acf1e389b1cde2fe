"""The serve tables on PostgreSQL: the adapter behind :class:`~crosspost.storage.serve_tables.ServeStore`.

The SQL is :mod:`crosspost.storage.serve_tables`' own, with its ``?`` placeholders renumbered to
``$n``; each transaction takes a pooled connection of the :class:`PostgresStorage`.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from crosspost.storage.serve_tables import TABLES, Tx

STATEMENTS: tuple[str, ...] = TABLES
"""Migration ``0004_serve_tables`` (appended to the PostgreSQL migration list)."""
_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, ...`` (no ``?`` appears in the serve SQL otherwise)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class _PostgresTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch(self, sql: str, *args: Any) -> list[Mapping[str, Any]]:
        return [dict(row) for row in await self._conn.fetch(numbered(sql), *args)]

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self._conn.execute(numbered(sql), *args)
        tail = str(status).rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0


class PostgresTransactions:
    def __init__(self, storage: Any) -> None:
        self._storage = storage

    @contextlib.asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        async with self._storage._tx() as conn:
            yield _PostgresTx(conn)

    def engine_time(self, value: datetime) -> Any:
        return value

    def engine_json(self, value: Mapping[str, Any]) -> Any:
        return dict(value)
