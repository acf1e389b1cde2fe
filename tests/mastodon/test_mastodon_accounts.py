"""Connecting Mastodon accounts: imported tokens, OAuth with PKCE per instance, info and revoke."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import aiohttp
import attrs
import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError, ConfigError
from crosspost.core.settings import Settings
from crosspost.plugins.mastodon.emulator import EmuAccount, EmulatorServer
from crosspost.plugins.mastodon.platform import MastodonPlatform
from crosspost.testing.context import MemoryAccountAccess, MemoryRateGate

REDIRECT = "http://127.0.0.1:8765/callback"


@attrs.define
class Service:
    settings: Settings
    http: aiohttp.ClientSession
    clock: FakeClock
    rate: MemoryRateGate
    log: logging.Logger


@pytest.fixture
def service(crosspost_settings: Settings, crosspost_http: aiohttp.ClientSession, fake_clock: FakeClock) -> Service:
    return Service(settings=crosspost_settings, http=crosspost_http, clock=fake_clock,
                   rate=MemoryRateGate(fake_clock), log=logging.getLogger("test.mastodon"))


async def test_an_imported_token_is_verified_and_the_instance_stored(
        platform: MastodonPlatform, emulator: EmulatorServer, emu_account: EmuAccount, service: Service) -> None:
    account = await platform.connect_account("main", {"instance": emulator.base_url + "/",
                                                      "access_token": emu_account.token}, service)
    assert account.secrets == {"access_token": emu_account.token}
    assert account.profile["instance"] == emulator.base_url
    assert account.profile["username"] == "alice"
    assert emu_account.token not in repr(account)


async def test_a_wrong_token_is_refused_before_anything_is_stored(
        platform: MastodonPlatform, emulator: EmulatorServer, service: Service) -> None:
    with pytest.raises(AuthError, match="access token is invalid"):
        await platform.connect_account("main", {"instance": emulator.base_url, "access_token": "nope"}, service)


async def test_plain_http_is_refused_for_a_remote_instance(platform: MastodonPlatform, service: Service) -> None:
    with pytest.raises(ConfigError, match="loopback hosts only"):
        await platform.connect_account("main", {"instance": "http://mastodon.example", "access_token": "t"}, service)


async def login(platform: MastodonPlatform, emulator: EmulatorServer, service: Service, name: str = "main") -> Account:
    start = await platform.start_login(name, {"instance": emulator.base_url}, redirect_uri=REDIRECT, ctx=service)
    query = parse_qs(urlsplit(start.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["read write:statuses write:media"]
    assert query["state"] == [start.state]
    async with service.http.get(start.url, allow_redirects=False) as resp:  # the user clicks Authorize
        callback = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    assert callback["state"] == start.state
    return await platform.finish_login(name, start, callback, redirect_uri=REDIRECT, ctx=service)


async def test_login_registers_an_app_once_per_instance_and_exchanges_the_code_with_pkce(
        platform: MastodonPlatform, emulator: EmulatorServer, emu_account: EmuAccount, service: Service) -> None:
    account = await login(platform, emulator, service)
    assert account.secrets["access_token"] == emu_account.token
    assert set(account.secrets) == {"access_token", "client_id", "client_secret"}
    assert account.scopes == ("read", "write:statuses", "write:media")
    await login(platform, emulator, service, name="second")
    assert len(emulator.state.apps) == 1


async def test_a_tampered_verifier_fails_the_login(platform: MastodonPlatform, emulator: EmulatorServer,
                                                   service: Service) -> None:
    start = await platform.start_login("main", {"instance": emulator.base_url}, redirect_uri=REDIRECT, ctx=service)
    async with service.http.get(start.url, allow_redirects=False) as resp:
        callback = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}
    forged = attrs.evolve(start, pending={**start.pending, "verifier": "x" * 64})
    with pytest.raises(Exception, match="invalid_grant"):
        await platform.finish_login("main", forged, callback, redirect_uri=REDIRECT, ctx=service)


async def test_account_info_shows_the_profile_and_the_live_limits(
        platform: MastodonPlatform, emulator: EmulatorServer, emu_account: EmuAccount, service: Service) -> None:
    emulator.state.config.max_characters = 4242
    account = await platform.connect_account("main", {"instance": emulator.base_url,
                                                      "access_token": emu_account.token}, service)
    info = await platform.account_info(MemoryAccountAccess(account), service)
    assert info.username == f"alice@{emulator.base_url.split('://')[1]}"
    assert info.facts["limits"]["max_characters"] == 4242


async def test_revoke_revokes_a_token_crosspost_obtained(platform: MastodonPlatform, emulator: EmulatorServer,
                                                         emu_account: EmuAccount, service: Service) -> None:
    account = await login(platform, emulator, service)
    await platform.revoke_account(MemoryAccountAccess(account), service)
    with pytest.raises(AuthError):
        await platform.connect_account("again", {"instance": emulator.base_url,
                                                 "access_token": emu_account.token}, service)


async def test_revoking_an_imported_token_says_where_to_revoke_it(
        platform: MastodonPlatform, emulator: EmulatorServer, emu_account: EmuAccount, service: Service,
        caplog: pytest.LogCaptureFixture) -> None:
    account = await platform.connect_account("main", {"instance": emulator.base_url,
                                                      "access_token": emu_account.token}, service)
    await platform.revoke_account(MemoryAccountAccess(account), service)
    assert f"{emulator.base_url}/settings/applications" in caplog.text
    assert emu_account.token not in caplog.text
