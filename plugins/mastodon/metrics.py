"""Mastodon's metrics, sans-I/O: the status and account counters, requested and read by pure functions.

- ``GET /api/v1/statuses/:id``: a status's lifetime ``favourites_count``, ``reblogs_count`` and
  ``replies_count``. One request per status (Mastodon has no batch read of counters). A 404 means
  the status was deleted (or is no longer visible to the account): :func:`parse_status_counts`
  returns :class:`StatusDeleted`, the typed answer, never a snapshot of zeros.
- ``GET /api/v1/accounts/verify_credentials``: the account's ``followers_count``,
  ``following_count`` and ``statuses_count``.

Mastodon reports no views (impressions are not federated and the API has no counter for them),
so :data:`METRICS` offers none. Ids are strings on the wire (Snowflake-like 18-digit numbers);
they are kept as text, never turned into a number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import attrs

from crosspost.core.errors import InvalidPost, PermanentError, Problem
from crosspost.core.metrics import AccountMetrics, MetricSnapshot, MetricSpec
from crosspost.core.models import Target
from crosspost.plugins.mastodon.options import PLATFORM
from crosspost.plugins.mastodon.sansio import Request, verify_credentials_request

METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="favourites", help="favourites of the status (favourites_count, lifetime)"),
    MetricSpec(name="reblogs", help="boosts of the status (reblogs_count)"),
    MetricSpec(name="replies", help="replies to the status (replies_count)"),
)
"""What :func:`parse_status_counts` reports per status; extras: ``url``, ``visibility``. No
``views``: Mastodon does not count them."""
_WIRE = {"favourites": "favourites_count", "reblogs": "reblogs_count", "replies": "replies_count"}
_EXTRAS = ("url", "visibility")

ACCOUNT_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(name="followers", help="accounts following this one (followers_count)"),
    MetricSpec(name="following", help="accounts this one follows (following_count)"),
    MetricSpec(name="statuses", help="statuses the account has posted (statuses_count)"),
)
_ACCOUNT_WIRE = {"followers": "followers_count", "following": "following_count", "statuses": "statuses_count"}

_STATUS_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
"""Mastodon's ids are decimal text; forks (Pleroma, Akkoma) use base62 flake ids: both are path-safe."""


class StatusDeleted(PermanentError):
    """The instance answered 404 for the status: it was deleted, or the account can no longer see it.

    Final for that status: crosspost asks once and does not ask again in a loop."""

    def __init__(self, status_id: str, *, instance: str) -> None:
        super().__init__(f"status {status_id} is gone from {instance} (deleted, or no longer visible to the "
                         "account)", code="status_deleted", platform=PLATFORM,
                         hint="Nothing to fix: a deleted status has no more metrics; its earlier readings stay.")
        self.status_id = status_id


@attrs.frozen(kw_only=True)
class StatusCounts:
    """A status's counters as one reading."""

    snapshot: MetricSnapshot


def status_id(value: object) -> str:
    """A status id as text; InvalidPost naming the field when it cannot be one."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and _STATUS_ID.fullmatch(value.strip()):
        return value.strip()
    raise InvalidPost([Problem(field="platform_post_id", message=f"{value!r} is not a Mastodon status id "
                                                                  "(digits, as text)")])


def id_from_url(url: str | None) -> str | None:
    """The status id at the end of a ``https://host/@user/<id>`` link, or None."""
    if not url:
        return None
    last = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    return last if last.isdigit() else None


def status_request(value: str) -> Request:
    return Request(method="GET", path=f"/api/v1/statuses/{status_id(value)}")


def account_request() -> Request:
    return verify_credentials_request()


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def parse_status_counts(status: int, body: object, *, wanted: str, target: Target, taken_at: datetime,
                        instance: str) -> StatusCounts | StatusDeleted:
    """The reading of status ``wanted`` from the answer to :func:`status_request`.

    404 is :class:`StatusDeleted`. A 200 whose id is not ``wanted`` (a server answering for
    another status) or that is not a status raises ValueError: it belongs to no post."""
    if status == 404:
        return StatusDeleted(wanted, instance=instance)
    data = _object(body)
    raw = data.get("id")
    if isinstance(raw, bool) or not isinstance(raw, str | int) or str(raw) != wanted:
        raise ValueError(f"the answer is not status {wanted} (id {raw!r})")
    metrics = {name: c for name, wire in _WIRE.items() if (c := _count(data.get(wire))) is not None}
    if not metrics:
        raise ValueError(f"status {wanted} has no counters")
    extras = {k: v for k in _EXTRAS if isinstance(v := data.get(k), str)}
    return StatusCounts(snapshot=MetricSnapshot(target=target, platform_post_id=wanted, taken_at=taken_at,
                                                metrics=metrics, extras=extras))


def parse_account_totals(body: object, *, target: Target, taken_at: datetime) -> AccountMetrics:
    """The account's totals from ``verify_credentials``; ValueError when it is not an account."""
    data = _object(body)
    if not isinstance(data.get("id"), str | int):
        raise ValueError("no id in the account")
    metrics = {name: c for name, wire in _ACCOUNT_WIRE.items() if (c := _count(data.get(wire))) is not None}
    extras = {k: data[k] for k in ("id", "username", "acct", "display_name") if isinstance(data.get(k), str)}
    return AccountMetrics(target=target, taken_at=taken_at, metrics=metrics, extras=extras)


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError("the response is not a JSON object")
    return body
