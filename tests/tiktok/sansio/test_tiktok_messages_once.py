"""Each fact said once: a code appears once in its message; one media-host problem for many photos;
http loopback URLs count as verified only on the emulator."""

from __future__ import annotations

import pytest

from crosspost.core.models import Media, MediaKind
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.config import TikTokConfig
from crosspost.plugins.tiktok.errors import ERROR_CODES, FAIL_REASONS, error_from_response, fail_reason_error
from crosspost.plugins.tiktok.requests import VerifiedUrls
from tests.tiktok.sansio.test_tiktok_validate import PHOTO_OPTIONS, check, photo_info


@pytest.mark.parametrize("reason", sorted(FAIL_REASONS))
def test_a_fail_reason_names_its_code_once(reason: str) -> None:
    assert str(fail_reason_error(reason, publish_id="p_1")).count(reason) == 1


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_an_error_code_is_named_once(code: str) -> None:
    error = error_from_response(403, {"error": {"code": code, "message": "", "log_id": "x"}}, endpoint="init")
    assert error is not None
    assert str(error).count(f"({code}") == 1


def test_local_photos_without_a_host_are_one_problem_naming_each() -> None:
    photos = [Media(type=MediaKind.IMAGE, path=f"/photos/{n}.jpg") for n in range(3)]

    result = check(photos, [photo_info()] * 3, options=PHOTO_OPTIONS, host=False)

    [problem] = result.problems
    assert problem.field == "media"
    assert problem.message.startswith("3 local photos (media[0], media[1], media[2]): TikTok takes photos only")
    assert "CROSSPOST_MEDIA_PUT_URL" in problem.message


def config(api_base: str) -> TikTokConfig:
    return TikTokConfig.from_settings(Settings.from_env({
        "CROSSPOST_DATA_DIR": "/nonexistent", "CROSSPOST_TIKTOK_API_BASE": api_base,
        "CROSSPOST_TIKTOK_VERIFIED_URL_PREFIXES": "http://127.0.0.1:8765/_emulator/media/"}))


def test_an_http_loopback_url_under_a_verified_prefix_counts_on_the_emulator() -> None:
    assert config("http://127.0.0.1:8765").verified.covers("http://127.0.0.1:8765/_emulator/media/a.jpg")


def test_an_http_url_never_counts_against_tiktok() -> None:
    assert not config("https://open.tiktokapis.com").verified.covers("http://127.0.0.1:8765/_emulator/media/a.jpg")


def test_loopback_http_is_for_loopback_hosts_only() -> None:
    verified = VerifiedUrls(prefixes=("http://media.example.com/",), loopback_http=True)
    assert not verified.covers("http://media.example.com/a.jpg")
