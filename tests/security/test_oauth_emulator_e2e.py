"""OAuth and webhooks end to end against the TikTok emulator (real loopback HTTP, fake clock).

authorize (the emulator's consent page) -> redirect to crosspost's loopback listener -> exchange
-> refresh with rotation -> revoke; plus a refused state, a missing scope, a declined consent, a
dead refresh token, a base64url PKCE challenge, and a signed webhook verified by the receiver.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from aiohttp import web

from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.oauth import (
    AuthorizationDenied,
    OAuthApp,
    StateMismatch,
    TokenSet,
    authorize_url,
    exchange_code,
    login_via_loopback,
    missing_scope_error,
    new_state,
    refresh_tokens,
    revoke_token,
)
from crosspost.plugins.tiktok.webhooks import WebhookEvent, WebhookOutcome, make_webhook_app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=clock.timestamp, rotate_refresh_tokens=True, access_token_ttl=7200,
                         refresh_token_ttl=15_552_000)  # fmt: skip


@pytest.fixture
async def emulator(state: EmulatorState) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(state) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _app(emulator: EmulatorServer) -> OAuthApp:
    state = emulator.state
    base = emulator.base_url
    return OAuthApp(client_key=state.client_key, client_secret=state.client_secret, api_base=base, auth_base=base)


class Browser:
    """Opens the authorize URL like a browser: follows the emulator's redirect to the loopback."""

    def __init__(self, rewrite: Callable[[str], str] = lambda url: url) -> None:
        self.rewrite = rewrite
        self.visits: list[asyncio.Task[int]] = []

    def open(self, url: str) -> None:
        self.visits.append(asyncio.create_task(self._visit(self.rewrite(url))))

    async def _visit(self, url: str) -> int:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            return resp.status


async def _login(http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock) -> TokenSet:
    browser = Browser()
    tokens = await login_via_loopback(http, app=_app(emulator), clock=clock, open_browser=browser.open)
    assert await browser.visits[0] == 200
    return tokens


async def test_login_refresh_rotation_and_revoke_end_to_end(
    http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock
) -> None:
    app = _app(emulator)
    creator = emulator.state.add_creator(username="maker")
    tokens = await _login(http, emulator, clock)
    assert tokens.open_id == creator.open_id
    assert tokens.missing_scopes() == []
    assert tokens.expires_at == clock.now() + timedelta(seconds=7200)  # from expires_in, not a constant
    assert tokens.refresh_expires_at == clock.now() + timedelta(days=180)
    assert emulator.state.valid_access_token(tokens.access_token) is not None

    clock.advance(7000)
    kw = {"api_base": app.api_base, "client_key": app.client_key, "client_secret": app.client_secret}
    rotated = await refresh_tokens(http, **kw, refresh_token=tokens.refresh_token, now=clock.now(), account="main")
    assert rotated.refresh_token != tokens.refresh_token
    assert rotated.access_token != tokens.access_token
    assert rotated.expires_at == clock.now() + timedelta(seconds=7200)

    with pytest.raises(AuthError) as old:  # the consumed refresh token died with the rotation
        await refresh_tokens(http, **kw, refresh_token=tokens.refresh_token, now=clock.now(), account="main")
    assert old.value.needs_login
    assert "crosspost accounts login tiktok main" in str(old.value)

    await revoke_token(http, **kw, access_token=rotated.access_token)
    assert emulator.state.valid_access_token(rotated.access_token) is None
    with pytest.raises(AuthError, match="invalid_grant"):
        await refresh_tokens(http, **kw, refresh_token=rotated.refresh_token, now=clock.now())


async def test_callback_with_a_tampered_state_is_refused_and_nothing_is_exchanged(
    http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock
) -> None:
    emulator.state.add_creator()

    def forge(url: str) -> str:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": new_state()}
        return parts._replace(query=urlencode(query)).geturl()

    browser = Browser(forge)
    with pytest.raises(StateMismatch):
        await login_via_loopback(http, app=_app(emulator), clock=clock, open_browser=browser.open)
    assert await browser.visits[0] == 400
    assert emulator.state.auth_codes  # the code was issued but never redeemed


async def test_login_that_grants_fewer_scopes_is_detected(
    http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock
) -> None:
    emulator.state.add_creator(scopes=("user.info.basic", "video.upload"))
    tokens = await _login(http, emulator, clock)
    assert tokens.scopes == ("user.info.basic", "video.upload")
    assert tokens.missing_scopes() == ["video.publish"]
    assert "TikTok did not grant video.publish" in str(missing_scope_error(tokens.missing_scopes()))


async def test_declined_consent_is_reported_as_declined(
    http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock
) -> None:
    emulator.state.add_creator(deny_authorization=True)
    browser = Browser()
    with pytest.raises(AuthorizationDenied, match="declined"):
        await login_via_loopback(http, app=_app(emulator), clock=clock, open_browser=browser.open)


async def test_expired_refresh_token_asks_the_user_to_log_in_again(
    http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock
) -> None:
    emulator.state.add_creator()
    tokens = await _login(http, emulator, clock)
    emulator.state.advance_clock(15_552_001)
    app = _app(emulator)
    with pytest.raises(AuthError) as info:
        await refresh_tokens(
            http,
            api_base=app.api_base,
            client_key=app.client_key,
            client_secret=app.client_secret,
            refresh_token=tokens.refresh_token,
            now=clock.now(),
            account="studio",
        )
    assert info.value.needs_login
    assert "crosspost accounts login tiktok studio" in str(info.value)
    assert tokens.refresh_token not in str(info.value.to_dict())


async def test_rfc7636_base64url_challenge_fails_the_exchange_with_the_fix(
    http: aiohttp.ClientSession, emulator: EmulatorServer, clock: FakeClock
) -> None:
    emulator.state.add_creator()
    app = _app(emulator)
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = "http://127.0.0.1:9/callback/"
    url = authorize_url(client_key=app.client_key, redirect_uri=redirect, scopes=["video.publish"], state="s",
                        code_challenge=challenge, base=app.auth_base)  # fmt: skip
    async with http.get(url, allow_redirects=False) as resp:
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    with pytest.raises(AuthError, match="hex SHA-256"):
        await exchange_code(http, api_base=app.api_base, client_key=app.client_key, client_secret=app.client_secret,
                            code=code, redirect_uri=redirect, code_verifier=verifier, now=clock.now())  # fmt: skip


async def test_emulator_webhook_is_verified_and_parsed_by_the_receiver(
    emulator: EmulatorServer, clock: FakeClock
) -> None:
    state = emulator.state
    creator = state.add_creator()
    received: list[WebhookEvent] = []
    arrived = asyncio.Event()

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)
        arrived.set()

    receiver = web.AppRunner(make_webhook_app(client_secret=state.client_secret, on_event=on_event, clock=clock))
    await receiver.setup()
    site = web.TCPSite(receiver, "127.0.0.1", 0)
    await site.start()
    try:
        state.webhook_url = f"http://127.0.0.1:{receiver.addresses[0][1]}/"
        state.remove_authorization(creator.open_id, reason=1)
        async with asyncio.timeout(10):
            await arrived.wait()
    finally:
        await receiver.cleanup()
    assert [d.status for d in state.webhook_deliveries] == [200]
    assert received[0].outcome is WebhookOutcome.AUTHORIZATION_REMOVED
    assert received[0].user_openid == creator.open_id
    assert received[0].reason == "the user disconnected the app"
