"""SQLite's column encodings: times as integer microseconds, JSON as text.

The row mapping itself is shared with PostgreSQL (:mod:`crosspost.storage.rows`); this module
gives it SQLite's decoders and writes values the same way.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from crosspost.core.models import ErrorInfo, Post
from crosspost.storage import rows
from crosspost.storage.base import AccountRow, EventRow, JobRow, PostRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def ts(value: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact, sortable)."""
    if value.tzinfo is None:
        raise ValueError("storage takes timezone-aware datetimes only")
    return (value - _EPOCH) // _MICRO


def ts_or_none(value: datetime | None) -> int | None:
    return None if value is None else ts(value)


def dt(value: int) -> datetime:
    return _EPOCH + value * _MICRO


def dt_or_none(value: int | None) -> datetime | None:
    return None if value is None else dt(value)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""One encoder for every column: ``json.dumps`` with options builds a new one per call."""


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def post_json(post: Post) -> str:
    return dumps(rows.post_value(post))


def post_from_body(text: str) -> Post:
    return rows.post_from_value(DECODERS.json(text))


def error_json(error: ErrorInfo | None) -> str | None:
    value = rows.error_value(error)
    return None if value is None else dumps(value)


DECODERS = rows.Decoders(time=dt, json=json.loads, strings=json.loads)
"""SQLite's column decoders for the shared row mapper."""


def job_row(row: sqlite3.Row) -> JobRow:
    return rows.job_row(row, DECODERS)


def post_row(row: sqlite3.Row, jobs: Sequence[JobRow]) -> PostRow:
    return rows.post_row(row, jobs, DECODERS)


def account_row(row: sqlite3.Row) -> AccountRow:
    return rows.account_row(row, DECODERS)


def event_row(row: sqlite3.Row) -> EventRow:
    return rows.event_row(row, DECODERS)


def account_values(row: AccountRow) -> dict[str, Any]:
    return {
        "platform": row.platform,
        "name": row.name,
        "secrets": row.secrets,
        "profile": dumps(dict(row.profile)),
        "scopes": dumps(list(row.scopes)),
        "access_expires_at": ts_or_none(row.access_expires_at),
        "refresh_expires_at": ts_or_none(row.refresh_expires_at),
        "needs_login": int(row.needs_login),
        "login_reason": row.login_reason,
        "version": row.version,
        "created_at": ts(row.created_at),
        "updated_at": ts(row.updated_at),
    }
