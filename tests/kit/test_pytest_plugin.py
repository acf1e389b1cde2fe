"""crosspost's pytest plugin: cheap to load, and its fixtures give isolated, fake-clocked pieces."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from crosspost.core import hookimpl
from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.errors import PluginError
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.platform import JobContext, Outcome, Platform, RegisterPlatform, Validation
from crosspost.core.plugins import Hooks
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.emulator import EmulatorServer
from crosspost.testing.context import FakeJobContext


class Instant(Platform):
    """Publishes at once, without HTTP."""

    name = "instant"
    needs_account = False

    async def validate(self, post: Post, ctx: JobContext) -> Validation:
        return Validation()

    async def publish(self, post: Post, ctx: JobContext) -> Outcome:
        await ctx.save({"done": True}, status=JobStatus.PROCESSING)
        return Outcome(status=JobStatus.PUBLISHED, publish_id=f"instant-{ctx.job_id}")


class InstantPlugin:
    @hookimpl
    def register_platforms(self, register: RegisterPlatform) -> None:
        register(Instant())


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = ("import sys, crosspost.testing.pytest_plugin; "
            "print(sorted(m for m in sys.modules if m.startswith(('aiohttp', 'crosspost.core.hub', "
            "'crosspost.plugins.tiktok', 'crosspost.storage', 'aiosqlite'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert out.strip() == "[]"


@pytest.fixture
def developer_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSPOST_TIKTOK_CLIENT_KEY", "from-the-developers-shell")


def test_settings_come_from_crosspost_env_only_with_data_in_tmp_path(
        developer_shell: None, crosspost_settings: Settings, tmp_path: Path) -> None:
    assert crosspost_settings.env == {}
    assert Path(crosspost_settings.db).parent == crosspost_settings.data_dir
    assert crosspost_settings.data_dir.is_relative_to(tmp_path)


def test_job_contexts_share_the_tests_clock_session_and_settings(
        crosspost_job_context: Callable[..., FakeJobContext], fake_clock: FakeClock,
        crosspost_http: aiohttp.ClientSession, crosspost_settings: Settings) -> None:
    ctx = crosspost_job_context("instant:main", checkpoint={"step": 2})

    assert (ctx.target, ctx.checkpoint) == (Target(platform="instant", account="main"), {"step": 2})
    assert (ctx.clock, ctx.http, ctx.settings) == (fake_clock, crosspost_http, crosspost_settings)


def test_register_plugin_adds_a_platform_for_this_test_only(
        register_plugin: Callable[..., None], crosspost_hooks: Hooks) -> None:
    assert "instant" not in crosspost_hooks.platforms()

    register_plugin(InstantPlugin(), "instant-plugin")

    assert isinstance(crosspost_hooks.platform("instant"), Instant)
    assert crosspost_hooks.owner_of("instant") == "instant-plugin"


def test_register_plugin_refuses_a_misspelled_hook(register_plugin: Callable[..., None],
                                                   crosspost_hooks: Hooks) -> None:
    class Misspelled:
        @hookimpl
        def register_platform(self, register: RegisterPlatform) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="register_platform"):
        register_plugin(Misspelled(), "misspelled")

    assert crosspost_hooks.pm.get_plugin("misspelled") is None


class TestWithAThrowawayPlugin:
    @pytest.fixture
    def crosspost_plugins(self) -> list[object]:
        return [InstantPlugin()]

    async def test_the_hub_runs_on_sqlite_in_tmp_path_with_the_plugins_given(
            self, crosspost_hub: Hub, crosspost_settings: Settings, fake_clock: FakeClock) -> None:
        record = await crosspost_hub.publish(Post(content="hi", targets=(Target(platform="instant"),)))

        assert record.status is JobStatus.PUBLISHED
        assert record.targets[0].publish_id is not None
        assert record.targets[0].publish_id.startswith("instant-")
        assert await asyncio.to_thread(Path(crosspost_settings.db).is_file)
        assert crosspost_hub.clock is fake_clock


async def test_the_tiktok_emulator_serves_on_loopback_and_settings_point_at_it(
        tiktok_emulator: EmulatorServer, crosspost_settings: Settings, fake_clock: FakeClock,
        crosspost_http: aiohttp.ClientSession) -> None:
    creator = tiktok_emulator.state.add_creator(username="kit")

    tiktok = crosspost_settings.platform("tiktok")
    assert tiktok["api_base"] == tiktok_emulator.base_url
    assert tiktok_emulator.base_url.startswith("http://127.0.0.1:")
    assert tiktok_emulator.state.clock == fake_clock.timestamp
    async with crosspost_http.post(f"{tiktok_emulator.base_url}/v2/post/publish/creator_info/query/",
                                   headers={"Authorization": f"Bearer {creator.access_token}"}) as response:
        assert response.status == 200
        assert (await response.json())["data"]["creator_username"] == "kit"


async def test_the_hub_and_the_emulator_work_together(
        tiktok_emulator: EmulatorServer, crosspost_hub: Hub) -> None:
    creator = tiktok_emulator.state.add_creator(username="kit")
    await crosspost_hub.accounts.add(Account(platform="tiktok", name="main",
                                             secrets={"access_token": creator.access_token}))

    assert crosspost_hub.settings.platform("tiktok")["api_base"] == tiktok_emulator.base_url
    assert [a.key for a in await crosspost_hub.accounts.list()] == ["tiktok:main"]
