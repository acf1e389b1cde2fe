"""Authorize, token exchange with TikTok's hex PKCE, refresh (with and without rotation),
revoke and /v2/user/info/, over loopback HTTP."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import aiohttp
import pytest
import yarl

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

REDIRECT = "http://127.0.0.1:8765/callback/"
VERIFIER = "v" * 43 + "-._~0123456789"


def hex_challenge(verifier: str) -> str:
    return hashlib.sha256(verifier.encode()).hexdigest()


async def authorize(http: aiohttp.ClientSession, emu: EmulatorServer, challenge: str | None = None,
                    scope: str = "user.info.basic,video.publish", **extra: str) -> dict[str, str]:
    """The query of the authorize redirect (the page auto-approves)."""
    params = {"client_key": "emu-client-key", "scope": scope, "redirect_uri": REDIRECT, "state": "csrf-1",
              "response_type": "code", **extra}
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    async with http.get(emu.base_url + "/v2/auth/authorize/", params=params, allow_redirects=False) as response:
        assert response.status == 302
        location = yarl.URL(response.headers["Location"])
    assert str(location.with_query(None)) == REDIRECT
    return dict(location.query)


async def token_call(http: aiohttp.ClientSession, emu: EmulatorServer, **form: str) -> tuple[int, dict[str, Any]]:
    fields = {"client_key": "emu-client-key", "client_secret": "emu-client-secret", **form}
    async with http.post(emu.base_url + "/v2/oauth/token/", data=fields) as response:
        return response.status, await response.json()


async def exchange(http: aiohttp.ClientSession, emu: EmulatorServer, code: str,
                   verifier: str = VERIFIER) -> tuple[int, dict[str, Any]]:
    return await token_call(http, emu, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                            code_verifier=verifier)


async def creator_info_status(http: aiohttp.ClientSession, emu: EmulatorServer, token: str) -> int:
    async with http.post(emu.base_url + "/v2/post/publish/creator_info/query/",
                         headers={"Authorization": f"Bearer {token}"}) as response:
        return response.status


async def test_authorize_redirects_with_code_granted_scopes_and_state(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.add_creator(scopes=("user.info.basic", "video.upload"))
    query = await authorize(http, emu, hex_challenge(VERIFIER), scope="user.info.basic,video.publish,video.upload")
    assert query["scopes"] == "user.info.basic,video.upload"  # the user granted a subset
    assert query["state"] == "csrf-1"
    assert query["code"]


async def test_denying_creator_redirects_with_access_denied(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.add_creator(deny_authorization=True)
    query = await authorize(http, emu)
    assert (query["error"], query["state"]) == ("access_denied", "csrf-1")
    assert "code" not in query


async def test_hex_pkce_exchange_returns_the_flat_token_response(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    query = await authorize(http, emu, hex_challenge(VERIFIER))
    status, body = await exchange(http, emu, query["code"])
    assert status == 200
    assert set(body) == {"access_token", "expires_in", "open_id", "refresh_expires_in", "refresh_token", "scope",
                         "token_type"}
    assert body["access_token"].startswith("act.")
    assert body["refresh_token"].startswith("rft.")
    assert (body["expires_in"], body["refresh_expires_in"]) == (86_400, 31_536_000)
    assert (body["open_id"], body["scope"], body["token_type"]) == (creator.open_id, "user.info.basic,video.publish",
                                                                    "Bearer")
    assert await creator_info_status(http, emu, body["access_token"]) == 200


async def test_base64url_challenge_fails_the_exchange_as_tiktok_does(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.add_creator()
    rfc7636 = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    query = await authorize(http, emu, rfc7636)
    status, body = await exchange(http, emu, query["code"])
    assert (status, body["error"], body["error_description"]) == (
        400, "invalid_request", "Code verifier or code challenge is invalid.")
    assert len(body["log_id"]) == 34


async def test_codes_are_single_use_and_bound_to_the_redirect_uri(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.add_creator()
    query = await authorize(http, emu, hex_challenge(VERIFIER))
    assert (await exchange(http, emu, query["code"]))[0] == 200
    status, body = await exchange(http, emu, query["code"])
    assert (status, body["error"]) == (400, "invalid_grant")
    query = await authorize(http, emu, hex_challenge(VERIFIER))
    status, body = await token_call(http, emu, grant_type="authorization_code", code=query["code"],
                                    redirect_uri="http://127.0.0.1:9999/other/", code_verifier=VERIFIER)
    assert (status, body["error"]) == (400, "invalid_request")


async def test_token_endpoint_refuses_json_bodies_and_wrong_secrets(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    form = {"client_key": "emu-client-key", "client_secret": "emu-client-secret", "grant_type": "refresh_token",
            "refresh_token": creator.refresh_token}
    async with http.post(emu.base_url + "/v2/oauth/token/", json=form) as response:
        assert (response.status, (await response.json())["error"]) == (400, "invalid_request")
    status, body = await token_call(http, emu, client_secret="wrong", grant_type="refresh_token",
                                    refresh_token=creator.refresh_token)
    assert (status, body["error"]) == (401, "invalid_client")


async def test_refresh_returns_the_same_refresh_token_unless_rotation_is_on(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock) -> None:
    creator = emu_state.add_creator()
    emu_clock.advance(1000)
    status, body = await token_call(http, emu, grant_type="refresh_token", refresh_token=creator.refresh_token)
    assert status == 200
    assert body["refresh_token"] == creator.refresh_token
    assert body["refresh_expires_in"] == 31_536_000 - 1000
    assert body["access_token"] != creator.access_token


async def test_rotation_kills_the_consumed_refresh_token(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    emu_state.rotate_refresh_tokens = True
    emu_state.access_token_ttl, emu_state.refresh_token_ttl = 7200, 15_552_000
    creator = emu_state.add_creator()
    _, body = await token_call(http, emu, grant_type="refresh_token", refresh_token=creator.refresh_token)
    assert body["refresh_token"] != creator.refresh_token
    assert (body["expires_in"], body["refresh_expires_in"]) == (7200, 15_552_000)
    status, stale = await token_call(http, emu, grant_type="refresh_token", refresh_token=creator.refresh_token)
    assert (status, stale["error"], stale["error_description"]) == (
        400, "invalid_grant", "Refresh token is invalid or expired.")
    assert (await token_call(http, emu, grant_type="refresh_token", refresh_token=body["refresh_token"]))[0] == 200


async def test_revoke_answers_an_empty_body_and_kills_the_users_tokens(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator()
    form = {"client_key": "emu-client-key", "client_secret": "emu-client-secret", "token": creator.access_token}
    async with http.post(emu.base_url + "/v2/oauth/revoke/", data=form) as response:
        assert (response.status, await response.read()) == (200, b"")
    assert await creator_info_status(http, emu, creator.access_token) == 401
    status, body = await token_call(http, emu, grant_type="refresh_token", refresh_token=creator.refresh_token)
    assert (status, body["error"]) == (400, "invalid_grant")
    assert emu_state.events[-1]["event"] == "authorization.removed"
    assert emu_state.events[-1]["content"] == '{"reason": 5}'


async def test_user_info_requires_fields_and_the_scope_of_each_field(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState) -> None:
    creator = emu_state.add_creator(nickname="Ana")
    headers = {"Authorization": f"Bearer {creator.access_token}"}
    url = emu.base_url + "/v2/user/info/"
    async with http.get(url, headers=headers) as response:
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (400, "invalid_params")
        assert body["error"]["message"] == "Fields is required, please provide fields in the request"
    async with http.get(url, headers=headers, params={"fields": "open_id,display_name"}) as response:
        assert (await response.json())["data"] == {"user": {"open_id": creator.open_id, "display_name": "Ana"}}
    async with http.get(url, headers=headers, params={"fields": "username"}) as response:
        assert (response.status, (await response.json())["error"]["code"]) == (401, "scope_not_authorized")


@pytest.mark.parametrize("ttl", [7200, 86_400])
async def test_access_tokens_expire_after_their_ttl_on_the_injected_clock(
        http: aiohttp.ClientSession, emu: EmulatorServer, emu_state: EmulatorState, emu_clock: FakeClock,
        ttl: int) -> None:
    emu_state.access_token_ttl = ttl
    token = emu_state.add_creator().access_token
    emu_clock.advance(ttl - 1)
    assert await creator_info_status(http, emu, token) == 200
    emu_clock.advance(1)
    assert await creator_info_status(http, emu, token) == 401
