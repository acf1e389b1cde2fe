"""A published Mastodon status's metrics over a simulated week, against the Mastodon emulator.

The emulator, the rate gate, the engine and the metrics schedule share one FakeClock, as the
TikTok tests in this folder do: the emulator's counters grow with the status's age on that clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crosspost.core.cli.app import cli
from crosspost.core.clock import FakeClock
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus, Post, Target
from crosspost.core.plugins import Hooks, make_plugin_manager
from crosspost.core.secrets import SecretBox
from crosspost.core.settings import Settings
from crosspost.plugins.mastodon.emulator import EmuAccount, EmulatorServer, EmulatorState
from crosspost.plugins.mastodon.platform import MastodonPlatform
from crosspost.storage.metrics import COLLECTING, DONE
from tests.analytics.conftest import T0, TIMING, registering

HOUR = 3600.0
KEY = os.urandom(32)
HubFactory = Callable[..., contextlib.AbstractAsyncContextManager[Hub]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def state(clock: FakeClock) -> EmulatorState:
    return EmulatorState(clock=clock, rng_seed=11)


@pytest.fixture
def alice(state: EmulatorState) -> EmuAccount:
    return state.add_account(username="alice", display_name="Alice", token="emu-token-alice-metrics-0123")


@pytest.fixture
async def server(state: EmulatorState, alice: EmuAccount) -> AsyncIterator[EmulatorServer]:
    async with EmulatorServer(state) as running:
        yield running


def hub_factory(db: Path, data_dir: Path, clock: FakeClock) -> HubFactory:
    def factory(**overrides: Any) -> contextlib.AbstractAsyncContextManager[Hub]:
        settings = Settings(db=str(db), data_dir=data_dir, env={}, concurrency=2)
        hooks = Hooks(make_plugin_manager(builtins=(), entry_points=False, extra=[registering(MastodonPlatform())]))
        options: dict[str, Any] = {"hooks": hooks, "clock": clock, "secret_box": SecretBox(KEY), "timing": TIMING,
                                   "rng": random.Random(3)}
        options.update(overrides)
        return Hub.open(settings, **options)

    return factory


@pytest.fixture
def open_hub(tmp_path: Path, clock: FakeClock, server: EmulatorServer) -> HubFactory:
    return hub_factory(tmp_path / "mastodon-metrics.db", tmp_path, clock)


def status_post(text: str = "A week of boosts #crosspost") -> Post:
    return Post(content=text, targets=(Target(platform="mastodon", account="main"),))


async def connect(hub: Hub, server: EmulatorServer, alice: EmuAccount) -> None:
    await hub.connect_account("mastodon", "main", {"instance": server.base_url, "access_token": alice.token})


async def publish_and_read_a_week(hub: Hub, server: EmulatorServer, alice: EmuAccount, clock: FakeClock) -> str:
    """Publish one status, then take the 1 h, 24 h and 7 d readings; the post's id."""
    await connect(hub, server, alice)
    record = await hub.publish(status_post())
    assert record.status is JobStatus.PUBLISHED
    await hub.collect_metrics()
    for hours in (1, 24, 7 * 24):
        clock.advance(hours * HOUR - (clock.now() - record.created_at).total_seconds() + 60)
        assert (await hub.collect_metrics()).snapshots == 1
    return record.id


def status_reads(state: EmulatorState, status_id: str) -> int:
    return state.requests.count(("GET", f"/api/v1/statuses/{status_id}"))


async def test_three_readings_over_a_week_grow_and_use_the_stored_status_id(
        open_hub: HubFactory, server: EmulatorServer, alice: EmuAccount, clock: FakeClock,
        state: EmulatorState) -> None:
    async with open_hub() as hub:
        post_id = await publish_and_read_a_week(hub, server, alice, clock)
        [status] = state.statuses.values()
        record = await hub.get(post_id)
        assert record.targets[0].publish_id == status.id
        tasks = await hub.metrics.store.list_metric_tasks(post_id=post_id)
        assert [t.platform_post_id for t in tasks] == [status.id]  # known at publish: nothing to resolve
        assert tasks[0].state == COLLECTING
        snaps = await hub.metrics.store.list_snapshots(job_ids=[tasks[0].job_id])
    assert [s.step for s in snaps] == [0, 2, 4]  # 1 h, 24 h, 7 d
    assert all(s.platform_post_id == status.id for s in snaps)
    assert set(snaps[0].metrics) == {"favourites", "reblogs", "replies"}
    favourites = [s.metrics["favourites"] for s in snaps]
    assert favourites == sorted(favourites)
    assert favourites[0] < favourites[-1]
    now = state.counters(status)  # the clock has not moved since the 7 d reading
    assert snaps[-1].metrics == {"favourites": now["favourites_count"], "reblogs": now["reblogs_count"],
                                 "replies": now["replies_count"]}
    assert status_reads(state, status.id) == 3  # one GET per reading


async def test_a_deleted_status_is_asked_about_once_and_recorded_not_looped(
        open_hub: HubFactory, server: EmulatorServer, alice: EmuAccount, clock: FakeClock,
        state: EmulatorState) -> None:
    async with open_hub() as hub:
        await connect(hub, server, alice)
        record = await hub.publish(status_post("Soon gone"))
        [status] = state.statuses.values()
        await hub.collect_metrics()
        assert state.delete_status(status.id)
        clock.advance(HOUR + 60)
        for _ in range(5):  # many rounds in the same hour: one request, no loop
            await hub.collect_metrics()
            clock.advance(60)
        assert status_reads(state, status.id) == 1
        [task] = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert task.error is not None
        assert status.id in task.error.message
        assert task.attempts == 1
        assert (task.due_at - clock.now()).total_seconds() > 5 * HOUR
        for _ in range(3):  # the engine's slow re-checks: answered from memory, no request
            clock.advance(7 * HOUR)
            await hub.collect_metrics()
        assert status_reads(state, status.id) == 1
        [task] = await hub.metrics.store.list_metric_tasks(post_id=record.id)
        assert task.state == DONE
        assert (await hub.get(record.id)).targets[0].status is JobStatus.PUBLISHED


async def test_one_deleted_status_does_not_stop_the_others_readings(
        open_hub: HubFactory, server: EmulatorServer, alice: EmuAccount, clock: FakeClock,
        state: EmulatorState) -> None:
    async with open_hub() as hub:
        await connect(hub, server, alice)
        gone = await hub.publish(status_post("Gone"))
        kept = await hub.publish(status_post("Kept"))
        gone_id = (await hub.get(gone.id)).targets[0].publish_id
        assert gone_id is not None
        state.delete_status(gone_id)
        await hub.collect_metrics()
        clock.advance(HOUR + 60)
        assert (await hub.collect_metrics()).snapshots == 1
        [task] = await hub.metrics.store.list_metric_tasks(post_id=kept.id)
        assert task.error is None
        assert len(await hub.metrics.store.list_snapshots(job_ids=[task.job_id])) == 1


async def test_account_totals_come_from_verify_credentials(
        open_hub: HubFactory, server: EmulatorServer, alice: EmuAccount, clock: FakeClock) -> None:
    alice.followers = 1234
    async with open_hub() as hub:
        await connect(hub, server, alice)
        await hub.publish(status_post())
        totals = await hub.account_metrics("mastodon:main")
        assert dict(totals.metrics) == {"followers": 1234, "following": 7, "statuses": 1}
        stored = await hub.metrics.store.list_account_snapshots(totals.target)
        assert [s.metrics for s in stored] == [dict(totals.metrics)]


def test_stats_json_shows_the_three_readings(tmp_path: Path) -> None:
    async def build() -> str:
        clock = FakeClock(T0)
        state = EmulatorState(clock=clock, rng_seed=11)
        alice = state.add_account(username="alice", display_name="Alice", token="emu-token-alice-cli-0123456")
        async with EmulatorServer(state) as server, hub_factory(tmp_path / "stats.db", tmp_path, clock)() as hub:
            return await publish_and_read_a_week(hub, server, alice, clock)

    post_id = asyncio.run(build())
    runner = CliRunner(env={"CROSSPOST_DB": str(tmp_path / "stats.db"), "CROSSPOST_DATA_DIR": str(tmp_path),
                            "COLUMNS": "100"})
    result = runner.invoke(cli, ["stats", post_id, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    [target] = doc["targets"]
    assert target["target"] == "mastodon:main"
    assert [s["after"] for s in target["snapshots"]] == ["1h", "24h", "7d"]
    assert isinstance(target["platform_post_id"], str)
    assert f'"platform_post_id": "{target["platform_post_id"]}"' in result.output
    favourites = [s["metrics"]["favourites"] for s in target["snapshots"]]
    assert favourites == sorted(favourites)
    assert favourites[0] < favourites[-1]
