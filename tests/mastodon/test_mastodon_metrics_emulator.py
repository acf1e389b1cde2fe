"""The emulator's status counters: growing over its clock, deterministic per seed, adjustable, 404 once deleted."""

from __future__ import annotations

import itertools
from typing import Any

import aiohttp

from crosspost.core.clock import FakeClock
from crosspost.plugins.mastodon.emulator import EmuAccount, EmulatorServer, EmulatorState


def _status(state: EmulatorState, account: EmuAccount, text: str = "hello", visibility: str = "public") -> str:
    return state.create_status(account, text=text, spoiler_text="", visibility=visibility, sensitive=False,
                               language=None, media_ids=[], in_reply_to_id=None, key=None).id


async def _get(http: aiohttp.ClientSession, url: str, token: str) -> tuple[int, Any]:
    async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json()


async def test_counters_grow_with_the_clock(
        emulator: EmulatorServer, emu_account: EmuAccount, fake_clock: FakeClock) -> None:
    state = emulator.state
    status_id = _status(state, emu_account)
    url = f"{emulator.base_url}/api/v1/statuses/{status_id}"
    readings = []
    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            code, body = await _get(http, url, emu_account.token)
            assert code == 200
            assert body["id"] == status_id
            readings.append((body["favourites_count"], body["reblogs_count"], body["replies_count"]))
            fake_clock.advance(24 * 3600)
    assert readings[0] == (0, 0, 0)
    assert readings[1] < readings[2]
    assert all(a <= b for first, second in itertools.pairwise(readings)
               for a, b in zip(first, second, strict=True))


def test_the_same_seed_gives_the_same_numbers() -> None:
    from tests.analytics.conftest import T0

    counts = []
    for _ in range(2):
        clock = FakeClock(T0)
        state = EmulatorState(clock=clock, rng_seed=5)
        account = state.add_account(username="bob", token="emu-token-bob-0123456789012")
        status = state.statuses[_status(state, account)]
        clock.advance(7 * 24 * 3600)
        counts.append(state.counters(status))
    assert counts[0] == counts[1]
    assert counts[0]["favourites_count"] > 0


async def test_admin_adds_counts_and_delete_makes_the_status_404(
        emulator: EmulatorServer, emu_account: EmuAccount) -> None:
    state = emulator.state
    status_id = _status(state, emu_account)
    base = emulator.base_url
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/_emulator/statuses/{status_id}/counters", json={"reblogs_count": 5}) as resp:
            assert resp.status == 200
        async with http.post(f"{base}/_emulator/statuses/{status_id}/counters", json={"views": 5}) as resp:
            assert resp.status == 400
        code, body = await _get(http, f"{base}/api/v1/statuses/{status_id}", emu_account.token)
        assert body["reblogs_count"] == 5
        async with http.delete(f"{base}/api/v1/statuses/{status_id}",
                               headers={"Authorization": f"Bearer {emu_account.token}"}) as resp:
            assert resp.status == 200
        code, body = await _get(http, f"{base}/api/v1/statuses/{status_id}", emu_account.token)
        assert (code, body) == (404, {"error": "Record not found"})


async def test_a_private_status_is_404_to_another_account_and_verify_credentials_counts(
        emulator: EmulatorServer, emu_account: EmuAccount) -> None:
    state = emulator.state
    bob = state.add_account(username="bob", token="emu-token-bob-0123456789012")
    private = _status(state, emu_account, visibility="private")
    async with aiohttp.ClientSession() as http:
        code, _ = await _get(http, f"{emulator.base_url}/api/v1/statuses/{private}", bob.token)
        assert code == 404
        async with http.patch(f"{emulator.base_url}/_emulator/accounts/{emu_account.id}",
                              json={"followers": 99}) as resp:
            assert resp.status == 200
        code, me = await _get(http, f"{emulator.base_url}/api/v1/accounts/verify_credentials", emu_account.token)
    assert (me["followers_count"], me["following_count"], me["statuses_count"]) == (99, 7, 1)
