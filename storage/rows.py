"""Rows to storage models, once for every backend: each backend hands in how it decodes.

SQLite keeps times as integer microseconds and JSON as text; PostgreSQL has ``TIMESTAMPTZ``,
``JSONB`` (decoded by the pool's codec) and ``TEXT[]``. The mapping itself (which column is
which field) is the same, so it lives here once and takes a :class:`Decoders`.

Stored posts are read with :func:`storage_converter`, not the user-facing JSON converter: a
stored post was validated when it was submitted, so reading it back checks nothing again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import attrs
import cattrs
from cattrs.preconf.json import make_converter

from crosspost.core.models import ErrorInfo, JobStatus, Media, Post, Target
from crosspost.storage.base import AccountRow, EventRow, JobRow, Lease, NewEvent, NewPost, PostRow


class Row(Protocol):
    """A database row read by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str, /) -> Any: ...


@attrs.frozen(kw_only=True)
class Decoders:
    """How one backend turns its column values into Python values."""

    time: Callable[[Any], datetime]
    """A non-null time column."""
    json: Callable[[Any], Any]
    """A JSON column (text to decode, or already decoded)."""
    strings: Callable[[Any], Sequence[str]]
    """A list-of-strings column (JSON text, or an array)."""

    def time_or_none(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)


@functools.cache
def storage_converter() -> cattrs.Converter:
    """The converter for stored post bodies. Writes the same shape the user edge reads (so an
    exported post is a valid request) but reads without the user-facing checks."""
    conv = make_converter()
    conv.register_unstructure_hook(Target, str)
    conv.register_structure_hook(Target, lambda value, _: Target.parse(value))
    conv.register_unstructure_hook(Media, _media_value)
    return conv


def _media_value(media: Media) -> dict[str, Any]:
    data: dict[str, Any] = {"type": media.type.value}
    for key in ("path", "url", "alt"):
        value = getattr(media, key)
        if value is not None:
            data[key] = value
    return data


def post_value(post: Post) -> dict[str, Any]:
    """The JSON-ready stored body of ``post``."""
    data: dict[str, Any] = storage_converter().unstructure(post)
    return data


def post_from_value(value: Mapping[str, Any]) -> Post:
    """A stored body read back (trusted: it was validated when it was submitted)."""
    return storage_converter().structure(value, Post)


def error_value(error: ErrorInfo | None) -> dict[str, Any] | None:
    return None if error is None else attrs.asdict(error)


def error_from_value(value: Mapping[str, Any] | None) -> ErrorInfo | None:
    return None if value is None else ErrorInfo(**value)


def job_row(row: Row, decode: Decoders) -> JobRow:
    owner = row["lease_owner"]
    lease = Lease(job_id=row["id"], owner=owner, token=row["lease_token"]) if owner else None
    return JobRow(
        id=row["id"],
        post_id=row["post_id"],
        position=row["position"],
        target=Target.parse(row["target"]),
        status=JobStatus(row["status"]),
        run_at=decode.time(row["run_at"]),
        attempts=row["attempts"],
        lease=lease,
        lease_until=decode.time_or_none(row["lease_until"]),
        cancel_requested=bool(row["cancel_requested"]),
        blocked_on=row["blocked_on"],
        checkpoint=decode.json(row["checkpoint"]),
        publish_id=row["publish_id"],
        post_url=row["post_url"],
        warnings=tuple(decode.strings(row["warnings"])),
        error=error_from_value(None if row["error"] is None else decode.json(row["error"])),
        started_at=decode.time_or_none(row["started_at"]),
        created_at=decode.time(row["created_at"]),
        updated_at=decode.time(row["updated_at"]),
        finished_at=decode.time_or_none(row["finished_at"]),
    )


def post_row(row: Row, jobs: Sequence[JobRow], decode: Decoders) -> PostRow:
    return PostRow(
        id=row["id"],
        post=post_from_value(decode.json(row["body"])),
        created_at=decode.time(row["created_at"]),
        updated_at=decode.time(row["updated_at"]),
        jobs=tuple(sorted(jobs, key=lambda j: j.position)),
    )


def account_row(row: Row, decode: Decoders) -> AccountRow:
    return AccountRow(
        platform=row["platform"],
        name=row["name"],
        secrets=bytes(row["secrets"]),
        profile=decode.json(row["profile"]),
        scopes=tuple(decode.strings(row["scopes"])),
        access_expires_at=decode.time_or_none(row["access_expires_at"]),
        refresh_expires_at=decode.time_or_none(row["refresh_expires_at"]),
        needs_login=bool(row["needs_login"]),
        login_reason=row["login_reason"],
        version=row["version"],
        created_at=decode.time(row["created_at"]),
        updated_at=decode.time(row["updated_at"]),
    )


def event_row(row: Row, decode: Decoders) -> EventRow:
    return EventRow(id=row["id"], at=decode.time(row["at"]), kind=row["kind"], post_id=row["post_id"],
                    job_id=row["job_id"], data=decode.json(row["data"]))


def inserted_post_row(new: NewPost) -> PostRow:
    """The row :meth:`~crosspost.storage.base.Storage.insert_post` just wrote, built from what it
    wrote instead of read back (no read-after-write): a new job is unclaimed, unstarted, at 0
    attempts, with an empty checkpoint."""
    now = new.created_at
    jobs = tuple(
        JobRow(id=job.id, post_id=new.id, position=position, target=job.target, status=job.status,
               run_at=job.run_at, attempts=0, lease=None, lease_until=None, cancel_requested=False,
               blocked_on=None, checkpoint={}, publish_id=None, post_url=None, warnings=tuple(job.warnings),
               error=job.error, started_at=None, created_at=now, updated_at=now, finished_at=None)
        for position, job in enumerate(new.jobs))
    return PostRow(id=new.id, post=new.post, created_at=now, updated_at=now, jobs=jobs)


def started_event(post_id: str, job_id: str, *, owner: str, token: int, resumed: bool) -> NewEvent:
    """The ``started`` event a claim with ``log_start`` writes."""
    return NewEvent(kind="started", post_id=post_id, job_id=job_id,
                    data={"owner": owner, "token": token, "resumed": resumed})
