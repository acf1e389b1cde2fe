"""Access tokens during jobs: refreshed before expiry and on rejection, once per account, rotated
refresh tokens stored before use, dead refresh tokens turned into a clear "log in again"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import AuthError
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.plugins.tiktok.auth import OAuthClient, TokenKeeper
from crosspost.plugins.tiktok.client import TikTokClient
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer, EmulatorState, token_fingerprint
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext, MemoryAccountAccess, MemoryRateGate

from .conftest import CLIENT_KEY, CLIENT_SECRET, account_for


class RecordingAccess(MemoryAccountAccess):
    """Remembers, at each stored update, which tokens the server had already seen."""

    def __init__(self, account: Account, state: EmulatorState) -> None:
        super().__init__(account)
        self.state = state
        self.seen_at_update: list[set[str | None]] = []

    async def update(self, account: Account) -> Account:
        self.seen_at_update.append({r.token_fingerprint for r in self.state.requests})
        return await super().update(account)


def keeper(access: MemoryAccountAccess, http: aiohttp.ClientSession, server: EmulatorServer,
           clock: FakeClock) -> TokenKeeper:
    app = OAuthClient(api_base=server.base_url, client_key=CLIENT_KEY, client_secret=CLIENT_SECRET)
    return TokenKeeper(access, http=http, app=app, clock=clock)


def token_requests(state: EmulatorState) -> list[int | None]:
    return [r.status for r in state.requests if r.route == "token"]


async def test_token_about_to_expire_is_refreshed_and_the_rotated_pair_stored_before_use(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    creator: Creator, clock: FakeClock, video: Callable[..., Path],
) -> None:
    state.rotate_refresh_tokens = True
    access = RecordingAccess(account_for(creator, clock, expires_in=120), state)  # inside the 5 min skew
    post = Post(content="x", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(video("mp4")))],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False,
                                           "allow_duet": False, "allow_stitch": False}})

    outcome = await platform.publish(post, make_ctx(account=access))

    stored = access.account
    new_fp = token_fingerprint(stored.secrets["access_token"])
    assert outcome.status is JobStatus.PUBLISHED
    assert token_requests(state) == [200]
    assert stored.secrets["refresh_token"] != creator.refresh_token  # rotated, and kept
    assert stored.access_expires_at is not None
    assert stored.access_expires_at > clock.now() + timedelta(hours=1)
    assert new_fp not in access.seen_at_update[0]  # stored before the new token was ever sent
    assert {r.token_fingerprint for r in state.requests if r.route not in ("token", "upload_put")} == {new_fp}
    assert {r.token_fingerprint for r in state.requests if r.route == "upload_put"} == {None}  # no bearer on PUTs


async def test_fifty_jobs_with_an_expired_token_cause_exactly_one_refresh(
    state: EmulatorState, server: EmulatorServer, creator: Creator, clock: FakeClock,
    http: aiohttp.ClientSession,
) -> None:
    access = MemoryAccountAccess(account_for(creator, clock, expires_in=-10))
    keepers = [keeper(access, http, server, clock) for _ in range(50)]

    tokens = await asyncio.gather(*(k.access_token() for k in keepers))

    assert token_requests(state) == [200]
    assert len(set(tokens)) == 1
    assert tokens[0] != creator.access_token
    assert sum(k.refreshes for k in keepers) == 1


async def test_rejected_token_is_refreshed_once_and_the_request_sent_again(
    state: EmulatorState, server: EmulatorServer, creator: Creator, clock: FakeClock,
    http: aiohttp.ClientSession,
) -> None:
    access = MemoryAccountAccess(account_for(creator, clock))
    del state.access_tokens[creator.access_token]  # TikTok no longer accepts it, though not yet expired
    client = TikTokClient(http, api_base=server.base_url, tokens=keeper(access, http, server, clock),
                          rate=MemoryRateGate(clock), clock=clock)

    info = await client.creator_info()

    assert info.username == creator.username
    assert [(r.route, r.status) for r in state.requests] == [("creator_info", 401), ("token", 200),
                                                               ("creator_info", 200)]


async def test_dead_refresh_token_asks_the_user_to_log_in_again(
    state: EmulatorState, server: EmulatorServer, creator: Creator, clock: FakeClock,
    http: aiohttp.ClientSession,
) -> None:
    state.revoke_tokens(creator.open_id)
    access = MemoryAccountAccess(account_for(creator, clock, expires_in=-1))

    with pytest.raises(AuthError) as raised:
        await keeper(access, http, server, clock).access_token()

    assert raised.value.needs_login
    assert "crosspost accounts login tiktok main" in str(raised.value)
    assert access.login_reasons
    assert access.account.needs_login
    assert creator.refresh_token not in str(raised.value)


async def test_no_token_reaches_logs_errors_or_rate_keys(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    creator: Creator, clock: FakeClock, video: Callable[..., Path], caplog: pytest.LogCaptureFixture,
    rate: object,
) -> None:
    caplog.set_level(logging.DEBUG)
    state.faults.add(route="upload_put", kind="drop", times=1)
    state.faults.add(route="video_init", kind="status", status=500, times=1)
    access = MemoryAccountAccess(account_for(creator, clock, expires_in=-1))
    ctx = make_ctx(account=access)
    post = Post(content="x", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(video("mp4")))],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False,
                                           "allow_duet": False, "allow_stitch": False}})

    outcome = await platform.publish(post, ctx)

    secrets = [creator.access_token, creator.refresh_token, *access.account.secrets.values(),
               *(upload.upload_token for upload in state.uploads.values())]
    keys = getattr(rate, "keys", [])
    assert outcome.status is JobStatus.PUBLISHED
    assert keys
    assert all(secret not in key for key in keys for secret in secrets)
    assert "retrying" in caplog.text
    assert "refreshed the TikTok access token" in caplog.text
    assert all(secret not in caplog.text for secret in secrets)
    assert "Bearer" not in caplog.text
