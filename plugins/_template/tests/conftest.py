"""Fixtures for the Example plugin's tests: a fake Example API on loopback and a job context.

``crosspost_job_context``, ``crosspost_http`` and ``fake_clock`` come from crosspost's pytest
plugin (``crosspost.testing``), loaded automatically wherever crosspost is installed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from crosspost.core.accounts import Account
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.testing.context import FakeJobContext

from crosspost_example.fake_server import ExampleFakeServer, FakeExampleAPI
from crosspost_example.platform import ExamplePlatform


@pytest.fixture
def token() -> str:
    return "example-test-token-5d2c81"


@pytest.fixture
def api(token: str) -> FakeExampleAPI:
    return FakeExampleAPI(tokens={token})


@pytest.fixture
async def server(api: FakeExampleAPI) -> AsyncIterator[ExampleFakeServer]:
    async with ExampleFakeServer(api) as running:
        yield running


@pytest.fixture
def crosspost_env(server: ExampleFakeServer) -> dict[str, str]:
    return {"CROSSPOST_EXAMPLE_URL": server.base_url, "CROSSPOST_EXAMPLE_POLL_INTERVAL": "2"}


@pytest.fixture
def platform() -> ExamplePlatform:
    return ExamplePlatform()


@pytest.fixture
def account(token: str) -> Account:
    return Account(platform="example", name="main", secrets={"access_token": token})


@pytest.fixture
def ctx(crosspost_job_context: Callable[..., FakeJobContext], account: Account) -> FakeJobContext:
    return crosspost_job_context("example:main", account=account)


@pytest.fixture
def video_bytes() -> bytes:
    return b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40


@pytest.fixture
def video(tmp_path: Path, video_bytes: bytes) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(video_bytes)
    return path


PostFactory = Callable[..., Post]


@pytest.fixture
def make_post() -> PostFactory:
    """``make_post(content, media=(paths...), kind=MediaKind.VIDEO, **target_options)``."""

    def make(content: str = "Hello from crosspost", media: tuple[Path, ...] = (),
             kind: MediaKind = MediaKind.VIDEO, **options: Any) -> Post:
        return Post(content=content, targets=(Target(platform="example", account="main"),),
                    media=tuple(Media(type=kind, path=str(p)) for p in media),
                    target_options={"example": options} if options else {})

    return make
