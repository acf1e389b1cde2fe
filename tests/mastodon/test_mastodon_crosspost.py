"""Cross-posting through the Hub: one post to TikTok and Mastodon, both emulators over loopback;
a partial failure is ``partial`` and ``retry`` reruns only the failed target."""

from __future__ import annotations

from pathlib import Path

import pytest

import crosspost.plugins.tiktok
from crosspost.core.accounts import Account
from crosspost.core.hub import Hub, PostStateError
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.settings import Settings
from crosspost.plugins.mastodon import plugin as mastodon_plugin
from crosspost.plugins.mastodon.emulator import EmuAccount, EmulatorServer, RouteFault
from crosspost.plugins.tiktok import plugin as tiktok_plugin
from crosspost.plugins.tiktok.emulator import EmulatorServer as TikTokEmulator

SAMPLE = Path(crosspost.plugins.tiktok.__file__).parent / "assets" / "sample.mp4"
TIKTOK_OPTIONS = {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True, "allow_duet": False,
                  "allow_stitch": False}


@pytest.fixture
def crosspost_hooks(crosspost_settings: Settings) -> Hooks:
    return Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[tiktok_plugin, mastodon_plugin]))


@pytest.fixture
async def hub(crosspost_hub: Hub, tiktok_emulator: TikTokEmulator, emulator: EmulatorServer,
              emu_account: EmuAccount) -> Hub:
    creator = tiktok_emulator.state.add_creator(username="kit")
    await crosspost_hub.accounts.add(Account(platform="tiktok", name="main",
                                             secrets={"access_token": creator.access_token}))
    await crosspost_hub.connect_account("mastodon", "main", {"instance": emulator.base_url,
                                                             "access_token": emu_account.token})
    return crosspost_hub


def cross_post() -> Post:
    return Post(content="One post, two platforms #crosspost",
                targets=(Target.parse("tiktok:main"), Target.parse("mastodon:main")),
                media=(Media(type=MediaKind.VIDEO, path=str(SAMPLE), alt="a short sample clip"),),
                target_options={"tiktok": TIKTOK_OPTIONS,
                                "mastodon": {"content": "Mastodon gets its own words", "visibility": "unlisted"}})


async def test_one_request_publishes_to_tiktok_and_mastodon(hub: Hub, tiktok_emulator: TikTokEmulator,
                                                            emulator: EmulatorServer) -> None:
    record = await hub.publish(cross_post())
    assert record.status is JobStatus.PUBLISHED
    assert {str(t.target): t.status for t in record.targets} == {
        "tiktok:main": JobStatus.PUBLISHED, "mastodon:main": JobStatus.PUBLISHED}
    assert len(tiktok_emulator.state.published) == 1
    (status,) = emulator.state.statuses.values()
    assert status.text == "Mastodon gets its own words"
    assert emulator.state.media[status.media_ids[0]].description == "a short sample clip"


async def test_a_partial_failure_is_partial_and_retry_reruns_only_the_failed_target(
        hub: Hub, tiktok_emulator: TikTokEmulator, emulator: EmulatorServer) -> None:
    emulator.state.faults.append(RouteFault(route="POST /api/v1/statuses", status=403))
    record = await hub.publish(cross_post())
    assert record.status is JobStatus.PARTIAL
    assert {str(t.target): t.status for t in record.targets} == {
        "tiktok:main": JobStatus.PUBLISHED, "mastodon:main": JobStatus.FAILED}
    tiktok_before = next(t for t in record.targets if t.target.platform == "tiktok")

    retried = await hub.retry(record.id, wait=True)
    assert retried.status is JobStatus.PUBLISHED
    assert len(tiktok_emulator.state.published) == 1  # TikTok was not run again
    assert next(t for t in retried.targets if t.target.platform == "tiktok") == tiktok_before
    assert len(emulator.state.statuses) == 1
    assert [f"{m} {p}" for m, p in emulator.state.requests].count("POST /api/v2/media") == 1, \
        "the retry resumed from the checkpoint: the uploaded media was reused"
    with pytest.raises(PostStateError, match="nothing to retry"):
        await hub.retry(record.id)
