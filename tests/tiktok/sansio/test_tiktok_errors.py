"""Every TikTok error code and fail reason maps, by equality, to a typed error saying what to do."""

from __future__ import annotations

import pytest

from crosspost.core.errors import (
    AuthError,
    DailyCapReached,
    PermanentError,
    PlatformError,
    RateLimited,
    TransientError,
    UncertainOutcome,
)
from crosspost.plugins.tiktok.errors import (
    ERROR_CODES,
    FAIL_REASONS,
    PublishCancelled,
    TokenInvalid,
    UploadUrlRejected,
    chunk_response_error,
    error_from_response,
    fail_reason_error,
    parse_envelope,
    still_processing_error,
)

INIT = "/v2/post/publish/video/init/"


def envelope(code: str, message: str = "", log_id: str = "2026082803570400EF78723626F290068A") -> dict:
    return {"data": {}, "error": {"code": code, "message": message, "log_id": log_id}}


# (code, HTTP status TikTok uses, crosspost type, retryable, needs_login)
CODES = [
    ("invalid_param", 400, PermanentError, False, None),
    ("invalid_params", 400, PermanentError, False, None),
    ("app_version_check_failed", 400, PermanentError, False, None),
    ("invalid_publish_id", 400, PermanentError, False, None),
    ("token_not_authorized_for_specified_publish_id", 400, PermanentError, False, None),
    ("publish_not_cancellable", 400, PermanentError, False, None),
    ("spam_risk_too_many_posts", 403, DailyCapReached, False, None),
    ("spam_risk_too_many_pending_share", 403, DailyCapReached, False, None),
    ("reached_active_user_cap", 403, DailyCapReached, False, None),
    ("spam_risk_user_banned_from_posting", 403, PermanentError, False, None),
    ("unaudited_client_can_only_post_to_private_accounts", 403, PermanentError, False, None),
    ("url_ownership_unverified", 403, PermanentError, False, None),
    ("privacy_level_option_mismatch", 403, PermanentError, False, None),
    ("access_token_invalid", 401, TokenInvalid, False, False),
    ("scope_not_authorized", 401, AuthError, False, True),
    ("scope_permission_missed", 400, AuthError, False, True),
    ("rate_limit_exceeded", 429, RateLimited, True, None),
    ("internal_error", 500, TransientError, True, None),
    ("invalid_file_upload", 400, PermanentError, False, None),
]


def test_the_table_covers_every_documented_code():
    assert {c[0] for c in CODES} == set(ERROR_CODES)


@pytest.mark.parametrize(("code", "status", "kind", "retryable", "needs_login"), CODES)
def test_error_code_maps_to_its_type_with_guidance(code, status, kind, retryable, needs_login):
    error = error_from_response(status, envelope(code, "TikTok says so."), endpoint=INIT)
    assert type(error) is kind
    assert error.code == code
    assert error.retryable is retryable
    assert error.platform == "tiktok"
    assert error.log_id == "2026082803570400EF78723626F290068A"
    text = str(error)
    assert "TikTok says so." in text
    assert INIT in text
    assert any(phrase in text for phrase in ("Retrying", "retries", "retry")), text
    if needs_login is not None:
        assert error.needs_login is needs_login


@pytest.mark.parametrize("code", ["spam_risk_too_many_posts", "spam_risk_user_banned_from_posting",
                                  "reached_active_user_cap"])
def test_creator_info_cap_errors_come_with_http_200_and_are_still_errors(code):
    error = error_from_response(200, envelope(code), endpoint="/v2/post/publish/creator_info/query/")
    assert error is not None
    assert error.code == code


def test_ok_is_success_and_data_is_returned():
    payload = {"data": {"publish_id": "v_pub_url~v2-1.7"}, "error": {"code": "ok", "message": "", "log_id": "x"}}
    assert error_from_response(200, payload, endpoint=INIT) is None
    assert parse_envelope(200, payload, endpoint=INIT) == {"publish_id": "v_pub_url~v2-1.7"}


def test_cancel_success_has_no_data():
    assert parse_envelope(200, {"error": {"code": "ok", "message": "", "log_id": "x"}}, endpoint="/cancel/") == {}


def test_parse_envelope_raises_the_typed_error():
    with pytest.raises(TokenInvalid) as caught:
        parse_envelope(401, envelope("access_token_invalid"), endpoint=INIT)
    assert caught.value.needs_login is False
    assert caught.value.refresh_may_help


def test_error_without_data_key_as_seen_in_the_field():
    payload = {"error": {"code": "unaudited_client_can_only_post_to_private_accounts",
                         "message": "Please review our integration guidelines at "
                                    "https://developers.tiktok.com/doc/content-sharing-guidelines/",
                         "log_id": "2026082803570400EF78723626F290068A"}}
    error = error_from_response(403, payload, endpoint=INIT)
    assert isinstance(error, PermanentError)
    assert "switch the TikTok account itself to private" in str(error)


def test_matching_is_by_equality_not_substring():
    error = error_from_response(403, envelope("spam_risk_too_many_posts_v2"), endpoint=INIT)
    assert type(error) is PlatformError
    assert error.code == "spam_risk_too_many_posts_v2"


@pytest.mark.parametrize(("status", "kind", "retryable"), [(418, PlatformError, False), (503, TransientError, True),
                                                           (429, RateLimited, True)])
def test_unknown_code_keeps_the_raw_code(status, kind, retryable):
    error = error_from_response(status, envelope("brand_new_code", "New."), endpoint=INIT)
    assert type(error) is kind
    assert error.code == "brand_new_code"
    assert error.retryable is retryable
    assert "New." in str(error)


@pytest.mark.parametrize(("status", "kind"), [(502, TransientError), (429, RateLimited), (404, PlatformError)])
def test_response_without_an_error_object_is_judged_by_http_status(status, kind):
    error = error_from_response(status, None, endpoint=INIT)
    assert type(error) is kind
    assert error.code == f"http_{status}"
    assert error_from_response(200, None, endpoint=INIT) is None
    assert error_from_response(200, {"data": {}}, endpoint=INIT) is None


def test_chunk_size_invalid_message_gets_its_known_guidance():
    error = error_from_response(400, envelope("invalid_params", "The chunk size is invalid"), endpoint=INIT)
    assert "64,000,000 bytes uploads in one piece" in str(error)


def test_rate_limited_waits_the_window_unless_told_otherwise():
    assert error_from_response(429, envelope("rate_limit_exceeded"), endpoint=INIT).retry_after == 60.0
    told = error_from_response(429, envelope("rate_limit_exceeded"), endpoint=INIT, retry_after=7)
    assert told.retry_after == 7


def test_privacy_mismatch_points_at_the_option_and_seed_wording():
    error = error_from_response(403, envelope("privacy_level_option_mismatch"), endpoint=INIT)
    assert error.field == "target_options.tiktok.privacy_level"
    assert str(error).startswith("Selected privacy level is not available for this creator")


def test_seed_common_errors_guidance_is_included():
    assert "Wait until the limit resets" in str(error_from_response(403, envelope("spam_risk_too_many_posts"),
                                                                    endpoint=INIT))
    scope = str(error_from_response(401, envelope("scope_not_authorized"), endpoint=INIT))
    assert "Missing required TikTok permissions" in scope
    assert "reconnect the TikTok account" in scope
    assert "stricter than the app" in str(fail_reason_error("spam_risk"))
    assert "duplicate content" in str(fail_reason_error("spam_risk"))
    assert "cloud share page" in str(fail_reason_error("video_pull_failed"))
    assert "'.mp4' only" in str(fail_reason_error("file_format_check_failed"))


def test_error_dict_never_shows_more_than_code_message_retryable_and_log_id():
    data = error_from_response(401, envelope("access_token_invalid"), endpoint=INIT).to_dict()
    assert set(data) == {"code", "message", "retryable", "log_id"}


# --- fail reasons ---------------------------------------------------------------------------------

REASONS = [
    ("file_format_check_failed", PermanentError, False),
    ("duration_check_failed", PermanentError, False),
    ("frame_rate_check_failed", PermanentError, False),
    ("picture_size_check_failed", PermanentError, False),
    ("internal", TransientError, True),
    ("video_pull_failed", TransientError, True),
    ("photo_pull_failed", TransientError, True),
    ("publish_cancelled", PublishCancelled, False),
    ("auth_removed", AuthError, False),
    ("auth_failed", AuthError, False),
    ("spam_risk_too_many_posts", DailyCapReached, False),
    ("spam_risk_user_banned_from_posting", PermanentError, False),
    ("spam_risk_text", PermanentError, False),
    ("spam_risk", PermanentError, False),
]


def test_the_table_covers_every_documented_fail_reason():
    assert {r[0] for r in REASONS} == set(FAIL_REASONS)


@pytest.mark.parametrize(("reason", "kind", "retryable"), REASONS)
def test_fail_reason_maps_to_its_type_with_guidance(reason, kind, retryable):
    error = fail_reason_error(reason, publish_id="v_pub_file~v2-1.1")
    assert type(error) is kind
    assert (error.code, error.retryable) == (reason, retryable)
    assert "v_pub_file~v2-1.1" in str(error)
    assert error.hint


def test_auth_removed_needs_a_new_login():
    error = fail_reason_error("auth_removed")
    assert isinstance(error, AuthError)
    assert error.needs_login


def test_spam_risk_and_spam_risk_text_are_told_apart():
    assert "caption" in str(fail_reason_error("spam_risk_text"))
    assert "caption text" not in str(fail_reason_error("spam_risk"))


def test_unknown_fail_reason_keeps_its_name():
    error = fail_reason_error("something_new")
    assert type(error) is PlatformError
    assert error.code == "something_new"
    assert fail_reason_error(None).code == "unknown"


# --- media PUT answers and processing timeouts ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [(201, None, None), (206, None, None), (400, PermanentError, "bad_chunk_request"),
     (403, UploadUrlRejected, "upload_url_expired"), (404, UploadUrlRejected, "upload_not_found"),
     (416, TransientError, "content_range_mismatch"), (500, TransientError, "chunk_server_error"),
     (503, TransientError, "chunk_server_error"), (409, PermanentError, "chunk_http_409")],
)
def test_chunk_response_statuses_map_to_what_the_uploader_must_do(status, kind, code):
    error = chunk_response_error(status)
    if kind is None:
        assert error is None
    else:
        assert type(error) is kind
        assert error.code == code


def test_still_processing_is_uncertain_and_says_how_to_check():
    error = still_processing_error("v_pub_file~v2-1.5", 600)
    assert isinstance(error, UncertainOutcome)
    assert not error.retryable
    assert "For large videos this can be normal" in str(error)
    assert "600 s" in str(error)
