"""When a post should go out: ``"now"``, an ISO-8601 instant, or a local time in an IANA zone.

Local times go through :mod:`zoneinfo`. Two wall-clock cases need a rule, and users are told
which one applied:

* a time that does not exist (inside a spring-forward gap, e.g. 02:30 on the night clocks jump
  from 02:00 to 03:00) is moved forward by the length of the gap (02:30 -> 03:30), the way
  calendar apps do it;
* a time that happens twice (inside a fall-back overlap) means its first occurrence
  (``fold=0``), so a post is never late by an hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

NOW = "now"
PAST_TOLERANCE = timedelta(minutes=5)
"""How far in the past a time may be and still mean "now" (a clock a little behind, a slow typist)."""


@attrs.frozen(kw_only=True)
class ScheduledTime:
    """An instant (UTC) or ``None`` for *now*, plus a note when a DST rule moved it."""

    at: datetime | None
    note: str | None = None


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError naming what is accepted when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}: expected an IANA name such as 'America/New_York'"
        ) from exc


def parse_when(value: str, timezone: str | None = None) -> ScheduledTime:
    """Read ``scheduled_at`` as the user gave it. Raises ValueError saying what is accepted.

    An ISO-8601 value with an offset (``2026-11-22T10:00:00Z``) is an instant; one without an
    offset is a local time read in ``timezone`` (UTC when no zone is given).
    """
    text = value.strip()
    if text.lower() == NOW:
        return ScheduledTime(at=None)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"expected 'now' or an ISO-8601 time such as '2026-11-22T18:30:00' "
            f"(local, read in 'timezone') or '2026-11-22T23:30:00Z', got {value!r}"
        ) from exc
    if parsed.tzinfo is not None:
        return ScheduledTime(at=parsed.astimezone(UTC))
    return localize(parsed, zone(timezone) if timezone else ZoneInfo("UTC"))


def localize(wall: datetime, tz: ZoneInfo) -> ScheduledTime:
    """The instant a naive wall-clock time in ``tz`` stands for, applying the DST rules above."""
    first = wall.replace(tzinfo=tz, fold=0)
    second = wall.replace(tzinfo=tz, fold=1)
    instant = first.astimezone(UTC)
    if first.utcoffset() == second.utcoffset():
        return ScheduledTime(at=instant)
    if _exists(wall, tz):
        note = (
            f"{wall.isoformat()} happens twice in {tz.key} (clocks go back); "
            f"using the first time, {first.isoformat()}"
        )
        return ScheduledTime(at=instant, note=note)
    moved = instant.astimezone(tz)
    note = (
        f"{wall.isoformat()} does not exist in {tz.key} (clocks go forward); "
        f"moved to {moved.isoformat()}"
    )
    return ScheduledTime(at=instant, note=note)


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether ``wall`` is a real local time in ``tz`` (False inside a spring-forward gap)."""
    aware = wall.replace(tzinfo=tz)
    round_trip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    return round_trip == wall


class PastSchedule(ValueError):
    """A time further in the past than :data:`PAST_TOLERANCE`, which the user did not allow."""


def check_not_past(when: ScheduledTime, value: str, now: datetime, *, allow_past: bool) -> str | None:
    """Refuse a time more than a few minutes in the past, unless ``allow_past``.

    A past time used to publish at once, silently: a date copied from an example, a wrong year,
    a time zone off by hours. Returns the warning to show when a past time is accepted (it
    publishes at once), else None. Raises :class:`PastSchedule` saying what to do.
    """
    if when.at is None or when.at >= now:
        return None
    late = now - when.at
    if late <= PAST_TOLERANCE:
        return None
    ago = _ago(late)
    if not allow_past:
        raise PastSchedule(
            f"{value!r} is {ago} in the past (it is now {now.replace(microsecond=0).isoformat()}): give a "
            "future time, 'now' to publish at once, or allow a past time (CLI: --allow-past; "
            "library: allow_past=True) to publish it at once anyway")
    return f"scheduled_at {value!r} is {ago} in the past; publishing at once (allowed)"


def _ago(late: timedelta) -> str:
    seconds = int(late.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
