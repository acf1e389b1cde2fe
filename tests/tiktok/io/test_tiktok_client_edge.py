"""The aiohttp edge of the TikTok client, unit by unit, with aioresponses (no bytes move here).

Request building, error mapping, retries on the injected clock, token refresh and the
"lost answer to a pull init" rule. Tests that move bytes use the emulator instead.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError, PermanentError, RateLimited, TransientError, UncertainOutcome
from crosspost.plugins.tiktok.client import AnswerLost, NotSent, RetryPolicy, TikTokClient, token_fingerprint
from crosspost.plugins.tiktok.requests import (
    CONTENT_INIT_PATH,
    CREATOR_INFO_PATH,
    STATUS_PATH,
    VIDEO_INIT_PATH,
    ApiRequest,
)
from crosspost.testing.context import MemoryRateGate

BASE = "https://open.tiktokapis.com"
TOKEN = "act.secret-access-token-123"
NEW_TOKEN = "act.refreshed-token-456"
OK = {"error": {"code": "ok", "message": "", "log_id": "2026010112000000ABCDEF"}}
FILE_INIT = ApiRequest(method="POST", path=VIDEO_INIT_PATH, json={"source_info": {"source": "FILE_UPLOAD"}})
PHOTO_INIT = ApiRequest(method="POST", path=CONTENT_INIT_PATH, json={"media_type": "PHOTO"}, safe_to_repeat=False)


def envelope(data: dict[str, Any] | None = None, code: str = "ok", message: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "log_id": "20260101120000ABCDEF"}}
    if data is not None:
        body["data"] = data
    return body


class Tokens:
    def __init__(self) -> None:
        self.token = TOKEN
        self.rejected: list[str] = []

    async def access_token(self) -> str:
        return self.token

    async def refreshed(self, rejected: str) -> str:
        self.rejected.append(rejected)
        self.token = NEW_TOKEN
        return self.token


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
def gate(clock: FakeClock) -> MemoryRateGate:
    return MemoryRateGate(clock)


@pytest.fixture
async def client(clock: FakeClock, tokens: Tokens, gate: MemoryRateGate) -> AsyncIterator[TikTokClient]:
    async with aiohttp.ClientSession() as http:
        yield TikTokClient(http, api_base=BASE, tokens=tokens, rate=gate, clock=clock,
                           policy=RetryPolicy(attempts=4, total_time=600), rng=random.Random(5))


class _CompatResponse(aiohttp.ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.13's required ``stream_writer`` argument."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", mock.Mock(output_size=0))
        super().__init__(method, url, **kwargs)


class _Responses(aioresponses):
    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(*args, **kwargs)


@pytest.fixture
def api() -> Iterator[aioresponses]:
    with _Responses() as mocked:
        yield mocked


def calls(api: aioresponses, path: str) -> list[Any]:
    return api.requests.get(("POST", URL(BASE + path)), [])


async def test_requests_carry_the_bearer_token_and_a_json_body(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + STATUS_PATH, payload=envelope({"status": "PROCESSING_UPLOAD", "uploaded_bytes": 10}))
    status = await client.fetch_status("v_pub_file~v2-1.1")
    sent = calls(api, STATUS_PATH)[0].kwargs
    assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert sent["headers"]["Content-Type"] == "application/json; charset=UTF-8"
    assert sent["json"] == {"publish_id": "v_pub_file~v2-1.1"}
    assert isinstance(sent["timeout"], aiohttp.ClientTimeout)
    assert sent["timeout"].total
    assert status.status == "PROCESSING_UPLOAD"
    assert status.uploaded_bytes == 10


async def test_creator_info_is_sent_without_a_body(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + CREATOR_INFO_PATH, payload=envelope({"creator_username": "tiktok",
                                                         "privacy_level_options": ["SELF_ONLY"]}))
    info = await client.creator_info()
    assert calls(api, CREATOR_INFO_PATH)[0].kwargs["json"] is None
    assert info.username == "tiktok"
    assert info.privacy_level_options == ("SELF_ONLY",)


async def test_server_errors_are_retried_with_full_jitter_backoff_on_the_injected_clock(
    client: TikTokClient, api: aioresponses, clock: FakeClock,
) -> None:
    api.post(BASE + VIDEO_INIT_PATH, status=500, payload=envelope(code="internal_error"))
    api.post(BASE + VIDEO_INIT_PATH, status=503, body="<html>busy</html>", content_type="text/html")
    api.post(BASE + VIDEO_INIT_PATH, payload=envelope({"publish_id": "v1", "upload_url": "https://u/?t=1"}))
    result = await client.init(FILE_INIT, pull_from_url=False)
    assert result.publish_id == "v1"
    assert len(calls(api, VIDEO_INIT_PATH)) == 3
    assert len(clock.slept) == 2
    assert 0 <= clock.slept[0] <= 1.0
    assert 0 <= clock.slept[1] <= 2.0


async def test_retry_budget_spent_raises_the_transient_error(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + STATUS_PATH, status=502, payload=envelope(code="internal_error"), repeat=True)
    with pytest.raises(TransientError) as raised:
        await client.fetch_status("p")
    assert raised.value.retryable
    assert len(calls(api, STATUS_PATH)) == 4


async def test_rate_limited_answer_waits_out_the_one_minute_window(
    client: TikTokClient, api: aioresponses, clock: FakeClock,
) -> None:
    api.post(BASE + STATUS_PATH, status=429, payload=envelope(code="rate_limit_exceeded"))
    api.post(BASE + STATUS_PATH, payload=envelope({"status": "PUBLISH_COMPLETE"}))
    await client.fetch_status("p")
    assert 60 <= clock.slept[0] <= 61


async def test_retry_after_header_is_honoured(client: TikTokClient, api: aioresponses, clock: FakeClock) -> None:
    api.post(BASE + STATUS_PATH, status=429, payload=envelope(code="rate_limit_exceeded"),
             headers={"Retry-After": "7"})
    api.post(BASE + STATUS_PATH, payload=envelope({"status": "PUBLISH_COMPLETE"}))
    await client.fetch_status("p")
    assert 7 <= clock.slept[0] <= 8


@pytest.mark.parametrize("code", ["privacy_level_option_mismatch", "unaudited_client_can_only_post_to_private_accounts",
                                  "url_ownership_unverified"])
async def test_permanent_refusals_are_not_retried(client: TikTokClient, api: aioresponses, code: str) -> None:
    api.post(BASE + VIDEO_INIT_PATH, status=403, payload=envelope(code=code, message="no"))
    with pytest.raises(PermanentError) as raised:
        await client.init(FILE_INIT, pull_from_url=False)
    assert raised.value.code == code
    assert not raised.value.retryable
    assert len(calls(api, VIDEO_INIT_PATH)) == 1


async def test_rejected_token_is_refreshed_once_then_the_request_is_sent_again(
    client: TikTokClient, api: aioresponses, tokens: Tokens,
) -> None:
    api.post(BASE + STATUS_PATH, status=401, payload=envelope(code="access_token_invalid"))
    api.post(BASE + STATUS_PATH, payload=envelope({"status": "PUBLISH_COMPLETE"}))
    await client.fetch_status("p")
    assert tokens.rejected == [TOKEN]
    assert calls(api, STATUS_PATH)[1].kwargs["headers"]["Authorization"] == f"Bearer {NEW_TOKEN}"


async def test_token_rejected_again_after_refresh_is_an_auth_error(
    client: TikTokClient, api: aioresponses, tokens: Tokens,
) -> None:
    api.post(BASE + STATUS_PATH, status=401, payload=envelope(code="access_token_invalid"), repeat=True)
    with pytest.raises(AuthError) as raised:
        await client.fetch_status("p")
    assert tokens.rejected == [TOKEN]
    assert TOKEN not in str(raised.value)
    assert NEW_TOKEN not in str(raised.value)


@pytest.mark.parametrize("exc", [aiohttp.ServerDisconnectedError(), TimeoutError(),
                                 aiohttp.ClientOSError(104, "Connection reset by peer")])
async def test_lost_answer_to_a_pull_init_is_uncertain_and_not_sent_again(
    client: TikTokClient, api: aioresponses, exc: Exception,
) -> None:
    api.post(BASE + CONTENT_INIT_PATH, exception=exc)
    with pytest.raises(UncertainOutcome) as raised:
        await client.init(PHOTO_INIT, pull_from_url=True)
    assert len(calls(api, CONTENT_INIT_PATH)) == 1
    assert "TikTok app" in str(raised.value)
    assert "crosspost status" in str(raised.value)


async def test_gateway_error_without_a_tiktok_answer_to_a_pull_init_is_uncertain(
    client: TikTokClient, api: aioresponses,
) -> None:
    api.post(BASE + CONTENT_INIT_PATH, status=504, body="Gateway Timeout", content_type="text/plain")
    with pytest.raises(UncertainOutcome):
        await client.init(PHOTO_INIT, pull_from_url=True)


async def test_tiktok_internal_error_on_a_pull_init_is_retried(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + CONTENT_INIT_PATH, status=500, payload=envelope(code="internal_error"))
    api.post(BASE + CONTENT_INIT_PATH, payload=envelope({"publish_id": "p_pub_url~v2.1"}))
    result = await client.init(PHOTO_INIT, pull_from_url=True)
    assert result.publish_id == "p_pub_url~v2.1"
    assert result.upload_url is None


async def test_connection_refused_before_sending_a_pull_init_is_retried(
    client: TikTokClient, api: aioresponses,
) -> None:
    refused = aiohttp.ClientConnectorError(mock.Mock(), OSError(111, "Connection refused"))
    api.post(BASE + CONTENT_INIT_PATH, exception=refused)
    api.post(BASE + CONTENT_INIT_PATH, payload=envelope({"publish_id": "p_pub_url~v2.2"}))
    assert (await client.init(PHOTO_INIT, pull_from_url=True)).publish_id == "p_pub_url~v2.2"


async def test_lost_answer_to_a_file_upload_init_is_sent_again(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + VIDEO_INIT_PATH, exception=aiohttp.ServerDisconnectedError())
    api.post(BASE + VIDEO_INIT_PATH, payload=envelope({"publish_id": "v2", "upload_url": "https://u/?t=2"}))
    result = await client.init(FILE_INIT, pull_from_url=False)
    assert result.publish_id == "v2"
    assert "t=2" not in repr(result)  # the upload token stays out of reprs


async def test_network_failures_become_crosspost_errors(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + STATUS_PATH, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(AnswerLost) as raised:
        await client.fetch_status("p")
    assert isinstance(raised.value, TransientError)
    assert raised.value.code == "network"
    refused = aiohttp.ClientConnectorError(mock.Mock(), OSError(111, "Connection refused"))
    api.post(BASE + CREATOR_INFO_PATH, exception=refused, repeat=True)
    with pytest.raises(NotSent):
        await client.creator_info()


async def test_rate_gate_keys_name_the_token_by_fingerprint_only(
    client: TikTokClient, api: aioresponses, gate: MemoryRateGate,
) -> None:
    api.post(BASE + STATUS_PATH, payload=envelope({"status": "PUBLISH_COMPLETE"}))
    api.post(BASE + VIDEO_INIT_PATH, payload=envelope({"publish_id": "v", "upload_url": "https://u/?t=3"}))
    await client.fetch_status("p")
    await client.init(FILE_INIT, pull_from_url=False)
    fingerprint = token_fingerprint(TOKEN)
    assert gate.keys == [f"tiktok:{fingerprint}:status", f"tiktok:{fingerprint}:init"]
    assert all(TOKEN not in key for key in gate.keys)


async def test_init_answer_without_upload_url_for_file_upload_is_an_error(
    client: TikTokClient, api: aioresponses,
) -> None:
    api.post(BASE + VIDEO_INIT_PATH, payload=envelope({"publish_id": "v"}), repeat=True)
    with pytest.raises(TransientError, match="upload_url"):
        await client.init(FILE_INIT, pull_from_url=False)


async def test_rate_limited_is_typed(client: TikTokClient, api: aioresponses) -> None:
    api.post(BASE + STATUS_PATH, status=429, payload=envelope(code="rate_limit_exceeded"), repeat=True)
    with pytest.raises(RateLimited):
        await client.fetch_status("p")
