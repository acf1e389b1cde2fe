"""Rate limits, the daily post cap and status polling, measured on the emulator's request log.

Time is the shared :class:`FakeClock`: the rate gate, the emulator's request timestamps and the
platform's sleeps all read it, so a minute of waiting costs nothing and windows are exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.errors import DailyCapReached
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.plugins.tiktok.config import PollPolicy
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext, MemoryRateGate

from .conftest import CountingRateGate

INIT_ROUTES = ("video_init", "inbox_init", "content_init")


def video_post(path: Path) -> Post:
    return Post(content="rate test", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(path))],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False,
                                           "allow_duet": False, "allow_stitch": False}})


class WithoutDailyCap(MemoryRateGate):
    """Admits every long-window (daily cap) call: this test is about the per-minute limit."""

    async def try_acquire(self, key: str, *, limit: int, window: float) -> float:
        return 0.0


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)), default=0)


async def test_thirty_posts_for_one_token_never_exceed_six_inits_in_any_minute(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    state.daily_post_cap = 100  # this test is about the per-minute limit, not the daily cap
    gate = WithoutDailyCap(clock)
    clip = video("mp4")

    outcomes = [await platform.publish(video_post(clip), make_ctx(rate=gate)) for _ in range(30)]

    inits = [r for r in state.requests if r.route in INIT_ROUTES]
    assert all(o.status is JobStatus.PUBLISHED for o in outcomes)
    assert len(inits) == 30
    assert all(r.status == 200 for r in inits)
    assert most_in_any_window([r.time for r in inits], 60.0) == 6
    assert not [r for r in state.requests if r.status == 429]
    assert all(":init" in key and len(key.split(":")[1]) == 16 for key in gate.keys if key.endswith(":init"))


async def test_status_polling_backs_off_while_processing_takes_minutes(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.processing_polls = 20
    outcome = await platform.publish(video_post(video("mp4")), make_ctx())
    polls = [r.time for r in state.requests if r.route == "status"]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert outcome.status is JobStatus.PUBLISHED
    assert len(polls) == 21
    assert gaps[0] < gaps[2] < gaps[4]
    assert max(gaps) <= 31
    assert polls[-1] - polls[0] > 5 * 60  # minutes of processing survived in one run


async def test_status_polls_never_exceed_thirty_a_minute_per_token(
    make_ctx: Callable[..., FakeJobContext], state: EmulatorState, video: Callable[..., Path],
) -> None:
    eager = TikTokPlatform(poll=PollPolicy(first=0.5, factor=1.0, longest=0.5))
    state.processing_polls = 100
    outcome = await eager.publish(video_post(video("mp4")), make_ctx())
    polls = [r.time for r in state.requests if r.route == "status"]
    assert outcome.status is JobStatus.PUBLISHED
    assert len(polls) == 101
    assert most_in_any_window(polls, 60.0) == 30
    assert not [r for r in state.requests if r.status == 429]


async def test_sixteenth_direct_post_in_a_day_is_deferred_not_failed_and_not_retried(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock, rate: CountingRateGate, creator: Creator,
) -> None:
    state.daily_post_cap = 100  # crosspost's own count must stop it first
    clip = video("mp4")
    for _ in range(15):
        assert (await platform.publish(video_post(clip), make_ctx())).status is JobStatus.PUBLISHED
    clock.advance(3600)
    inits_before = sum(1 for r in state.requests if r.route == "video_init")

    ctx = make_ctx()
    with pytest.raises(DailyCapReached) as raised:
        await platform.publish(video_post(clip), ctx)
    with pytest.raises(DailyCapReached):
        await platform.publish(video_post(clip), ctx.next_attempt())

    err = raised.value
    assert err.not_before is not None
    assert clock.now() + timedelta(hours=22) < err.not_before <= clock.now() + timedelta(hours=23, seconds=1)
    assert "15 direct posts" in str(err)
    assert sum(1 for r in state.requests if r.route == "video_init") == inits_before
    assert f"tiktok:daily:{creator.open_id}" in rate.keys


async def test_tiktoks_own_cap_answer_defers_the_post(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    state.faults.add(route="video_init", kind="status", status=403, code="spam_risk_too_many_posts", times=1)
    ctx = make_ctx()
    with pytest.raises(DailyCapReached) as raised:
        await platform.publish(video_post(video("mp4")), ctx)
    assert raised.value.not_before is not None
    assert raised.value.not_before > clock.now()
    assert [r.status for r in state.requests if r.route == "video_init"] == [403]  # never retried in a loop


async def test_creator_info_cap_state_defers_before_any_init(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    state.creators[next(iter(state.creators))].cap_state = "reached_active_user_cap"
    ctx = make_ctx()
    with pytest.raises(DailyCapReached) as raised:  # the engine stores the job deferred
        await platform.validate(video_post(video("mp4")), ctx)
    assert raised.value.not_before is not None
    assert raised.value.not_before > clock.now()
    with pytest.raises(DailyCapReached):
        await platform.publish(video_post(video("mp4")), ctx)
    assert not [r for r in state.requests if r.route in INIT_ROUTES]


async def test_creator_info_is_reused_for_a_minute_per_account(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    clip = video("mp4")
    await platform.validate(video_post(clip), make_ctx())
    await platform.validate(video_post(clip), make_ctx())
    clock.advance(61)
    await platform.validate(video_post(clip), make_ctx())
    assert sum(1 for r in state.requests if r.route == "creator_info") == 2


async def test_client_limits_off_against_the_emulator_sends_without_pacing_or_a_daily_cap(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    """``CROSSPOST_TIKTOK_CLIENT_LIMITS=off`` (loopback only): 20 posts for one token go out at
    once, none waits for the per-minute window, none is held back by the ~15-a-day cap."""
    state.daily_post_cap = 100
    state.rate_limits = False  # the emulator's own limits are off too, as a test suite would set them
    gate = CountingRateGate(clock)
    clip = video("mp4")
    started = clock.now()

    env = {"CROSSPOST_TIKTOK_CLIENT_LIMITS": "off", "CROSSPOST_TIKTOK_POLL_SECONDS": "0.01"}
    outcomes = [await platform.publish(video_post(clip), make_ctx(rate=gate, env=env)) for _ in range(20)]

    assert all(o.status is JobStatus.PUBLISHED for o in outcomes)
    assert len([r for r in state.requests if r.route in INIT_ROUTES]) == 20
    assert not gate.keys, "no rate window was consulted"
    # Paced, 20 inits for one token take three full windows (6 a minute): over 3 minutes.
    assert clock.now() - started < timedelta(seconds=5), "nothing waited for a window"


@pytest.mark.parametrize("api_base", ["https://open.tiktokapis.com", "http://10.0.0.5:8080"])
def test_client_limits_off_is_refused_unless_the_api_is_an_emulator_on_loopback(api_base: str) -> None:
    from crosspost.core.errors import ConfigError
    from crosspost.core.settings import Settings
    from crosspost.plugins.tiktok.config import TikTokConfig

    settings = Settings.from_env({"CROSSPOST_TIKTOK_API_BASE": api_base, "CROSSPOST_TIKTOK_CLIENT_LIMITS": "off"})
    with pytest.raises(ConfigError, match="CLIENT_LIMITS=off is accepted only"):
        TikTokConfig.from_settings(settings)


def test_client_limits_reads_on_and_off_and_names_the_variable_otherwise() -> None:
    from crosspost.core.errors import ConfigError
    from crosspost.core.settings import Settings
    from crosspost.plugins.tiktok.config import TikTokConfig

    def read(value: str) -> bool:
        env = {"CROSSPOST_TIKTOK_API_BASE": "http://127.0.0.1:9", "CROSSPOST_TIKTOK_CLIENT_LIMITS": value}
        return TikTokConfig.from_settings(Settings.from_env(env)).client_limits

    assert read("") is True
    assert read("on") is True
    assert read("OFF") is False
    with pytest.raises(ConfigError, match="CROSSPOST_TIKTOK_CLIENT_LIMITS must be `on` or `off`"):
        read("sometimes")


def test_config_is_read_once_per_settings_object_and_afresh_for_another() -> None:
    from crosspost.core.settings import Settings
    from crosspost.plugins.tiktok.config import TikTokConfig

    first = Settings.from_env({"CROSSPOST_TIKTOK_CHUNK_SIZE": str(10 * 1024 * 1024)})
    second = Settings.from_env({"CROSSPOST_TIKTOK_CHUNK_SIZE": str(20 * 1024 * 1024)})
    assert TikTokConfig.from_settings(first) is TikTokConfig.from_settings(first)
    assert TikTokConfig.from_settings(second).chunk_size == 20 * 1024 * 1024
    assert TikTokConfig.from_settings(first).chunk_size == 10 * 1024 * 1024
