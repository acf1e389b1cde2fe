"""crosspost's platform contract, run against the Mastodon platform and its emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from crosspost.core.clock import FakeClock
from crosspost.core.models import Media, MediaKind, Post, Target
from crosspost.plugins.mastodon import plugin
from crosspost.plugins.mastodon.emulator import EmulatorServer, EmulatorState
from crosspost.plugins.mastodon.platform import MastodonPlatform
from crosspost.testing.contract import CONTRACT_SECRET, ContractFake, InvalidCase, PlatformContract
from tests.mastodon.conftest import JPEG, MP4

TARGET = (Target(platform="mastodon", account="main"),)


@asynccontextmanager
async def _emulator(clock: FakeClock) -> AsyncIterator[ContractFake]:
    state = EmulatorState(clock=clock)
    state.add_account(username="contract", token=CONTRACT_SECRET)
    async with EmulatorServer(state) as server:
        yield server


class TestMastodonContract(PlatformContract):
    def make_platform(self) -> MastodonPlatform:
        return MastodonPlatform()

    def make_plugin(self) -> object:
        return plugin

    def valid_posts(self, media_dir: Path) -> Sequence[Post]:
        image = media_dir / "photo.jpg"
        image.write_bytes(JPEG)
        video = media_dir / "clip.mp4"
        video.write_bytes(MP4)
        return [
            Post(content="Two photos https://example.org/a/very/long/link/that/counts/as/23", targets=TARGET,
                 media=(Media(type=MediaKind.IMAGE, path=str(image), alt="a photo"),) * 2,
                 target_options={"mastodon": {"visibility": "unlisted", "language": "en"}}),
            Post(content="A clip", targets=TARGET, media=(Media(type=MediaKind.VIDEO, path=str(video)),)),
            Post(content="Only words", targets=TARGET, target_options={"mastodon": {"spoiler_text": "cw"}}),
        ]

    def invalid_posts(self, media_dir: Path) -> Sequence[InvalidCase]:
        video = media_dir / "clip.mp4"
        video.write_bytes(MP4)
        image = media_dir / "photo.jpg"
        image.write_bytes(JPEG)
        return [
            InvalidCase(label="a bad language and a text over 500",
                        post=Post(content="x" * 501, targets=TARGET,
                                  target_options={"mastodon": {"language": "english"}}),
                        fields=("target_options.mastodon.language", "content")),
            InvalidCase(label="video mixed with an image, and a missing file",
                        post=Post(content="x", targets=TARGET,
                                  media=(Media(type=MediaKind.VIDEO, path=str(video)),
                                         Media(type=MediaKind.IMAGE, path=str(media_dir / "missing.jpg")))),
                        fields=("media", "media[1].path")),
            InvalidCase(label="five images on a four-image instance, one declared as video",
                        post=Post(content="x", targets=TARGET,
                                  media=(Media(type=MediaKind.IMAGE, path=str(image)),) * 4
                                  + (Media(type=MediaKind.VIDEO, path=str(image)),)),
                        fields=("media", "media[4].type")),
        ]

    def fake_server(self, clock: FakeClock) -> AbstractAsyncContextManager[ContractFake]:
        return _emulator(clock)

    def settings_env(self, fake: ContractFake) -> Mapping[str, str]:
        assert isinstance(fake, EmulatorServer)
        return {"CROSSPOST_MASTODON_INSTANCE": fake.base_url}
