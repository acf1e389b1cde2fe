"""TikTok metrics, sans-I/O: batching, scopes, big ids, lenient parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from crosspost.core.errors import InvalidPost
from crosspost.core.metrics import MissingScope
from crosspost.core.models import Target
from crosspost.plugins.tiktok import analytics

AT = datetime(2026, 3, 1, tzinfo=UTC)
TARGET = Target.parse("tiktok:main")
BIG = 7678907398077074696


def test_ids_are_sent_in_batches_of_twenty_once_each() -> None:
    ids = [str(BIG + i) for i in range(45)] + [str(BIG)]
    requests = analytics.video_query_requests(ids)
    assert [len(r.json["filters"]["video_ids"]) for r in requests if r.json] == [20, 20, 5]
    assert requests[0].path.startswith("/v2/video/query/?fields=id,")
    assert all(r.method == "POST" for r in requests)
    assert requests[0].json is not None
    assert requests[0].json["filters"]["video_ids"][0] == str(BIG)


def test_a_non_id_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidPost, match="video_ids"):
        analytics.video_query_requests(["12.5"])


def test_missing_video_list_scope_names_the_scope_and_the_reconnect_command() -> None:
    with pytest.raises(MissingScope) as caught:
        analytics.require_scope(("user.info.basic", "video.publish"), analytics.VIDEO_SCOPE, account="tiktok:main")
    err = caught.value
    assert err.scope == "video.list"
    assert err.code == "scope_missing"
    assert "crosspost accounts login tiktok main" in str(err)
    assert not err.retryable


def test_an_account_stored_without_scopes_is_asked_anyway() -> None:
    analytics.require_scope((), analytics.VIDEO_SCOPE, account="tiktok:main")


def test_a_19_digit_number_in_the_answer_stays_exact_and_becomes_text() -> None:
    raw = ('{"data":{"videos":[{"id":' + str(BIG) + ',"view_count":12,"like_count":3,"comment_count":"4",'
           '"share_count":true,"share_url":"https://t/v"}]}}')
    [snap] = analytics.parse_video_query(json.loads(raw)["data"], target=TARGET, taken_at=AT)
    assert snap.platform_post_id == str(BIG)
    assert snap.metrics == {"views": 12, "likes": 3, "comments": 4}  # a bool is no count
    assert snap.extras == {"share_url": "https://t/v"}


def test_a_rounded_float_id_is_skipped_rather_than_misattributed() -> None:
    data = {"videos": [{"id": float(BIG), "view_count": 1}, "junk", {"id": "7678907398077074697", "view_count": 2}]}
    snaps = analytics.parse_video_query(data, target=TARGET, taken_at=AT)
    assert [s.platform_post_id for s in snaps] == ["7678907398077074697"]


def test_user_info_stats_become_account_totals() -> None:
    data = {"user": {"open_id": "o1", "display_name": "Me", "follower_count": 120, "following_count": 4,
                     "likes_count": 5678, "video_count": 42}}
    totals = analytics.parse_user_info(data, target=TARGET, taken_at=AT)
    assert totals.metrics == {"followers": 120, "following": 4, "likes": 5678, "videos": 42}
    assert analytics.user_info_request().path == ("/v2/user/info/?fields=open_id,display_name,follower_count,"
                                                  "following_count,likes_count,video_count")


@pytest.mark.parametrize(("url", "expected"), [
    (f"https://www.tiktok.com/@me/video/{BIG}", str(BIG)),
    (f"https://www.tiktok.com/@me/photo/{BIG}?lang=en", str(BIG)),
    ("https://www.tiktok.com/@me", None),
    (None, None),
])
def test_the_public_id_is_read_from_a_stored_link(url: str | None, expected: str | None) -> None:
    assert analytics.id_from_url(url) == expected


def test_every_metric_is_documented() -> None:
    assert [m.name for m in analytics.METRICS] == ["views", "likes", "comments", "shares"]
    assert all(m.help for m in (*analytics.METRICS, *analytics.ACCOUNT_METRICS))
