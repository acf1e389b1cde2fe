"""creator_info, video/init, inbox/init, status/fetch and cancel, over loopback HTTP."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import aiohttp
import pytest

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

CREATOR_INFO = "/v2/post/publish/creator_info/query/"
VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
STATUS = "/v2/post/publish/status/fetch/"
CANCEL = "/v2/post/publish/cancel/"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4


async def post(http: aiohttp.ClientSession, emu: EmulatorServer, path: str, token: str,
               body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    async with http.post(emu.base_url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs) as response:
        return response.status, await response.json()


def file_body(privacy: str | None = "SELF_ONLY", size: int = len(VIDEO), **post_info: Any) -> dict[str, Any]:
    info = {"privacy_level": privacy, **post_info} if privacy else dict(post_info)
    return {"post_info": info,
            "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": size, "total_chunk_count": 1}}


async def put_whole(http: aiohttp.ClientSession, upload_url: str, data: bytes = VIDEO) -> int:
    headers = {"Content-Type": "video/mp4", "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
    async with http.put(upload_url, data=data, headers=headers) as response:
        return response.status


async def test_creator_info_offers_the_public_options_to_a_public_account(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator(nickname="Ana", username="ana", max_video_post_duration_sec=3600)
    status, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert status == 200
    assert body["error"]["code"] == "ok"
    assert body["data"]["privacy_level_options"] == ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    assert body["data"]["creator_nickname"] == "Ana"
    assert body["data"]["max_video_post_duration_sec"] == 3600


async def test_private_account_gets_follower_options_with_duet_and_stitch_disabled(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator(private=True)
    _, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert body["data"]["privacy_level_options"] == ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
    assert body["data"]["duet_disabled"] is True
    assert body["data"]["stitch_disabled"] is True


async def test_creator_info_cap_state_is_http_200_with_the_spam_code(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator(cap_state="spam_risk_user_banned_from_posting")
    status, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert (status, body["error"]["code"]) == (200, "spam_risk_user_banned_from_posting")


async def test_log_id_is_a_utc_timestamp_followed_by_hex_34_characters(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    _, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert re.fullmatch(r"20260101120000[0-9A-F]{20}", body["error"]["log_id"])


async def test_unknown_or_expired_token_is_401_access_token_invalid(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock) -> None:
    creator = emu_state.add_creator()
    status, body = await post(http, emu, CREATOR_INFO, "act.not-a-token")
    assert (status, body["error"]["code"], body["data"]) == (401, "access_token_invalid", {})
    emu_clock.advance(86_400)
    status, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert (status, body["error"]["code"]) == (401, "access_token_invalid")


async def test_creator_info_needs_the_video_publish_scope(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator(scopes=("user.info.basic", "video.upload"))
    status, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert (status, body["error"]["code"]) == (401, "scope_not_authorized")


async def test_video_init_returns_tiktok_shaped_publish_id_and_upload_url(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body())
    assert status == 200
    assert re.fullmatch(r"v_pub_file~v2-1\.\d{19}", body["data"]["publish_id"])
    assert re.fullmatch(emu.base_url + r"/upload/\?upload_id=\d{19}&upload_token=[0-9a-f-]{36}",
                        body["data"]["upload_url"])
    assert emu_state.published[0].request_body == file_body()


async def test_privacy_level_not_offered_lists_the_creators_options(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("FOLLOWER_OF_CREATOR"))
    assert (status, body["error"]["code"]) == (403, "privacy_level_option_mismatch")
    assert "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY" in body["error"]["message"]
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body(None))
    assert (status, body["error"]["code"]) == (403, "privacy_level_option_mismatch")
    assert emu_state.published == []


async def test_unaudited_client_is_refused_for_a_public_account_even_with_self_only(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.audited = False
    creator = emu_state.add_creator(private=False)
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("SELF_ONLY"))
    assert (status, body["error"]["code"]) == (403, "unaudited_client_can_only_post_to_private_accounts")
    assert "data" not in body  # as in the real capture


async def test_unaudited_client_may_post_self_only_to_a_private_account_and_nothing_else(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.audited = False
    creator = emu_state.add_creator(private=True)
    status, _ = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("SELF_ONLY"))
    assert status == 200
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("FOLLOWER_OF_CREATOR"))
    assert (status, body["error"]["code"]) == (403, "unaudited_client_can_only_post_to_private_accounts")


async def test_unaudited_client_may_serve_five_posting_users_a_day(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.audited = False
    creators = [emu_state.add_creator(private=True) for _ in range(6)]
    for creator in creators[:5]:
        assert (await post(http, emu, VIDEO_INIT, creator.access_token, file_body()))[0] == 200
    status, body = await post(http, emu, VIDEO_INIT, creators[5].access_token, file_body())
    assert (status, body["error"]["code"]) == (403, "reached_active_user_cap")
    assert (await post(http, emu, VIDEO_INIT, creators[0].access_token, file_body()))[0] == 200


async def test_title_limit_counts_utf16_code_units(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    status, _ = await post(http, emu, VIDEO_INIT, creator.access_token, file_body(title="😀" * 1100))
    assert status == 200
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body(title="😀" * 1100 + "a"))
    assert (status, body["error"]["code"]) == (400, "invalid_params")


async def test_branded_content_cannot_be_private(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token,
                              file_body("SELF_ONLY", brand_content_toggle=True))
    assert (status, body["error"]["code"]) == (400, "invalid_params")
    assert body["error"]["message"] == "Branded content visibility cannot be set to private"


async def test_unknown_source_and_documented_invalid_param_spelling(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    bad = {"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": {"source": "UPLOAD"}}
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, bad)
    assert (status, body["error"]["code"]) == (400, "invalid_params")
    emu_state.invalid_param_code = "invalid_param"
    _, body = await post(http, emu, VIDEO_INIT, creator.access_token, bad)
    assert body["error"]["code"] == "invalid_param"


async def test_daily_post_cap_refuses_the_sixteenth_direct_post_in_24_hours(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock) -> None:
    emu_state.rate_limits = False
    creator = emu_state.add_creator()
    for _ in range(15):
        status, _ = await post(http, emu, VIDEO_INIT, creator.access_token, file_body())
        assert status == 200
    status, body = await post(http, emu, VIDEO_INIT, creator.access_token, file_body())
    assert (status, body["error"]["code"]) == (403, "spam_risk_too_many_posts")
    status, body = await post(http, emu, CREATOR_INFO, creator.access_token)
    assert (status, body["error"]["code"]) == (200, "spam_risk_too_many_posts")
    emu_clock.advance(86_400)
    other = emu_state.add_creator()  # the first creator's token expired with the day
    assert (await post(http, emu, VIDEO_INIT, other.access_token, file_body()))[0] == 200


async def test_inbox_init_needs_the_video_upload_scope(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator(scopes=("user.info.basic", "video.publish"))
    status, body = await post(http, emu, INBOX_INIT, creator.access_token, {"source_info": file_body()["source_info"]})
    assert (status, body["error"]["code"]) == (401, "scope_not_authorized")


async def test_inbox_allows_at_most_five_pending_shares(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    body = {"source_info": file_body()["source_info"]}
    for _ in range(5):
        status, reply = await post(http, emu, INBOX_INIT, creator.access_token, body)
        assert status == 200
        assert re.fullmatch(r"v_inbox_file~v2\.\d{19}", reply["data"]["publish_id"])
    emu_state.windows.clear()
    status, reply = await post(http, emu, INBOX_INIT, creator.access_token, body)
    assert (status, reply["error"]["code"]) == (403, "spam_risk_too_many_pending_share")


async def test_direct_post_progresses_per_poll_and_public_posts_get_a_post_id(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    _, init = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("PUBLIC_TO_EVERYONE"))
    publish_id = init["data"]["publish_id"]
    _, before = await post(http, emu, STATUS, creator.access_token, {"publish_id": publish_id})
    assert before["data"] == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": 0}
    assert await put_whole(http, init["data"]["upload_url"]) == 201
    _, processing = await post(http, emu, STATUS, creator.access_token, {"publish_id": publish_id})
    assert processing["data"] == {"status": "PROCESSING_UPLOAD", "uploaded_bytes": len(VIDEO)}
    _, done = await post(http, emu, STATUS, creator.access_token, {"publish_id": publish_id})
    assert done["data"]["status"] == "PUBLISH_COMPLETE"
    assert done["data"]["publicaly_available_post_id"] == emu_state.published[0].post_ids
    assert emu_state.published[0].sha256 == hashlib.sha256(VIDEO).hexdigest()


@pytest.mark.parametrize(("fmt", "shape"), [("int", int), ("string", str), ("absent", type(None))])
async def test_post_id_can_arrive_as_int_string_or_not_at_all(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, fmt: Any, shape: type) -> None:
    emu_state.post_id_format = fmt
    emu_state.processing_polls = 0
    creator = emu_state.add_creator()
    _, init = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("PUBLIC_TO_EVERYONE"))
    await put_whole(http, init["data"]["upload_url"])
    _, done = await post(http, emu, STATUS, creator.access_token, {"publish_id": init["data"]["publish_id"]})
    assert isinstance(done["data"].get("publicaly_available_post_id"), shape)


async def test_self_only_post_completes_without_a_post_id(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.processing_polls = 0
    creator = emu_state.add_creator()
    _, init = await post(http, emu, VIDEO_INIT, creator.access_token, file_body("SELF_ONLY"))
    await put_whole(http, init["data"]["upload_url"])
    _, done = await post(http, emu, STATUS, creator.access_token, {"publish_id": init["data"]["publish_id"]})
    assert done["data"] == {"status": "PUBLISH_COMPLETE"}


async def test_inbox_upload_waits_in_the_inbox_until_the_creator_posts(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.processing_polls = 0
    creator = emu_state.add_creator()
    _, init = await post(http, emu, INBOX_INIT, creator.access_token, {"source_info": file_body()["source_info"]})
    publish_id = init["data"]["publish_id"]
    await put_whole(http, init["data"]["upload_url"])
    _, inbox = await post(http, emu, STATUS, creator.access_token, {"publish_id": publish_id})
    assert inbox["data"] == {"status": "SEND_TO_USER_INBOX"}
    emu_state.complete_inbox(publish_id)
    _, done = await post(http, emu, STATUS, creator.access_token, {"publish_id": publish_id})
    assert done["data"]["status"] == "PUBLISH_COMPLETE"


async def test_injected_failures_end_failed_with_their_fail_reason(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.processing_polls = 0
    creator = emu_state.add_creator()
    emu_state.fail_next_publish("frame_rate_check_failed")
    for expected in ("frame_rate_check_failed", None):
        _, init = await post(http, emu, VIDEO_INIT, creator.access_token, file_body())
        await put_whole(http, init["data"]["upload_url"])
        _, status = await post(http, emu, STATUS, creator.access_token, {"publish_id": init["data"]["publish_id"]})
        assert status["data"].get("fail_reason") == expected
    creator.force_fail_reason = "spam_risk_text"
    _, init = await post(http, emu, VIDEO_INIT, creator.access_token, file_body())
    await put_whole(http, init["data"]["upload_url"])
    _, status = await post(http, emu, STATUS, creator.access_token, {"publish_id": init["data"]["publish_id"]})
    assert status["data"] == {"status": "FAILED", "fail_reason": "spam_risk_text", "uploaded_bytes": len(VIDEO)}


async def test_status_refuses_unknown_and_other_creators_publish_ids(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    owner, stranger = emu_state.add_creator(), emu_state.add_creator()
    _, init = await post(http, emu, VIDEO_INIT, owner.access_token, file_body())
    status, body = await post(http, emu, STATUS, owner.access_token, {"publish_id": "v_pub_file~v2-1.1"})
    assert (status, body["error"]["code"]) == (400, "invalid_publish_id")
    status, body = await post(http, emu, STATUS, stranger.access_token, {"publish_id": init["data"]["publish_id"]})
    assert (status, body["error"]["code"]) == (400, "token_not_authorized_for_specified_publish_id")


async def test_file_upload_publish_is_not_cancellable(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    _, init = await post(http, emu, VIDEO_INIT, creator.access_token, file_body())
    status, body = await post(http, emu, CANCEL, creator.access_token, {"publish_id": init["data"]["publish_id"]})
    assert (status, body["error"]["code"]) == (400, "publish_not_cancellable")
