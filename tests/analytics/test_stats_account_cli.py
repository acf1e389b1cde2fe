"""``crosspost stats --account``: live totals from user/info, and the missing-scope message."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from crosspost.core.cli.app import cli
from tests.cli.cli_support import ThreadedEmulator, threaded_emulator  # noqa: F401 - the emulator fixture


def runner_for(emulator: ThreadedEmulator, tmp_path: Path, scopes: str) -> CliRunner:
    creator = emulator.state.add_creator(scopes=tuple(scopes.split(",")))
    env = {"CROSSPOST_DB": str(tmp_path / "c.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
           "CROSSPOST_TIKTOK_API_BASE": emulator.base_url, "CROSSPOST_TIKTOK_AUTH_BASE": emulator.base_url,
           "CROSSPOST_TIKTOK_CLIENT_KEY": emulator.state.client_key,
           "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator.state.client_secret}
    runner = CliRunner(env=env)
    added = runner.invoke(cli, ["accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
                                "--refresh-token", creator.refresh_token, "--expires-in", "86400",
                                "--scopes", scopes])
    assert added.exit_code == 0, added.output
    return runner


def test_account_totals_are_read_and_kept(emulator: ThreadedEmulator, tmp_path: Path) -> None:
    runner = runner_for(emulator, tmp_path, "user.info.basic,user.info.stats,video.publish,video.list")
    first = runner.invoke(cli, ["stats", "--account", "tiktok:main", "--json"])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert doc["target"] == "tiktok:main"
    assert set(doc["metrics"]) == {"followers", "following", "likes", "videos"}
    second = runner.invoke(cli, ["stats", "--account", "tiktok:main", "--json"])
    assert len(json.loads(second.output)["history"]) == 2


def test_missing_stats_scope_says_which_scope_and_how_to_reconnect(emulator: ThreadedEmulator,
                                                                   tmp_path: Path) -> None:
    runner = runner_for(emulator, tmp_path, "user.info.basic,video.publish,video.upload")
    before = len(emulator.routes())  # connecting the account asked TikTok who it is
    result = runner.invoke(cli, ["stats", "--account", "tiktok:main"])
    assert result.exit_code == 1
    assert "user.info.stats" in result.output
    assert "crosspost accounts login tiktok main" in result.output
    assert emulator.routes()[before:] == []  # refused before any request
