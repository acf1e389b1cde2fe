"""Creator info and post status parsing: lenient on what TikTok omits or types oddly."""

from __future__ import annotations

import pytest

from crosspost.core.models import JobStatus
from crosspost.plugins.tiktok.creator import CreatorInfo, parse_creator_info
from crosspost.plugins.tiktok.status import PublishStatus, parse_post_ids, parse_status, post_url

OFFICIAL_CREATOR = {
    "creator_avatar_url": "https://lf16-tt4d.tiktokcdn.com/obj/tiktok-open-platform/8d5740ac3844be417beeacd0df75aef1",
    "creator_username": "tiktok",
    "creator_nickname": "TikTok Official",
    "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
    "comment_disabled": False,
    "duet_disabled": False,
    "stitch_disabled": True,
    "max_video_post_duration_sec": 300,
}


def test_creator_info_official_example_is_read_field_by_field():
    assert parse_creator_info(OFFICIAL_CREATOR) == CreatorInfo(
        username="tiktok",
        nickname="TikTok Official",
        avatar_url=OFFICIAL_CREATOR["creator_avatar_url"],
        privacy_level_options=("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"),
        comment_disabled=False,
        duet_disabled=False,
        stitch_disabled=True,
        max_video_post_duration_sec=300,
    )


def test_creator_info_private_account_fixture():
    info = parse_creator_info({
        "duet_disabled": True, "max_video_post_duration_sec": 3600,
        "privacy_level_options": ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        "stitch_disabled": True, "comment_disabled": False, "creator_nickname": "username",
        "creator_username": "userhandle",
    })
    assert info.privacy_level_options[0] == "FOLLOWER_OF_CREATOR"
    assert (info.duet_disabled, info.stitch_disabled, info.max_video_post_duration_sec) == (True, True, 3600)
    assert info.avatar_url == ""


def test_creator_info_missing_keys_fall_back_to_safe_values():
    assert parse_creator_info({}) == CreatorInfo()
    assert CreatorInfo().max_video_post_duration_sec is None


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(600, 600), ("600", 600), (600.0, 600), (True, None), (-1, None), (0, None), ("ten", None), (None, None)],
)
def test_creator_info_max_duration_is_read_leniently(raw, seconds):
    assert parse_creator_info({"max_video_post_duration_sec": raw}).max_video_post_duration_sec == seconds


def test_creator_info_odd_types_are_ignored():
    info = parse_creator_info({
        "privacy_level_options": ["SELF_ONLY", 3, None, "SELF_ONLY", ""], "comment_disabled": "yes",
        "creator_username": 42,
    })
    assert info.privacy_level_options == ("SELF_ONLY",)
    assert info.comment_disabled is False
    assert info.username == ""


# --- status ---------------------------------------------------------------------------------------


def test_status_official_failed_example():
    status = parse_status({"status": "FAILED", "fail_reason": "picture_size_check_failed",
                           "publicaly_available_post_id": [], "uploaded_bytes": 10000})
    assert status == PublishStatus(status="FAILED", fail_reason="picture_size_check_failed", uploaded_bytes=10000)
    assert status.failed
    assert status.terminal
    assert status.job_status() is JobStatus.FAILED


def test_publish_complete_without_post_id_is_still_success():
    status = parse_status({"status": "PUBLISH_COMPLETE"})
    assert status.published
    assert status.terminal
    assert status.post_ids == ()
    assert status.job_status() is JobStatus.PUBLISHED


def test_send_to_user_inbox_is_delivered_and_final():
    status = parse_status({"status": "SEND_TO_USER_INBOX"})
    assert status.in_inbox
    assert status.terminal
    assert status.job_status() is JobStatus.INBOX


@pytest.mark.parametrize("name", ["PROCESSING_UPLOAD", "PROCESSING_DOWNLOAD", "PROCESSING", "EXPIRED",
                                  "PUBLISH_SUCCESS", ""])
def test_processing_and_unknown_statuses_are_not_terminal(name):
    status = parse_status({"status": name})
    assert not status.terminal
    assert status.job_status() is None


def test_status_progress_bytes_are_read():
    status = parse_status({"downloaded_bytes": 10062683, "status": "PROCESSING_DOWNLOAD"})
    assert (status.downloaded_bytes, status.uploaded_bytes) == (10062683, None)
    assert parse_status({"status": "PROCESSING_UPLOAD", "uploaded_bytes": "12"}).uploaded_bytes is None


def test_status_with_missing_or_odd_fields_does_not_raise():
    assert parse_status({}) == PublishStatus(status="")
    assert parse_status({"status": 3, "fail_reason": ""}).fail_reason is None


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (None, ()),
        ([], ()),
        ([7300000000000000001], ("7300000000000000001",)),
        (["7300000000000000001", 7300000000000000002], ("7300000000000000001", "7300000000000000002")),
        (7300000000000000001, ("7300000000000000001",)),
        ("7300000000000000001", ("7300000000000000001",)),
        ("", ()),
        ([True, None, {}, 0, " 12 "], ("12",)),
        ([5, 5, "5"], ("5",)),
    ],
)
def test_post_ids_are_parsed_leniently(raw, ids):
    assert parse_post_ids(raw) == ids
    assert parse_status({"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": raw}).post_ids == ids


def test_post_url_uses_the_handle_and_id():
    assert post_url("tiktok", "7300000000000000001") == "https://www.tiktok.com/@tiktok/video/7300000000000000001"
    assert post_url("@some.user_1", 7) == "https://www.tiktok.com/@some.user_1/video/7"
    assert post_url("me", "9", photo=True) == "https://www.tiktok.com/@me/photo/9"


def test_post_url_needs_a_username():
    with pytest.raises(ValueError, match="username"):
        post_url(" @ ", "1")
