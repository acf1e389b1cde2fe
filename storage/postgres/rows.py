"""PostgreSQL's column encodings, for the row mapper shared with SQLite (:mod:`crosspost.storage.rows`).

Times are ``TIMESTAMPTZ`` (microsecond precision, so aware datetimes round-trip exactly); JSON
columns are ``JSONB`` decoded by the codec the pool installs (:func:`init_connection`); lists of
strings are ``TEXT[]``. Storage takes timezone-aware datetimes only: a naive one would be read in
the server's time zone, so it is refused here instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from crosspost.core.models import Post
from crosspost.storage import rows
from crosspost.storage.base import AccountRow, EventRow, JobRow, PostRow

Record = asyncpg.Record

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn = asyncpg.Connection[Record] | PoolConnectionProxy[Record]
    """A plain or a pooled connection: every query helper takes either."""


async def init_connection(conn: asyncpg.Connection) -> None:
    """Decode and encode ``jsonb`` as Python values on every pooled connection."""
    await conn.set_type_codec("jsonb", schema="pg_catalog", format="text",
                              encoder=lambda v: json.dumps(v, separators=(",", ":"), ensure_ascii=False),
                              decoder=json.loads)


def aware(value: datetime) -> datetime:
    """``value`` after checking it carries a time zone."""
    if value.tzinfo is None:
        raise ValueError("storage takes timezone-aware datetimes only")
    return value


def aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else aware(value)


def post_body(post: Post) -> dict[str, Any]:
    return rows.post_value(post)


error_value = rows.error_value


def _same(value: Any) -> Any:
    return value


DECODERS = rows.Decoders(time=_same, json=_same, strings=_same)
"""PostgreSQL's column decoders for the shared row mapper: asyncpg already gives aware
datetimes, decoded JSONB (the pool's codec) and lists for ``TEXT[]``."""


def job_row(row: Record) -> JobRow:
    return rows.job_row(row, DECODERS)


def post_row(row: Record, jobs: Sequence[JobRow]) -> PostRow:
    return rows.post_row(row, jobs, DECODERS)


def account_row(row: Record) -> AccountRow:
    return rows.account_row(row, DECODERS)


ACCOUNT_COLUMNS = ("platform", "name", "secrets", "profile", "scopes", "access_expires_at",
                   "refresh_expires_at", "needs_login", "login_reason", "version", "created_at",
                   "updated_at")
"""Column order of :func:`account_values`."""


def account_values(row: AccountRow) -> tuple[Any, ...]:
    """The row's values in :data:`ACCOUNT_COLUMNS` order."""
    return (row.platform, row.name, row.secrets, dict(row.profile), list(row.scopes),
            aware_or_none(row.access_expires_at), aware_or_none(row.refresh_expires_at),
            row.needs_login, row.login_reason, row.version, aware(row.created_at), aware(row.updated_at))


def event_row(row: Record) -> EventRow:
    return rows.event_row(row, DECODERS)
