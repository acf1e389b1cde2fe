"""The calendar's model: which post shows on which day, and the days a week or month view covers.

Pure functions over stored rows. A target shows once: at its ``run_at`` while it waits
(scheduled, queued, deferred) or runs, at ``finished_at`` once it is final (published, in the
inbox, failed...). Days are in the viewer's time zone (``tz``), weeks start on Monday.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo

import attrs

from crosspost.core.models import JobStatus
from crosspost.storage.base import PostRow

VIEWS = ("week", "month")
_FINAL = frozenset({JobStatus.PUBLISHED, JobStatus.INBOX, JobStatus.FAILED, JobStatus.UNCERTAIN,
                    JobStatus.CANCELLED})


@attrs.frozen(kw_only=True)
class Entry:
    """One target of one post on the calendar."""

    post_id: str
    at: datetime
    status: JobStatus
    target: str
    caption: str

    @property
    def kind(self) -> str:
        """``scheduled`` for every waiting state, otherwise the status itself."""
        if self.status in (JobStatus.SCHEDULED, JobStatus.QUEUED, JobStatus.DEFERRED):
            return "scheduled"
        return self.status.value


def entries_from(rows: Iterable[PostRow]) -> list[Entry]:
    entries = []
    for row in rows:
        for job in row.jobs:
            at = job.finished_at if job.status in _FINAL and job.finished_at else job.run_at
            entries.append(Entry(post_id=row.id, at=at, status=job.status, target=str(job.target),
                                 caption=row.post.content))
    return sorted(entries, key=lambda e: (e.at, e.post_id, e.target))


def period(view: str, anchor: date) -> tuple[date, date]:
    """``[start, end)`` of the view: Monday to Monday, or the whole weeks covering the month."""
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7)
    first = anchor.replace(day=1)
    last = first.replace(day=_calendar.monthrange(first.year, first.month)[1])
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=7 - last.weekday())
    return start, end


def neighbours(view: str, anchor: date) -> tuple[date, date]:
    """The anchors of the previous and next period."""
    if view == "week":
        return anchor - timedelta(days=7), anchor + timedelta(days=7)
    first = anchor.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return previous, following


def weeks(start: date, end: date) -> list[list[date]]:
    days = [start + timedelta(days=i) for i in range((end - start).days)]
    return [days[i:i + 7] for i in range(0, len(days), 7)]


def by_day(entries: Sequence[Entry], tz: tzinfo) -> dict[date, list[Entry]]:
    days: dict[date, list[Entry]] = {}
    for entry in entries:
        days.setdefault(entry.at.astimezone(tz).date(), []).append(entry)
    return days
