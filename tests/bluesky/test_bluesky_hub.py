"""Bluesky through the library API: found by its entry point, connected through the Hub (stored
encrypted), one post published beside TikTok with per-platform overrides; and its CLI command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import generate_key
from crosspost.core.settings import Settings
from crosspost.plugins.bluesky.emulator import ASSETS, BlueskyEmulatorServer, EmulatorState
from crosspost.plugins.tiktok.emulator.server import EmulatorServer
from crosspost.plugins.tiktok.emulator.state import EmulatorState as TikTokState
from tests.bluesky.bluesky_support import APP_PASSWORD, FRIEND, HANDLE, sliced


def test_the_entry_point_registers_bluesky_and_importing_it_loads_no_pillow_or_pyav() -> None:
    hooks = Hooks(make_plugin_manager(builtins=("bluesky",), entry_points=False))
    assert type(hooks.platform("bluesky")).__name__ == "BlueskyPlatform"
    code = ("import sys, crosspost.plugins.bluesky.platform, crosspost.plugins.bluesky.plugin; "
            "print(sorted(m for m in ('PIL', 'av', 'aiohttp.web') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


async def test_one_post_to_tiktok_and_bluesky_with_overrides_is_published_to_both(tmp_path: Path) -> None:
    bluesky = EmulatorState()
    bluesky.add_account(HANDLE, APP_PASSWORD)
    bluesky.add_account(FRIEND, "frie-ndpa-sswo-rd12")
    tiktok = TikTokState(processing_polls=0)
    creator = tiktok.add_creator(username="crosspost.bot", nickname="Crosspost Bot")
    async with BlueskyEmulatorServer(bluesky) as sky, EmulatorServer(tiktok) as tok:
        settings = Settings.from_env({
            "CROSSPOST_DB": str(tmp_path / "hub.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
            "CROSSPOST_SECRET_KEY": generate_key(),
            "CROSSPOST_TIKTOK_API_BASE": tok.base_url, "CROSSPOST_TIKTOK_AUTH_BASE": tok.base_url,
            "CROSSPOST_TIKTOK_CLIENT_KEY": tiktok.client_key, "CROSSPOST_TIKTOK_CLIENT_SECRET": tiktok.client_secret,
            "CROSSPOST_BLUESKY_VIDEO_SERVICE": sky.url, "CROSSPOST_BLUESKY_POLL_INTERVAL": "0.01"})
        async with Hub.open(settings) as hub:
            from crosspost.core.accounts import Account

            await hub.accounts.add(Account(
                platform="tiktok", name="main", scopes=creator.scopes,
                profile={"username": creator.username, "open_id": creator.open_id},
                secrets={"access_token": creator.access_token, "refresh_token": creator.refresh_token}))
            await hub.connect_account("bluesky", "main", {"service": sky.url, "handle": HANDLE,
                                                          "app_password": APP_PASSWORD})
            short = f"Out now #crosspost with @{FRIEND} https://example.com"
            post = Post(
                content="A long caption for TikTok with many words " * 10,
                targets=(Target.parse("tiktok:main"), Target.parse("bluesky:main")),
                media=(Media(type=MediaKind.VIDEO, path=str(ASSETS / "sample.mp4"), alt="clip"),),
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False,
                                           "allow_duet": False, "allow_stitch": False},
                                "bluesky": {"content": short, "langs": ["en"]}})
            record = await hub.publish(post)
            assert {str(t.target): t.status for t in record.targets} == {
                "tiktok:main": JobStatus.PUBLISHED, "bluesky:main": JobStatus.PUBLISHED}
        [stored] = bluesky.posts()
        value = stored["value"]
        assert value["text"] == short
        assert value["embed"]["$type"] == "app.bsky.embed.video"
        assert [sliced(short, f) for f in value["facets"]] == ["#crosspost", f"@{FRIEND}", "https://example.com"]
        assert APP_PASSWORD.encode() not in (tmp_path / "hub.db").read_bytes()


def test_the_plugin_adds_crosspost_bluesky_emulator() -> None:
    from crosspost.plugins.bluesky import plugin

    # As the real root has it: click caches a command's help option on first use, so a root
    # without -h would change how `crosspost bluesky --help` renders for later tests.
    cli = click.Group(name="crosspost", context_settings={"help_option_names": ["-h", "--help"]})
    plugin.register_commands(cli)
    result = CliRunner().invoke(cli, ["bluesky", "emulator", "--help"])
    assert result.exit_code == 0
    assert "Run the Bluesky emulator" in result.output
    refused = CliRunner().invoke(cli, ["bluesky", "emulator", "--host", "0.0.0.0"])
    assert refused.exit_code != 0
    assert "loopback only" in refused.output
