"""The emulator behaves like a Mastodon server where crosspost depends on it (real loopback HTTP)."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from crosspost.core.clock import FakeClock
from crosspost.plugins.mastodon.emulator import EmuAccount, EmulatorServer, EmulatorState, RouteFault
from tests.mastodon.conftest import JPEG, MP4


def auth(account: EmuAccount, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}", **extra}


async def upload(http: aiohttp.ClientSession, server: EmulatorServer, account: EmuAccount, data: bytes,
                 mime: str) -> tuple[int, dict[str, object]]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="f", content_type=mime)
    form.add_field("description", "alt text")
    async with http.post(f"{server.base_url}/api/v2/media", data=form, headers=auth(account)) as resp:
        return resp.status, await resp.json()


async def test_instance_configuration_is_configurable_per_test(
        emulator: EmulatorServer, crosspost_http: aiohttp.ClientSession) -> None:
    emulator.state.config.max_characters = 1234
    async with crosspost_http.get(f"{emulator.base_url}/api/v2/instance") as resp:
        body = await resp.json()
    assert body["configuration"]["statuses"]["max_characters"] == 1234
    emulator.state.config.v2 = False
    async with crosspost_http.get(f"{emulator.base_url}/api/v2/instance") as resp:
        assert resp.status == 404
    async with crosspost_http.get(f"{emulator.base_url}/api/v1/instance") as resp:
        assert (await resp.json())["max_toot_chars"] == 1234


async def test_verify_credentials_needs_a_valid_token(emulator: EmulatorServer, emu_account: EmuAccount,
                                                      crosspost_http: aiohttp.ClientSession) -> None:
    url = f"{emulator.base_url}/api/v1/accounts/verify_credentials"
    async with crosspost_http.get(url, headers=auth(emu_account)) as resp:
        assert (await resp.json())["username"] == "alice"
    async with crosspost_http.get(url, headers={"Authorization": "Bearer wrong"}) as resp:
        assert resp.status == 401
        assert (await resp.json()) == {"error": "The access token is invalid"}


async def test_video_is_202_then_206_until_processed_then_200(
        emulator: EmulatorServer, emu_account: EmuAccount, crosspost_http: aiohttp.ClientSession,
        fake_clock: FakeClock) -> None:
    emulator.state.config.processing_seconds = 10
    status, body = await upload(crosspost_http, emulator, emu_account, MP4, "video/mp4")
    assert status == 202
    assert body["url"] is None
    url = f"{emulator.base_url}/api/v1/media/{body['id']}"
    async with crosspost_http.get(url, headers=auth(emu_account)) as resp:
        assert resp.status == 206
    fake_clock.advance(10)
    async with crosspost_http.get(url, headers=auth(emu_account)) as resp:
        assert resp.status == 200
        assert (await resp.json())["url"]


async def test_a_small_image_is_processed_inline(emulator: EmulatorServer, emu_account: EmuAccount,
                                                 crosspost_http: aiohttp.ClientSession) -> None:
    status, body = await upload(crosspost_http, emulator, emu_account, JPEG, "image/jpeg")
    assert status == 200
    assert body["url"]
    assert body["description"] == "alt text"


async def test_a_type_the_instance_does_not_take_is_422(emulator: EmulatorServer, emu_account: EmuAccount,
                                                        crosspost_http: aiohttp.ClientSession) -> None:
    emulator.state.config.supported_mime_types = ["image/jpeg"]
    status, body = await upload(crosspost_http, emulator, emu_account, MP4, "video/mp4")
    assert status == 422
    assert "content type is invalid" in str(body["error"])


async def post_status(http: aiohttp.ClientSession, server: EmulatorServer, account: EmuAccount,
                      body: dict[str, object], key: str | None = None) -> tuple[int, dict[str, object]]:
    headers = auth(account, **({"Idempotency-Key": key} if key else {}))
    async with http.post(f"{server.base_url}/api/v1/statuses", json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_the_same_idempotency_key_within_the_hour_returns_the_same_status(
        emulator: EmulatorServer, emu_account: EmuAccount, crosspost_http: aiohttp.ClientSession,
        fake_clock: FakeClock) -> None:
    first = await post_status(crosspost_http, emulator, emu_account, {"status": "hello"}, key="k1")
    again = await post_status(crosspost_http, emulator, emu_account, {"status": "hello"}, key="k1")
    assert first == again
    assert len(emulator.state.statuses) == 1
    fake_clock.advance(3601)
    later = await post_status(crosspost_http, emulator, emu_account, {"status": "hello"}, key="k1")
    assert later[1]["id"] != first[1]["id"]
    assert len(emulator.state.statuses) == 2


async def test_idempotency_keys_are_scoped_per_account(emulator: EmulatorServer, emu_account: EmuAccount,
                                                       crosspost_http: aiohttp.ClientSession) -> None:
    bob = emulator.state.add_account(username="bob")
    await post_status(crosspost_http, emulator, emu_account, {"status": "a"}, key="same")
    await post_status(crosspost_http, emulator, bob, {"status": "b"}, key="same")
    assert len(emulator.state.statuses) == 2


@pytest.mark.parametrize(("body", "text"), [
    ({"status": ""}, "Validation failed: Text can't be blank"),
    ({"status": "x" * 501}, "Validation failed: Text character limit of 500 exceeded"),
    ({"status": "x", "visibility": "everyone"}, "Validation failed: Visibility is not included in the list"),
])
async def test_status_422_texts(emulator: EmulatorServer, emu_account: EmuAccount,
                                crosspost_http: aiohttp.ClientSession, body: dict[str, object], text: str) -> None:
    assert await post_status(crosspost_http, emulator, emu_account, body) == (422, {"error": text})


async def test_unprocessed_media_cannot_be_attached(emulator: EmulatorServer, emu_account: EmuAccount,
                                                    crosspost_http: aiohttp.ClientSession) -> None:
    emulator.state.config.processing_seconds = 30
    _, media = await upload(crosspost_http, emulator, emu_account, MP4, "video/mp4")
    status, body = await post_status(crosspost_http, emulator, emu_account, {"status": "v", "media_ids": [media["id"]]})
    assert status == 422
    assert "not finished processing" in str(body["error"])


async def test_video_and_images_do_not_mix_and_the_count_is_capped(
        emulator: EmulatorServer, emu_account: EmuAccount, crosspost_http: aiohttp.ClientSession) -> None:
    _, video = await upload(crosspost_http, emulator, emu_account, MP4, "video/mp4")
    _, image = await upload(crosspost_http, emulator, emu_account, JPEG, "image/jpeg")
    status, body = await post_status(crosspost_http, emulator, emu_account,
                                     {"status": "v", "media_ids": [video["id"], image["id"]]})
    assert (status, body["error"]) == (422, "Cannot attach a video to a post that already contains images")
    status, body = await post_status(crosspost_http, emulator, emu_account,
                                     {"status": "v", "media_ids": [image["id"]] * 5})
    assert (status, body["error"]) == (422, "Cannot attach more than 4 files")


async def test_rate_limit_headers_and_429(emulator: EmulatorServer, emu_account: EmuAccount,
                                          crosspost_http: aiohttp.ClientSession, fake_clock: FakeClock) -> None:
    emulator.state.rate.limit = 2
    url = f"{emulator.base_url}/api/v1/accounts/verify_credentials"
    remaining = []
    for _ in range(3):
        async with crosspost_http.get(url, headers=auth(emu_account)) as resp:
            remaining.append((resp.status, resp.headers["X-RateLimit-Remaining"]))
            reset = resp.headers["X-RateLimit-Reset"]
    assert remaining == [(200, "1"), (200, "0"), (429, "0")]
    assert reset == (fake_clock.now() + timedelta(seconds=300)).isoformat(timespec="microseconds")


async def test_oauth_app_registration_and_pkce_are_checked(emulator: EmulatorServer,
                                                           crosspost_http: aiohttp.ClientSession) -> None:
    base = emulator.base_url
    redirect = "http://127.0.0.1:1/callback"
    async with crosspost_http.post(f"{base}/api/v1/apps", json={"client_name": "t", "redirect_uris": redirect,
                                                                "scopes": "read"}) as resp:
        app = await resp.json()
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

    async def code() -> str:
        params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect, "state": "s",
                  "code_challenge": challenge, "code_challenge_method": "S256", "scope": "read"}
        async with crosspost_http.get(f"{base}/oauth/authorize", params=params, allow_redirects=False) as resp:
            assert resp.status == 302
            return parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]

    def exchange(the_code: str, the_verifier: str) -> dict[str, str]:
        return {"grant_type": "authorization_code", "code": the_code, "client_id": app["client_id"],
                "client_secret": app["client_secret"], "redirect_uri": redirect, "code_verifier": the_verifier}

    async with crosspost_http.post(f"{base}/oauth/token", data=exchange(await code(), "wrong")) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"
    async with crosspost_http.post(f"{base}/oauth/token", data=exchange(await code(), verifier)) as resp:
        assert resp.status == 200
        assert (await resp.json())["token_type"] == "Bearer"


async def test_route_faults_before_and_after_commit(emulator: EmulatorServer, emu_account: EmuAccount,
                                                    crosspost_http: aiohttp.ClientSession) -> None:
    state: EmulatorState = emulator.state
    state.faults.append(RouteFault(route="POST /api/v1/statuses", status=503, when="before"))
    assert (await post_status(crosspost_http, emulator, emu_account, {"status": "a"}))[0] == 503
    assert len(state.statuses) == 0
    state.faults.append(RouteFault(route="POST /api/v1/statuses", status=502, when="after"))
    assert (await post_status(crosspost_http, emulator, emu_account, {"status": "a"}))[0] == 502
    assert len(state.statuses) == 1
    state.faults.append(RouteFault(route="POST /api/v1/statuses", when="after", drop=True))
    with pytest.raises(aiohttp.ClientError):
        await post_status(crosspost_http, emulator, emu_account, {"status": "b"})
    assert len(state.statuses) == 2


async def test_admin_api_configures_scripts_and_shows(emulator: EmulatorServer,
                                                      crosspost_http: aiohttp.ClientSession) -> None:
    admin = f"{emulator.base_url}/_emulator"
    async with crosspost_http.patch(f"{admin}/config", json={"max_characters": 777}) as resp:
        assert (await resp.json())["max_characters"] == 777
    async with crosspost_http.patch(f"{admin}/config", json={"nonsense": 1}) as resp:
        assert resp.status == 400
    async with crosspost_http.post(f"{admin}/accounts", json={"username": "carol"}) as resp:
        carol = await resp.json()
    async with crosspost_http.post(f"{admin}/faults", json={"route": "POST /api/v2/media", "status": 500}) as resp:
        assert resp.status == 200
    async with crosspost_http.put(f"{admin}/rate", json={"limit": 5, "window": 60}) as resp:
        assert await resp.json() == {"limit": 5, "window": 60.0}
    async with crosspost_http.get(f"{admin}/state") as resp:
        state = await resp.json()
    assert state["config"]["max_characters"] == 777
    assert "carol" in [a["username"] for a in state["accounts"]]
    assert state["faults"][0]["route"] == "POST /api/v2/media"
    assert carol["access_token"] in emulator.state.accounts
