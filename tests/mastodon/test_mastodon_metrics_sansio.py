"""Mastodon metrics without a network: the status and account requests, and reading their answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crosspost.core.errors import InvalidPost
from crosspost.core.models import Target
from crosspost.plugins.mastodon import metrics
from crosspost.plugins.mastodon.platform import MastodonPlatform

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TARGET = Target(platform="mastodon", account="main")
ORIGIN = "https://social.example"
STATUS_ID = "109000000000000123"


def _read(status: int, body: object, wanted: str = STATUS_ID) -> metrics.StatusCounts | metrics.StatusDeleted:
    return metrics.parse_status_counts(status, body, wanted=wanted, target=TARGET, taken_at=AT, instance=ORIGIN)


def test_status_request_is_a_get_of_the_status_with_the_token() -> None:
    request = metrics.status_request(STATUS_ID)
    assert (request.method, request.path, request.authorized) == ("GET", f"/api/v1/statuses/{STATUS_ID}", True)


@pytest.mark.parametrize("bad", ["", "12/../admin", "1 2", 1.5, True, None])
def test_a_status_id_that_is_not_one_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(InvalidPost) as err:
        metrics.status_id(bad)
    assert err.value.problems[0].field == "platform_post_id"


def test_counters_are_read_and_the_id_stays_text() -> None:
    read = _read(200, {"id": STATUS_ID, "favourites_count": 12, "reblogs_count": 3, "replies_count": 1,
                       "url": f"{ORIGIN}/@alice/{STATUS_ID}", "visibility": "public"})
    assert isinstance(read, metrics.StatusCounts)
    snap = read.snapshot
    assert snap.platform_post_id == STATUS_ID
    assert dict(snap.metrics) == {"favourites": 12, "reblogs": 3, "replies": 1}
    assert snap.extras == {"url": f"{ORIGIN}/@alice/{STATUS_ID}", "visibility": "public"}
    assert "views" not in snap.metrics  # Mastodon counts no views


def test_a_negative_or_missing_counter_is_left_out_not_zeroed() -> None:
    read = _read(200, {"id": STATUS_ID, "favourites_count": -1, "reblogs_count": "4", "replies_count": None})
    assert isinstance(read, metrics.StatusCounts)
    assert dict(read.snapshot.metrics) == {"reblogs": 4}


def test_404_is_the_typed_deleted_answer() -> None:
    read = _read(404, {"error": "Record not found"})
    assert isinstance(read, metrics.StatusDeleted)
    assert read.code == "status_deleted"
    assert read.status_id == STATUS_ID
    assert not read.retryable
    assert ORIGIN in str(read)


@pytest.mark.parametrize("body", [None, [], {"id": "999"}, {"id": STATUS_ID}, {"favourites_count": 1}])
def test_an_answer_for_another_status_or_without_counters_is_refused(body: object) -> None:
    with pytest.raises(ValueError, match=r"not status|no counters|not a JSON object"):
        _read(200, body)


def test_account_totals_from_verify_credentials() -> None:
    totals = metrics.parse_account_totals({"id": "1", "username": "alice", "followers_count": 42,
                                           "following_count": 7, "statuses_count": 3}, target=TARGET, taken_at=AT)
    assert dict(totals.metrics) == {"followers": 42, "following": 7, "statuses": 3}
    assert totals.extras["username"] == "alice"
    with pytest.raises(ValueError, match="no id"):
        metrics.parse_account_totals({"username": "no id"}, target=TARGET, taken_at=AT)


def test_the_platform_declares_three_metrics_and_no_views() -> None:
    assert [m.name for m in MastodonPlatform.metrics] == ["favourites", "reblogs", "replies"]


def test_the_post_id_is_the_stored_publish_id_or_the_links_last_segment() -> None:
    platform = MastodonPlatform()
    assert platform.platform_post_id(STATUS_ID, None) == STATUS_ID
    assert platform.platform_post_id(None, f"{ORIGIN}/@alice/{STATUS_ID}") == STATUS_ID
    assert platform.platform_post_id(None, f"{ORIGIN}/@alice") is None
    assert metrics.id_from_url(None) is None
