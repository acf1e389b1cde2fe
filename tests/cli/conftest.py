"""Fixtures for CLI tests: an isolated database, and the TikTok emulator on a background loop.

The CLI runs its own event loop (``asyncio.run``) for every command, so the emulator cannot
share the test's loop: it serves from a thread of its own. ``processing_polls=0`` makes TikTok's
processing finish on the first status poll, so no test waits for a poll interval.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.cli.app import cli
from crosspost.plugins.tiktok.emulator import Creator
from tests.cli.cli_support import CHUNK_SIZE, ThreadedEmulator, threaded_emulator  # noqa: F401 - shared fixture


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "crosspost.db"


@pytest.fixture
def base_env(db_path: Path) -> dict[str, str]:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return {"CROSSPOST_DB": str(db_path), "CROSSPOST_DATA_DIR": str(db_path.parent)}


@pytest.fixture
def runner(base_env: dict[str, str]) -> CliRunner:
    """A runner with its own database (and key file beside it); nothing from the user's setup."""
    return CliRunner(env=base_env)


@pytest.fixture
def creator(emulator: ThreadedEmulator) -> Creator:
    return emulator.state.add_creator(username="cli.tester", nickname="CLI Tester")


@pytest.fixture
def env(base_env: dict[str, str], emulator: ThreadedEmulator) -> dict[str, str]:
    """Settings pointing crosspost at the emulator (10 MB chunks)."""
    return {**base_env,
            "CROSSPOST_TIKTOK_API_BASE": emulator.base_url,
            "CROSSPOST_TIKTOK_AUTH_BASE": emulator.base_url,
            "CROSSPOST_TIKTOK_CLIENT_KEY": emulator.state.client_key,
            "CROSSPOST_TIKTOK_CLIENT_SECRET": emulator.state.client_secret,
            "CROSSPOST_TIKTOK_CHUNK_SIZE": str(CHUNK_SIZE)}


@pytest.fixture
def tiktok(env: dict[str, str], creator: Creator) -> CliRunner:
    """A runner pointed at the emulator, with the creator stored as account ``tiktok:main``."""
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["accounts", "add", "tiktok", "main", "--access-token", creator.access_token,
                                 "--refresh-token", creator.refresh_token, "--expires-in", "86400"])
    assert result.exit_code == 0, result.output
    return runner
