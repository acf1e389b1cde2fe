"""crosspost's platform contract, run against the Example platform and its fake API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from crosspost.core.clock import FakeClock
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.testing.contract import CONTRACT_SECRET, ContractFake, InvalidCase, PlatformContract

import crosspost_example.plugin
from crosspost_example.fake_server import ExampleFakeServer, FakeExampleAPI
from crosspost_example.platform import ExamplePlatform

TARGET = (Target(platform="example", account="main"),)


class TestExampleContract(PlatformContract):
    def make_platform(self) -> ExamplePlatform:
        return ExamplePlatform()

    def make_plugin(self) -> object:
        return crosspost_example.plugin

    def valid_posts(self, media_dir: Path) -> Sequence[Post]:
        video = media_dir / "clip.mp4"
        video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 4096)
        image = media_dir / "photo.jpg"
        image.write_bytes(b"\xff\xd8\xff\xe0" + b"\x02" * 2048)
        return [
            Post(content="A clip", targets=TARGET, media=(Media(type=MediaKind.VIDEO, path=str(video)),),
                 target_options={"example": {"visibility": "private"}}),
            Post(content="Two photos", targets=TARGET, media=(Media(type=MediaKind.IMAGE, path=str(image)),) * 2),
            Post(content="Only words", targets=TARGET, target_options={"example": {"tags": ["news"]}}),
        ]

    def invalid_posts(self, media_dir: Path) -> Sequence[InvalidCase]:
        return [
            InvalidCase(label="bad visibility and a tag with a space",
                        post=Post(content="x", targets=TARGET,
                                  target_options={"example": {"visibility": "everyone", "tags": ["a b"]}}),
                        fields=("target_options.example.visibility", "target_options.example.tags[0]")),
            InvalidCase(label="missing file and a remote URL",
                        post=Post(content="x", targets=TARGET,
                                  media=(Media(type=MediaKind.IMAGE, path=str(media_dir / "missing.jpg")),
                                         Media(type=MediaKind.IMAGE, url="https://cdn.invalid/b.jpg"))),
                        fields=("media[0].path", "media[1].url")),
        ]

    def fake_server(self, clock: FakeClock) -> AbstractAsyncContextManager[ContractFake]:
        return ExampleFakeServer(FakeExampleAPI(tokens={CONTRACT_SECRET}))

    def settings_env(self, fake: ContractFake) -> Mapping[str, str]:
        assert isinstance(fake, ExampleFakeServer)
        return {"CROSSPOST_EXAMPLE_URL": fake.base_url}
