"""PULL_FROM_URL videos and photos: ownership checks, downloads, pull failures, cancel."""

from __future__ import annotations

import hashlib
from typing import Any

import aiohttp
import pytest
import yarl

from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.emulator.envelope import ApiError
from crosspost.plugins.tiktok.emulator.init_rules import check_ownership

VIDEO_INIT = "/v2/post/publish/video/init/"
INBOX_INIT = "/v2/post/publish/inbox/video/init/"
CONTENT_INIT = "/v2/post/publish/content/init/"
STATUS = "/v2/post/publish/status/fetch/"
CANCEL = "/v2/post/publish/cancel/"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 5000
JPEG = b"\xff\xd8\xff\xe0" + b"\x02" * 3000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x03" * 100


async def post(http: aiohttp.ClientSession, emu: EmulatorServer, path: str, token: str,
               body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(emu.base_url + path, json=body, headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status, await response.json()


def pull_body(url: yarl.URL | str, privacy: str = "SELF_ONLY") -> dict[str, Any]:
    return {"post_info": {"privacy_level": privacy}, "source_info": {"source": "PULL_FROM_URL", "video_url": str(url)}}


def photo_body(urls: list[str], mode: str = "DIRECT_POST", cover: int = 0, **post_info: Any) -> dict[str, Any]:
    info = {"privacy_level": "SELF_ONLY", **post_info} if mode == "DIRECT_POST" else dict(post_info)
    return {"media_type": "PHOTO", "post_mode": mode, "post_info": info,
            "source_info": {"source": "PULL_FROM_URL", "photo_images": urls, "photo_cover_index": cover}}


@pytest.fixture
def verified(emu_state: EmulatorState, media_host: yarl.URL) -> yarl.URL:
    """The media host's /files/ and /redirect/ prefixes, verified for the app."""
    emu_state.verified_url_prefixes = (str(media_host / "files") + "/", str(media_host / "redirect") + "/")
    return media_host


async def test_pulled_video_is_downloaded_hashed_and_published(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        media_files: dict[str, bytes]) -> None:
    media_files["clip.mp4"] = MP4
    token = emu_state.add_creator().access_token
    status, init = await post(http, emu, VIDEO_INIT, token, pull_body(verified / "files" / "clip.mp4"))
    assert status == 200
    assert init["data"].keys() == {"publish_id"}
    assert init["data"]["publish_id"].startswith("v_pub_url~v2-1.")
    await emu_state.drain()
    _, processing = await post(http, emu, STATUS, token, init["data"])
    assert processing["data"] == {"status": "PROCESSING_DOWNLOAD", "downloaded_bytes": len(MP4)}
    _, done = await post(http, emu, STATUS, token, init["data"])
    assert done["data"]["status"] == "PUBLISH_COMPLETE"
    record = emu_state.published[0]
    assert (record.sha256, record.content_type) == (hashlib.sha256(MP4).hexdigest(), "video/mp4")


async def test_unverified_url_is_403_url_ownership_unverified(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, media_host: yarl.URL) -> None:
    token = emu_state.add_creator(verified_url_prefixes=(str(media_host / "other") + "/",)).access_token
    status, body = await post(http, emu, VIDEO_INIT, token, pull_body(media_host / "files" / "clip.mp4"))
    assert (status, body["error"]["code"]) == (403, "url_ownership_unverified")
    assert emu_state.published == []


async def test_verified_domain_admits_its_host_and_nothing_else(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, media_host: yarl.URL) -> None:
    token = emu_state.add_creator(verified_domains=("localhost",)).access_token
    allowed = media_host.with_host("localhost") / "files" / "clip.mp4"
    assert (await post(http, emu, VIDEO_INIT, token, pull_body(allowed)))[0] == 200
    status, body = await post(http, emu, VIDEO_INIT, token, pull_body(media_host / "files" / "clip.mp4"))
    assert (status, body["error"]["code"]) == (403, "url_ownership_unverified")


def test_domains_cover_subdomains_and_prefixes_cover_only_their_path() -> None:
    state = EmulatorState(verified_domains=("static.example.com",),
                          verified_url_prefixes=("https://example.com/videos/user/",))
    creator = state.add_creator()
    check_ownership(state, creator, ["https://video.static.example.com/a.mp4",
                                     "https://example.com/videos/user/123/x.mp4"])
    for url in ("https://example.com/a.mp4", "https://example.com/videos/2023/user/x.mp4",
                "https://notstatic.example.com/a.mp4"):
        with pytest.raises(ApiError, match="url_ownership_unverified"):
            check_ownership(state, creator, [url])


async def test_redirects_and_missing_files_fail_with_video_pull_failed(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        media_files: dict[str, bytes]) -> None:
    media_files["clip.mp4"] = MP4
    token = emu_state.add_creator().access_token
    for url in (verified / "redirect" / "clip.mp4", verified / "files" / "missing.mp4"):
        _, init = await post(http, emu, VIDEO_INIT, token, pull_body(url))
        await emu_state.drain()
        _, status = await post(http, emu, STATUS, token, init["data"])
        assert status["data"] == {"status": "FAILED", "fail_reason": "video_pull_failed", "downloaded_bytes": 0}


async def test_https_can_be_required_and_remote_hosts_are_never_contacted(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL) -> None:
    token = emu_state.add_creator(verified_domains=("example.com",)).access_token
    status, body = await post(http, emu, VIDEO_INIT, token, pull_body("https://cdn.example.com/clip.mp4"))
    assert (status, body["error"]["code"]) == (400, "invalid_params")
    assert "loopback" in body["error"]["message"]
    emu_state.require_https_pull = True
    status, body = await post(http, emu, VIDEO_INIT, token, pull_body(verified / "files" / "clip.mp4"))
    assert (status, body["error"]["message"]) == (400, "source_info.video_url must use https.")


async def test_cancel_during_download_fails_the_publish_with_publish_cancelled(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        media_files: dict[str, bytes]) -> None:
    media_files["clip.mp4"] = MP4
    token = emu_state.add_creator().access_token
    emu_state.pause_pulls()
    _, init = await post(http, emu, INBOX_INIT, token, {"source_info": pull_body(verified / "files" / "clip.mp4")[
        "source_info"]})
    assert init["data"]["publish_id"].startswith("v_inbox_url~v2.")
    status, body = await post(http, emu, CANCEL, token, init["data"])
    assert (status, body) == (200, {"error": {"code": "ok", "message": "", "log_id": body["error"]["log_id"]}})
    emu_state.resume_pulls()
    await emu_state.drain()
    _, after = await post(http, emu, STATUS, token, init["data"])
    assert (after["data"]["status"], after["data"]["fail_reason"]) == ("FAILED", "publish_cancelled")
    status, body = await post(http, emu, CANCEL, token, init["data"])
    assert (status, body["error"]["code"]) == (400, "publish_not_cancellable")


async def test_photo_post_pulls_every_image_and_completes(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        media_files: dict[str, bytes]) -> None:
    emu_state.processing_polls = 0
    media_files.update({"a.jpg": JPEG, "b.jpg": JPEG[::-1]})
    token = emu_state.add_creator().access_token
    urls = [str(verified / "files" / "a.jpg"), str(verified / "files" / "b.jpg")]
    status, init = await post(http, emu, CONTENT_INIT, token, photo_body(urls, cover=1, title="t" * 90))
    assert status == 200
    assert init["data"]["publish_id"].startswith("p_pub_url~v2.")
    await emu_state.drain()
    _, done = await post(http, emu, STATUS, token, init["data"])
    assert done["data"] == {"status": "PUBLISH_COMPLETE"}
    record = emu_state.published[0]
    assert [item.sha256 for item in record.items] == [hashlib.sha256(JPEG).hexdigest(),
                                                      hashlib.sha256(JPEG[::-1]).hexdigest()]
    assert record.sha256 == hashlib.sha256(JPEG + JPEG[::-1]).hexdigest()


@pytest.mark.parametrize(("change", "code"), [
    ({"media_type": "VIDEO"}, "invalid_params"),
    ({"post_mode": "DIRECT POST"}, "invalid_params"),
    ({"source_info": {"source": "FILE_UPLOAD", "photo_images": ["x"], "photo_cover_index": 0}}, "invalid_params"),
    ({"post_info": {"privacy_level": "SELF_ONLY", "title": "t" * 91}}, "invalid_params"),
    ({"post_info": {"privacy_level": "SELF_ONLY", "description": "d" * 4001}}, "invalid_params"),
    ({"post_info": {"privacy_level": "FOLLOWER_OF_CREATOR"}}, "privacy_level_option_mismatch"),
])
async def test_photo_init_refusals(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        change: dict[str, Any], code: str) -> None:
    token = emu_state.add_creator().access_token
    body = {**photo_body([str(verified / "files" / "a.jpg")]), **change}
    assert (await post(http, emu, CONTENT_INIT, token, body))[1]["error"]["code"] == code


@pytest.mark.parametrize(("count", "cover"), [(0, 0), (36, 0), (2, 2), (2, -1)])
async def test_photo_count_and_cover_index_are_checked(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        count: int, cover: int) -> None:
    token = emu_state.add_creator().access_token
    body = photo_body([str(verified / "files" / f"{i}.jpg") for i in range(count)], cover=cover)
    status, reply = await post(http, emu, CONTENT_INIT, token, body)
    assert (status, reply["error"]["code"]) == (400, "invalid_params")


async def test_media_upload_mode_needs_video_upload_scope_and_a_recent_app(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL) -> None:
    urls = [str(verified / "files" / "a.jpg")]
    publish_only = emu_state.add_creator(scopes=("user.info.basic", "video.publish")).access_token
    status, body = await post(http, emu, CONTENT_INIT, publish_only, photo_body(urls, mode="MEDIA_UPLOAD"))
    assert (status, body["error"]["code"]) == (401, "scope_not_authorized")
    outdated = emu_state.add_creator(outdated_app=True).access_token
    status, body = await post(http, emu, CONTENT_INIT, outdated, photo_body(urls, mode="MEDIA_UPLOAD"))
    assert (status, body["error"]["code"]) == (400, "app_version_check_failed")
    fine = emu_state.add_creator().access_token
    status, body = await post(http, emu, CONTENT_INIT, fine, photo_body(urls, mode="MEDIA_UPLOAD"))
    assert status == 200
    assert body["data"]["publish_id"].startswith("p_inbox_url~v2.")


async def test_png_photo_fails_the_format_check_when_media_sniffing_is_on(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, verified: yarl.URL,
        media_files: dict[str, bytes]) -> None:
    emu_state.sniff_media = True
    emu_state.processing_polls = 0
    media_files["a.webp"] = PNG
    token = emu_state.add_creator().access_token
    _, init = await post(http, emu, CONTENT_INIT, token, photo_body([str(verified / "files" / "a.webp")]))
    await emu_state.drain()
    _, status = await post(http, emu, STATUS, token, init["data"])
    assert (status["data"]["status"], status["data"]["fail_reason"]) == ("FAILED", "file_format_check_failed")
