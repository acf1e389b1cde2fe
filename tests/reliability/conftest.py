"""Fixtures for the reliability tests: the emulator on a shared fake clock, and hubs with the real
TikTok platform on each storage backend (SQLite file, fresh PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from crosspost.core.clock import FakeClock
from crosspost.plugins.tiktok.emulator import Creator, EmulatorServer, EmulatorState
from crosspost.testing.media import make_video
from tests.reliability.tiktok_hub import T0, TikTokHubs, emulator_env

BACKENDS = [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)]


def database_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return str(tmp_path / "crosspost.db")
    from tests.storage.postgres_schemas import fresh_schema_url_sync

    return fresh_schema_url_sync()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, tmp_path: Path) -> str:
    return database_url(backend, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=clock.timestamp, processing_polls=1, rng_seed=11)


@pytest.fixture
async def server(state: EmulatorState) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(state) as running:
        yield running


@pytest.fixture
def creator(state: EmulatorState) -> Creator:
    return state.add_creator(username="crash.creator", nickname="Crash Creator")


@pytest.fixture
def hubs(db_url: str, tmp_path: Path, clock: FakeClock, server: EmulatorServer) -> TikTokHubs:
    return TikTokHubs(db=db_url, data_dir=tmp_path, clock=clock, env=emulator_env(server.base_url))


_VIDEOS: dict[int | None, Path] = {}


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[int | None], Path]]:
    """``video(size)``: a real MP4, padded (sparsely) to ``size`` bytes."""
    folder = tmp_path_factory.mktemp("reliability-videos")

    def build(size: int | None = None) -> Path:
        if size not in _VIDEOS:
            path = folder / f"clip-{size or 'natural'}.mp4"
            make_video(path, container="mp4", pad_to=size)
            _VIDEOS[size] = path
        return _VIDEOS[size]

    yield build
    _VIDEOS.clear()
