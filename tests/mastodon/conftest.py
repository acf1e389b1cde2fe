"""Fixtures for the Mastodon tests: the emulator on loopback, a platform, an account and job contexts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.plugins.mastodon.emulator import EmuAccount, EmulatorServer, EmulatorState
from crosspost.plugins.mastodon.platform import MastodonPlatform
from crosspost.testing.context import FakeJobContext

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4096


@pytest.fixture
def emulator_state(fake_clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=fake_clock)


@pytest.fixture
def emu_account(emulator_state: EmulatorState) -> EmuAccount:
    return emulator_state.add_account(username="alice", display_name="Alice", token="emu-token-alice-0123456789")


@pytest.fixture
async def emulator(emulator_state: EmulatorState, emu_account: EmuAccount) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(emulator_state) as server:
        yield server


@pytest.fixture
def crosspost_env() -> dict[str, str]:
    return {"CROSSPOST_MASTODON_MEDIA_POLL_INTERVAL": "1", "CROSSPOST_MASTODON_MEDIA_POLL_TIMEOUT": "30"}


@pytest.fixture
def platform() -> MastodonPlatform:
    return MastodonPlatform()


@pytest.fixture
def account(emulator: EmulatorServer, emu_account: EmuAccount) -> Account:
    return Account(platform="mastodon", name="main", secrets={"access_token": emu_account.token},
                   profile={"instance": emulator.base_url, "username": emu_account.username})


@pytest.fixture
def ctx(crosspost_job_context: Callable[..., FakeJobContext], account: Account) -> FakeJobContext:
    return crosspost_job_context("mastodon:main", account=account, job_id="job-1")


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(JPEG)
    return path


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(MP4)
    return path
