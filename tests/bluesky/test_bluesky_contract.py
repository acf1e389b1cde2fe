"""crosspost's platform contract, run against the Bluesky platform and its emulator."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from PIL import Image

import crosspost.plugins.bluesky.plugin
from crosspost.core.accounts import Account
from crosspost.core.clock import FakeClock
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.plugins.bluesky.emulator import ASSETS, BlueskyEmulatorServer, EmulatorState
from crosspost.plugins.bluesky.platform import BlueskyPlatform
from crosspost.testing.contract import CONTRACT_SECRET, ContractFake, InvalidCase, PlatformContract

TARGET = (Target(platform="bluesky", account="main"),)
HANDLE = "contract.test"


class TestBlueskyContract(PlatformContract):
    def make_platform(self) -> BlueskyPlatform:
        return BlueskyPlatform()

    def make_plugin(self) -> object:
        return crosspost.plugins.bluesky.plugin

    def make_account(self) -> Account:
        return Account(platform="bluesky", name="main", secrets={"app_password": CONTRACT_SECRET},
                       profile={"handle": HANDLE})

    def valid_posts(self, media_dir: Path) -> Sequence[Post]:
        image = media_dir / "photo.jpg"
        Image.new("RGB", (320, 200), (10, 120, 200)).save(image)
        photos = tuple(Media(type=MediaKind.IMAGE, path=str(image), alt=f"photo {i}") for i in range(2))
        return [
            Post(content=f"Two photos #crosspost https://example.com @{HANDLE}", targets=TARGET, media=photos,
                 target_options={"bluesky": {"langs": ["en"]}}),
            Post(content="word " * 120, targets=TARGET, target_options={"bluesky": {"thread": True}}),
            Post(content="A clip", targets=TARGET,
                 media=(Media(type=MediaKind.VIDEO, path=str(ASSETS / "sample.mp4")),)),
            Post(content="see https://example.com", targets=TARGET, target_options={"bluesky": {"link_card": True}}),
        ]

    def invalid_posts(self, media_dir: Path) -> Sequence[InvalidCase]:
        return [
            InvalidCase(label="text over 300 graphemes and four languages",
                        post=Post(content="x" * 301, targets=TARGET,
                                  target_options={"bluesky": {"langs": ["en", "fr", "de", "es"]}}),
                        fields=("content", "target_options.bluesky.langs")),
            InvalidCase(label="missing file and a remote URL",
                        post=Post(content="x", targets=TARGET,
                                  media=(Media(type=MediaKind.IMAGE, path=str(media_dir / "missing.jpg")),
                                         Media(type=MediaKind.IMAGE, url="https://cdn.invalid/b.jpg"))),
                        fields=("media[0].path", "media[1].url")),
        ]

    def fake_server(self, clock: FakeClock) -> AbstractAsyncContextManager[ContractFake]:
        state = EmulatorState(clock=clock)
        state.add_account(HANDLE, CONTRACT_SECRET)
        return BlueskyEmulatorServer(state)

    def settings_env(self, fake: ContractFake) -> Mapping[str, str]:
        assert isinstance(fake, BlueskyEmulatorServer)
        return {"CROSSPOST_BLUESKY_SERVICE": fake.url, "CROSSPOST_BLUESKY_VIDEO_SERVICE": fake.url,
                "CROSSPOST_BLUESKY_POLL_INTERVAL": "1"}
