"""crosspost's pytest plugin: fixtures for plugin authors and for apps that embed crosspost.

Loaded automatically through the ``pytest11`` entry point wherever crosspost is installed, so it
must stay cheap: importing it imports only pytest (and pytest-asyncio when present); every
fixture imports what it needs when it runs.

Fixtures (override the plain-value ones in your own ``conftest.py``):

``fake_clock``
    A :class:`~crosspost.core.clock.FakeClock`; the hub, job contexts and the TikTok emulator
    all use it, so sleeps and rate windows cost no wall time.
``crosspost_env``
    ``CROSSPOST_*`` variables for the test's settings (default: none). Override it to configure
    your platform, e.g. ``{"CROSSPOST_EXAMPLE_URL": server.base_url}``.
``crosspost_settings``
    :class:`~crosspost.core.settings.Settings` from ``crosspost_env`` only, database in
    ``tmp_path``. When the test also uses ``tiktok_emulator``, TikTok is pointed at it.
``crosspost_http``
    One ``aiohttp.ClientSession`` for the test.
``crosspost_job_context``
    A factory ``(target, *, account=None, checkpoint=None, **kwargs) -> FakeJobContext``.
``crosspost_plugins``
    Plugin objects registered on ``crosspost_hooks`` / ``crosspost_hub`` (default: none).
``crosspost_hooks``
    :class:`~crosspost.core.plugins.Hooks` over the built-in plugins plus ``crosspost_plugins``
    (installed entry points are left out, so tests do not depend on what else is installed).
``register_plugin``
    ``register_plugin(obj, name=None)`` adds a throwaway plugin to ``crosspost_hooks`` during a
    test; it is removed again afterwards.
``crosspost_hub``
    A :class:`~crosspost.core.hub.Hub` on SQLite in ``tmp_path`` with ``fake_clock``,
    ``crosspost_hooks`` and ``crosspost_http``.
``tiktok_emulator``
    The TikTok emulator serving on a free loopback port; script creators and faults through
    ``tiktok_emulator.state``.
``mastodon_emulator``
    A Mastodon emulator (one instance) on a free loopback port, on ``fake_clock``; configure its
    limits through ``mastodon_emulator.state.config``, add accounts with
    ``mastodon_emulator.state.add_account()``. Settings name it as ``CROSSPOST_MASTODON_INSTANCE``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

try:
    from pytest_asyncio import fixture as async_fixture
except ImportError:  # pragma: no cover - async fixtures then need the user's own asyncio plugin
    async_fixture = pytest.fixture  # type: ignore[assignment]

if TYPE_CHECKING:
    import aiohttp

    from crosspost.core.accounts import Account
    from crosspost.core.clock import FakeClock
    from crosspost.core.hub import Hub
    from crosspost.core.models import Target
    from crosspost.core.plugins import Hooks
    from crosspost.core.settings import Settings
    from crosspost.plugins.mastodon.emulator import EmulatorServer as MastodonEmulatorServer
    from crosspost.plugins.tiktok.emulator import EmulatorServer
    from crosspost.testing.context import FakeJobContext

JobContextFactory = Callable[..., "FakeJobContext"]
RegisterPlugin = Callable[..., None]


@pytest.fixture
def fake_clock() -> FakeClock:
    from crosspost.core.clock import FakeClock

    return FakeClock()


@pytest.fixture
def crosspost_env() -> dict[str, str]:
    return {}


@pytest.fixture
def crosspost_settings(request: pytest.FixtureRequest, tmp_path: Path,
                       crosspost_env: Mapping[str, str]) -> Settings:
    from crosspost.testing.context import isolated_settings

    env = dict(crosspost_env)
    if "tiktok_emulator" in request.fixturenames:
        emulator: EmulatorServer = request.getfixturevalue("tiktok_emulator")
        env.setdefault("CROSSPOST_TIKTOK_API_BASE", emulator.base_url)
        env.setdefault("CROSSPOST_TIKTOK_CLIENT_KEY", emulator.state.client_key)
        env.setdefault("CROSSPOST_TIKTOK_CLIENT_SECRET", emulator.state.client_secret)
    if "mastodon_emulator" in request.fixturenames:
        mastodon: MastodonEmulatorServer = request.getfixturevalue("mastodon_emulator")
        env.setdefault("CROSSPOST_MASTODON_INSTANCE", mastodon.base_url)
    data_dir = tmp_path / "crosspost-data"
    data_dir.mkdir(exist_ok=True)
    return isolated_settings(data_dir, env)


@async_fixture
async def crosspost_http() -> AsyncIterator[aiohttp.ClientSession]:
    import aiohttp

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
def crosspost_job_context(crosspost_http: aiohttp.ClientSession, crosspost_settings: Settings,
                          fake_clock: FakeClock) -> JobContextFactory:
    from crosspost.core.models import Target
    from crosspost.testing.context import FakeJobContext

    def make(target: Target | str, *, account: Account | None = None, **kwargs: Any) -> FakeJobContext:
        parsed = Target.parse(target) if isinstance(target, str) else target
        arguments: dict[str, Any] = {"http": crosspost_http, "settings": crosspost_settings,
                                     "clock": fake_clock, "account": account}
        arguments.update(kwargs)
        return FakeJobContext(target=parsed, **arguments)

    return make


@pytest.fixture
def crosspost_plugins() -> list[object]:
    return []


@pytest.fixture
def crosspost_hooks(crosspost_plugins: list[object], crosspost_settings: Settings) -> Hooks:
    from crosspost.core.plugins import Hooks, make_plugin_manager

    pm = make_plugin_manager(disabled=crosspost_settings.disabled_plugins, entry_points=False,
                             extra=crosspost_plugins)
    return Hooks(pm)


@pytest.fixture
def register_plugin(crosspost_hooks: Hooks) -> Iterator[RegisterPlugin]:
    added: list[object] = []

    def register(plugin: object, name: str | None = None) -> None:
        crosspost_hooks.register(plugin, name=name)
        added.append(plugin)

    yield register
    for plugin in added:
        crosspost_hooks.unregister(plugin)


@async_fixture
async def crosspost_hub(crosspost_settings: Settings, crosspost_hooks: Hooks,
                        crosspost_http: aiohttp.ClientSession, fake_clock: FakeClock) -> AsyncIterator[Hub]:
    from crosspost.core.hub import Hub

    async with Hub.open(crosspost_settings, hooks=crosspost_hooks, http=crosspost_http, clock=fake_clock) as hub:
        yield hub


@async_fixture
async def tiktok_emulator(fake_clock: FakeClock) -> AsyncIterator[EmulatorServer]:
    from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState

    async with EmulatorServer(EmulatorState(clock=fake_clock.timestamp)) as server:
        yield server


@async_fixture
async def mastodon_emulator(fake_clock: FakeClock) -> AsyncIterator[MastodonEmulatorServer]:
    from crosspost.plugins.mastodon.emulator import EmulatorServer, EmulatorState

    async with EmulatorServer(EmulatorState(clock=fake_clock)) as server:
        yield server
