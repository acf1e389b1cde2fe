"""The neutral emulator door: ``crosspost demo`` / ``crosspost emulator`` start Mastodon's without naming it,
and the ``mastodon_emulator`` fixture of crosspost's pytest plugin."""

from __future__ import annotations

from pathlib import Path

from crosspost.core.convert import post_from_dict
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus
from crosspost.core.settings import Settings
from crosspost.plugins.mastodon.emulator import EmulatorServer
from crosspost.plugins.mastodon.platform import MastodonPlatform


async def test_the_emulator_door_starts_connects_and_publishes_the_demo_posts(
        crosspost_hub: Hub, tmp_path: Path) -> None:
    assert crosspost_hub.hooks.platform("mastodon"), "Mastodon loads as a built-in entry point"
    emulator = MastodonPlatform().emulator()
    running = await emulator.start()
    try:
        assert running.url.startswith("http://127.0.0.1:")
        assert running.admin_url == f"{running.url}/_emulator"
        account = await crosspost_hub.connect_account("mastodon", "demo", running.account)
        assert account.profile["instance"] == running.url
        posts = emulator.demo_posts(str(tmp_path))
        assert len(posts) == 2
        for demo in posts:
            record = await crosspost_hub.publish(post_from_dict(dict(demo.request)))
            assert record.status is JobStatus.PUBLISHED, record
        server = running.handle
        assert isinstance(server, EmulatorServer)
        statuses = list(server.state.statuses.values())
        assert statuses[0].media_ids
        assert len(statuses) > 2  # the long demo text went out as a reply chain
        assert statuses[-1].in_reply_to_id == statuses[-2].id
    finally:
        await running.stop()


async def test_the_pytest_fixture_points_settings_at_the_emulator(
        mastodon_emulator: EmulatorServer, crosspost_settings: Settings) -> None:
    assert crosspost_settings.platform("mastodon")["instance"] == mastodon_emulator.base_url
    mastodon_emulator.state.config.max_characters = 42
    assert mastodon_emulator.state.config.v2_document("http://x")["configuration"]["statuses"][
        "max_characters"] == 42
