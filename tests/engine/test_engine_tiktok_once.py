"""One ``hub.publish`` of one local video: probed once, validated once, narrowed once.

The real TikTok platform against its emulator on loopback; the probe, TikTok's ``validate`` and
the engine's narrowing are wrapped with counters (their behaviour unchanged).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from crosspost.core import hookimpl
from crosspost.core.accounts import Account
from crosspost.core.engine import validation as engine_validation
from crosspost.core.hub import Hub
from crosspost.core.media import probing
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.core.platform import Platform
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.media import make_video

FAST_POLL = PollPolicy(first=0.01, factor=1.0, longest=0.01)


class Counted:
    """``function`` with a call counter."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.function(*args, **kwargs)


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    state = EmulatorState(rate_limits=False)
    async with EmulatorServer(state) as server:
        yield server
    await state.drain()


def tiktok_plugin(platform: TikTokPlatform) -> object:
    class _Plugin:
        @hookimpl
        def register_platforms(self, register: Callable[[Platform], None]) -> None:
            register(platform)

    return _Plugin()


async def test_one_publish_of_one_local_video_probes_once_and_validates_once(
        tmp_path: Path, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    probe = Counted(probing.probe)
    monkeypatch.setattr(probing, "probe", probe)
    validate = Counted(TikTokPlatform.validate)
    monkeypatch.setattr(TikTokPlatform, "validate", lambda self, post, ctx: validate(self, post, ctx))
    narrow = Counted(engine_validation.for_platform)
    monkeypatch.setattr(engine_validation, "for_platform", narrow)
    video = make_video(tmp_path / "clip.mp4")
    settings = Settings.from_env({
        "CROSSPOST_DB": str(tmp_path / "crosspost.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
        "CROSSPOST_SECRET_KEY": generate_key(), "CROSSPOST_TIKTOK_API_BASE": emulator.base_url,
        "CROSSPOST_TIKTOK_CLIENT_KEY": emulator.state.client_key,
        "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator.state.client_secret})
    hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False,
                                      extra=[tiktok_plugin(TikTokPlatform(poll=FAST_POLL))]))
    creator = emulator.state.add_creator(username="once")
    post = Post(content="once #validate", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(video))],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": True,
                                           "allow_duet": True, "allow_stitch": True}})

    async with Hub.open(settings, hooks=hooks) as hub:
        await hub.accounts.add(Account(
            platform="tiktok", name="main", scopes=creator.scopes,
            secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token},
            profile={"username": creator.username, "open_id": creator.open_id}))
        record = await hub.publish(post)

    assert record.status is JobStatus.PUBLISHED, record
    assert probe.calls == 1, "the video is probed once"
    assert validate.calls == 1, "TikTok validates once"
    assert narrow.calls == 1, "the post is narrowed to TikTok once"
