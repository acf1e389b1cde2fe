"""Mapping asyncpg records to the storage row models and back.

Times are ``TIMESTAMPTZ`` (microsecond precision, so aware datetimes round-trip exactly); JSON
columns are ``JSONB`` decoded by the codec the pool installs (:func:`init_connection`); lists of
strings are ``TEXT[]``. Storage takes timezone-aware datetimes only: a naive one would be read in
the server's time zone, so it is refused here instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import attrs

from crosspost.core.convert import post_from_dict, post_to_dict
from crosspost.core.models import ErrorInfo, JobStatus, Post, Target
from crosspost.storage.base import AccountRow, EventRow, JobRow, Lease, PostRow

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
    return post_to_dict(post)


def error_value(error: ErrorInfo | None) -> dict[str, Any] | None:
    return None if error is None else attrs.asdict(error)


def _error(value: Mapping[str, Any] | None) -> ErrorInfo | None:
    return None if value is None else ErrorInfo(**value)


def job_row(row: Record) -> JobRow:
    owner = row["lease_owner"]
    lease = Lease(job_id=row["id"], owner=owner, token=row["lease_token"]) if owner else None
    return JobRow(
        id=row["id"],
        post_id=row["post_id"],
        position=row["position"],
        target=Target.parse(row["target"]),
        status=JobStatus(row["status"]),
        run_at=row["run_at"],
        attempts=row["attempts"],
        lease=lease,
        lease_until=row["lease_until"],
        cancel_requested=row["cancel_requested"],
        blocked_on=row["blocked_on"],
        checkpoint=row["checkpoint"],
        publish_id=row["publish_id"],
        post_url=row["post_url"],
        warnings=tuple(row["warnings"]),
        error=_error(row["error"]),
        started_at=row["started_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )


def post_row(row: Record, jobs: Sequence[JobRow]) -> PostRow:
    return PostRow(
        id=row["id"],
        post=post_from_dict(row["body"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        jobs=tuple(sorted(jobs, key=lambda j: j.position)),
    )


def account_row(row: Record) -> AccountRow:
    return AccountRow(
        platform=row["platform"],
        name=row["name"],
        secrets=bytes(row["secrets"]),
        profile=row["profile"],
        scopes=tuple(row["scopes"]),
        access_expires_at=row["access_expires_at"],
        refresh_expires_at=row["refresh_expires_at"],
        needs_login=row["needs_login"],
        login_reason=row["login_reason"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


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
    return EventRow(id=row["id"], at=row["at"], kind=row["kind"], post_id=row["post_id"],
                    job_id=row["job_id"], data=row["data"])
