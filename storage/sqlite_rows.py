"""Mapping SQLite rows to the storage row models and back (times, JSON columns, targets)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from crosspost.core.convert import post_from_dict, post_to_dict
from crosspost.core.models import ErrorInfo, JobStatus, Post, Target
from crosspost.storage.base import AccountRow, EventRow, JobRow, Lease, PostRow

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


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def post_json(post: Post) -> str:
    return dumps(post_to_dict(post))


def error_json(error: ErrorInfo | None) -> str | None:
    return None if error is None else dumps(attrs.asdict(error))


def _error(text: str | None) -> ErrorInfo | None:
    return None if text is None else ErrorInfo(**json.loads(text))


def job_row(row: sqlite3.Row) -> JobRow:
    owner = row["lease_owner"]
    lease = Lease(job_id=row["id"], owner=owner, token=row["lease_token"]) if owner else None
    return JobRow(
        id=row["id"],
        post_id=row["post_id"],
        position=row["position"],
        target=Target.parse(row["target"]),
        status=JobStatus(row["status"]),
        run_at=dt(row["run_at"]),
        attempts=row["attempts"],
        lease=lease,
        lease_until=dt_or_none(row["lease_until"]),
        cancel_requested=bool(row["cancel_requested"]),
        blocked_on=row["blocked_on"],
        checkpoint=json.loads(row["checkpoint"]),
        publish_id=row["publish_id"],
        post_url=row["post_url"],
        warnings=tuple(json.loads(row["warnings"])),
        error=_error(row["error"]),
        started_at=dt_or_none(row["started_at"]),
        created_at=dt(row["created_at"]),
        updated_at=dt(row["updated_at"]),
        finished_at=dt_or_none(row["finished_at"]),
    )


def post_row(row: sqlite3.Row, jobs: Sequence[JobRow]) -> PostRow:
    return PostRow(
        id=row["id"],
        post=post_from_dict(json.loads(row["body"])),
        created_at=dt(row["created_at"]),
        updated_at=dt(row["updated_at"]),
        jobs=tuple(sorted(jobs, key=lambda j: j.position)),
    )


def account_row(row: sqlite3.Row) -> AccountRow:
    return AccountRow(
        platform=row["platform"],
        name=row["name"],
        secrets=bytes(row["secrets"]),
        profile=json.loads(row["profile"]),
        scopes=tuple(json.loads(row["scopes"])),
        access_expires_at=dt_or_none(row["access_expires_at"]),
        refresh_expires_at=dt_or_none(row["refresh_expires_at"]),
        needs_login=bool(row["needs_login"]),
        login_reason=row["login_reason"],
        version=row["version"],
        created_at=dt(row["created_at"]),
        updated_at=dt(row["updated_at"]),
    )


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


def event_row(row: sqlite3.Row) -> EventRow:
    data: Mapping[str, Any] = json.loads(row["data"])
    return EventRow(id=row["id"], at=dt(row["at"]), kind=row["kind"], post_id=row["post_id"],
                    job_id=row["job_id"], data=data)
