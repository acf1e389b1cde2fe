"""``crosspost stats``: the stored week as JSON and as terminal charts (snapshot of the text)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from crosspost.core.cli.app import cli
from crosspost.core.cli.stats_chart import Point, bar, chart_lines, sparkline
from crosspost.core.clock import FakeClock
from crosspost.core.secrets import SecretBox
from crosspost.plugins.tiktok.emulator import EmulatorServer, EmulatorState
from tests.analytics.conftest import T0, publish_and_read_a_week

KEY = os.urandom(32)


def _build(tmp_path: Path) -> tuple[str, str]:
    """A database holding one post read three times over a simulated week; (db path, post id)."""
    from tests.analytics import conftest

    async def run() -> str:
        clock = FakeClock(T0)
        state = EmulatorState(clock=clock.timestamp, processing_polls=0, rng_seed=11)
        creator = state.add_creator(username="week.creator", nickname="Week Creator",
                                    scopes=conftest.ANALYTICS_SCOPES, access_token="act.cli", refresh_token="rft.cli")
        async with EmulatorServer(state) as server:
            factory = conftest.open_hub.__wrapped__(tmp_path, clock, server)  # type: ignore[attr-defined]
            async with factory(secret_box=SecretBox(KEY)) as hub:
                return await publish_and_read_a_week(hub, creator, clock)

    post_id = asyncio.run(run())
    return str(tmp_path / "analytics.db"), post_id


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[CliRunner, str]:
    path = tmp_path_factory.mktemp("stats")
    db, post_id = _build(path)
    return CliRunner(env={"CROSSPOST_DB": db, "CROSSPOST_DATA_DIR": str(path), "COLUMNS": "100"}), post_id


def test_stats_json_shows_all_three_readings_with_the_id_as_text(week: tuple[CliRunner, str]) -> None:
    runner, post_id = week
    result = runner.invoke(cli, ["stats", post_id, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["post_id"] == post_id
    [target] = doc["targets"]
    assert target["target"] == "tiktok:main"
    assert [s["after"] for s in target["snapshots"]] == ["1h", "24h", "7d"]
    assert isinstance(target["platform_post_id"], str)
    assert len(target["platform_post_id"]) == 19
    assert f'"platform_post_id": "{target["platform_post_id"]}"' in result.output  # a string on the wire
    views = [s["metrics"]["views"] for s in target["snapshots"]]
    assert views[0] < views[1] < views[2]
    assert target["latest"]["metrics"] == target["snapshots"][-1]["metrics"]
    assert target["state"] == "collecting"


EXPECTED_CHARTS = """\
views  ▁▃█
  1h   2026-03-02 10:01  ▍                        850
  24h  2026-03-03 09:01  ████▋                  9,113
  7d   2026-03-09 09:01  ████████████████████  39,200
likes  ▁▃█
  1h   2026-03-02 10:01  ▍                        68
  24h  2026-03-03 09:01  ████▋                   729
  7d   2026-03-09 09:01  ████████████████████  3,136
comments  ▁▃█
  1h   2026-03-02 10:01  ▍                      17
  24h  2026-03-03 09:01  ████▋                 182
  7d   2026-03-09 09:01  ████████████████████  784
shares  ▁▂█
  1h   2026-03-02 10:01  ▍                       7
  24h  2026-03-03 09:01  ████▋                  75
  7d   2026-03-09 09:01  ████████████████████  326
"""


def test_stats_text_renders_a_chart_per_metric(week: tuple[CliRunner, str]) -> None:
    runner, post_id = week
    result = runner.invoke(cli, ["stats", post_id, "--width", "20"])
    assert result.exit_code == 0, result.output
    assert result.output.endswith(EXPECTED_CHARTS)  # snapshot: the emulator's counters are seeded
    assert "next reading: 2026-04-01" in result.output  # the 30-day reading


def test_stats_needs_an_id_or_an_account(week: tuple[CliRunner, str]) -> None:
    runner, _ = week
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 2
    assert "--account TARGET" in result.output


def test_unknown_post_is_named() -> None:
    result = CliRunner().invoke(cli, ["stats", "nope", "--json"], env={"CROSSPOST_DB": ":memory:"})
    assert result.exit_code == 2
    assert "nope" in result.output


def test_chart_lines_scale_to_the_largest_reading() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    lines = chart_lines("likes", [Point(label="1h", at=at, value=5), Point(label="6h", at=at, value=10)], width=4)
    assert lines == ["likes  ▁█", "  1h  2026-01-01 00:00  ██     5", "  6h  2026-01-01 00:00  ████  10"]


def test_bars_use_eighth_blocks_and_never_draw_zero() -> None:
    assert bar(1, 8, 1) == "▏"
    assert bar(0, 8, 4) == ""
    assert bar(3, 4, 2) == "█▌"
    assert sparkline([3, 3, 3]) == "▁▁▁"
    assert chart_lines("views", []) == ["views: no readings yet"]
