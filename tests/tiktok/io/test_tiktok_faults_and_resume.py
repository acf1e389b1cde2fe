"""Failures and restarts: every crash point of RELIABILITY.md, and a lossy network, against the emulator.

A crash is simulated by raising from ``FakeJobContext.on_save`` (the checkpoint being saved is
then *not* stored, as when a process dies mid-save); the next run starts from
``ctx.next_attempt()``, i.e. from the last stored checkpoint, as the engine does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.errors import PermanentError, TransientError, UncertainOutcome
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.plugins.tiktok.emulator import EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext
from crosspost.testing.media import make_image

from .conftest import FileServer, sha256_of
from .crashes import SMALL_CHUNKS, Crash, crash_when, routes


def video_post(path: Path) -> Post:
    return Post(content="resilience #test", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(path))],
                target_options={"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                           "allow_duet": True, "allow_stitch": True}})


def completed(state: EmulatorState) -> list[Any]:
    return [p for p in state.published if p.status == "PUBLISH_COMPLETE"]


async def test_uploads_complete_byte_exact_when_a_quarter_of_chunk_puts_fail(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.faults.add(route="upload_put", kind="status", status=503, probability=0.13)
    state.faults.add(route="upload_put", kind="drop", probability=0.14)
    state.faults.add(route="video_init", kind="status", status=500, times=2)
    state.faults.add(route="video_init", kind="drop", times=1)
    state.faults.add(route="status", kind="status", status=502, times=2)
    state.faults.add(route="status", kind="drop", times=2)
    clips = [video("mp4"), video("mp4", 70_000_000), video("webm", 70_000_000), video("mov", 130_000_000)]

    for clip in clips:
        outcome = await platform.publish(video_post(clip), make_ctx(env=SMALL_CHUNKS))
        assert outcome.status is JobStatus.PUBLISHED

    puts = [r for r in state.requests if r.route == "upload_put"]
    failed = [r for r in puts if r.fault in ("status", "drop")]
    assert 0.18 <= len(failed) / len(puts) <= 0.35, (len(failed), len(puts))
    assert [p.sha256 for p in completed(state)] == [sha256_of(c) for c in clips]
    assert len(completed(state)) == len(clips)
    assert all(rule.exhausted() for rule in state.faults.rules if rule.times is not None)


async def test_upload_resumes_at_the_first_unacknowledged_chunk_after_a_crash(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    clip = video("mp4", 70_000_000)  # 13 chunks of 5 MiB
    ctx = make_ctx(env=SMALL_CHUNKS, on_save=crash_when(lambda cp: cp.get("next_chunk") == 5))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    assert ctx.checkpoint["next_chunk"] == 4  # chunk 4 (0-based) was acknowledged, not recorded

    outcome = await platform.publish(video_post(clip), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "video_init") == [200]
    # The server already held chunk 4: its status says so, and the upload goes on from chunk 5.
    assert 416 not in routes(state, "upload_put")
    assert len(routes(state, "upload_put")) == 13
    assert completed(state)[0].sha256 == sha256_of(clip)


async def test_recorded_chunks_are_not_sent_again_after_a_crash(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    clip = video("mp4", 70_000_000)
    ctx = make_ctx(env=SMALL_CHUNKS, on_save=crash_when(lambda cp: cp.get("next_chunk") == 7))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    # The save of next_chunk=7 reached storage and the process died right after it.
    ctx.checkpoint = {**ctx.checkpoint, "next_chunk": 7}
    outcome = await platform.publish(video_post(clip), ctx.next_attempt())
    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "upload_put") == [206] * 12 + [201]
    assert completed(state)[0].sha256 == sha256_of(clip)


async def test_expired_upload_url_starts_a_fresh_init_after_a_crash(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    clip = video("mp4", 70_000_000)
    ctx = make_ctx(env=SMALL_CHUNKS, on_save=crash_when(lambda cp: cp.get("next_chunk") == 4))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    clock.advance(2 * 3600)  # the worker came back two hours later

    outcome = await platform.publish(video_post(clip), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "video_init") == [200, 200]
    first, second = state.published
    assert first.status == "PROCESSING_UPLOAD"  # abandoned: an unfinished upload never publishes
    assert second.status == "PUBLISH_COMPLETE"
    assert second.sha256 == sha256_of(clip)


async def test_upload_url_expiring_mid_upload_is_answered_with_a_fresh_init(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    clip = video("mp4", 70_000_000)

    def slow_network(index: int, checkpoint: Mapping[str, Any]) -> None:
        if checkpoint.get("next_chunk") == 3 and len(state.published) == 1:
            state.advance_clock(3601)  # TikTok's clock passes the hour; ours does not know it

    outcome = await platform.publish(video_post(clip), make_ctx(env=SMALL_CHUNKS, on_save=slow_network))

    assert outcome.status is JobStatus.PUBLISHED
    assert 403 in routes(state, "upload_put")
    assert routes(state, "video_init") == [200, 200]
    assert [p.sha256 for p in completed(state)] == [sha256_of(clip)]


async def test_lost_201_then_expired_url_polls_status_instead_of_posting_twice(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], clock: FakeClock,
) -> None:
    clip = video("mp4", 70_000_000)
    # The last chunk's 201 is recorded by the "processing" save that follows it: crash there.
    ctx = make_ctx(env=SMALL_CHUNKS, on_save=crash_when(lambda cp: cp.get("phase") == "processing"))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    assert state.published[0].media_complete  # TikTok got every byte; the crash ate the record
    assert (ctx.checkpoint["phase"], ctx.checkpoint["next_chunk"]) == ("uploading", 12)
    clock.advance(2 * 3600)

    outcome = await platform.publish(video_post(clip), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "video_init") == [200]
    assert len(state.published) == 1


async def test_crash_after_init_intent_of_a_file_upload_inits_again(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    clip = video("mp4")
    ctx = make_ctx(on_save=crash_when(lambda cp: "publish_id" in cp))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    assert ctx.checkpoint["phase"] == "init_sent"

    outcome = await platform.publish(video_post(clip), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "video_init") == [200, 200]
    assert len(completed(state)) == 1


async def test_lost_file_upload_init_answer_is_sent_again_safely(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.faults.add(route="video_init", kind="drop_after", times=1)
    outcome = await platform.publish(video_post(video("mp4")), make_ctx())
    assert outcome.status is JobStatus.PUBLISHED
    assert len(state.published) == 2
    assert len(completed(state)) == 1


def photo_post(*paths: Path) -> Post:
    return Post(content="Two photos", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.IMAGE, path=str(p)) for p in paths],
                target_options={"tiktok": {"privacy_level": "SELF_ONLY", "allow_comment": False}})


async def test_lost_photo_init_answer_is_uncertain_and_never_sent_again(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    media_host: FileServer, tmp_path: Path,
) -> None:
    photos = [make_image(tmp_path / f"p{i}.jpg", width=720, height=1280) for i in range(2)]
    state.faults.add(route="content_init", kind="drop_after", times=1)
    ctx = make_ctx(media_host=media_host.host)

    with pytest.raises(UncertainOutcome) as raised:
        await platform.publish(photo_post(*photos), ctx)
    assert "crosspost status" in str(raised.value)
    assert "TikTok app" in str(raised.value)
    assert routes(state, "content_init") == [None]
    assert len(state.published) == 1  # TikTok did start the post

    with pytest.raises(UncertainOutcome):
        await platform.publish(photo_post(*photos), ctx.next_attempt())
    assert routes(state, "content_init") == [None]


async def test_pull_init_recorded_as_sent_without_answer_is_uncertain(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    media_host: FileServer, tmp_path: Path,
) -> None:
    photo = make_image(tmp_path / "p.jpg", width=720, height=1280)
    ctx = make_ctx(media_host=media_host.host, checkpoint={"phase": "init_sent", "route": "photo"})
    with pytest.raises(UncertainOutcome):
        await platform.publish(photo_post(photo), ctx)
    assert state.requests == []


async def test_refused_photo_init_is_not_mistaken_for_a_lost_one(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    media_host: FileServer, tmp_path: Path,
) -> None:
    photo = make_image(tmp_path / "p.jpg", width=720, height=1280)
    state.faults.add(route="content_init", kind="status", status=403, code="url_ownership_unverified", times=1)
    ctx = make_ctx(media_host=media_host.host)
    with pytest.raises(PermanentError, match="verified"):
        await platform.publish(photo_post(photo), ctx)
    assert ctx.checkpoint["phase"] == "refused"

    outcome = await platform.publish(photo_post(photo), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "content_init") == [403, 200]


async def test_retryable_fail_reason_forgets_the_publish_and_the_next_run_posts_again(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.fail_next_publish("internal")
    ctx = make_ctx()
    with pytest.raises(TransientError) as raised:
        await platform.publish(video_post(video("mp4")), ctx)
    assert raised.value.code == "internal"
    assert "publish_id" not in ctx.checkpoint
    assert ctx.checkpoint["phase"] == "failed"

    outcome = await platform.publish(video_post(video("mp4")), ctx.next_attempt())
    assert outcome.status is JobStatus.PUBLISHED
    assert [p.status for p in state.published] == ["FAILED", "PUBLISH_COMPLETE"]


async def test_permanent_fail_reason_fails_with_what_to_fix(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.fail_next_publish("frame_rate_check_failed")
    with pytest.raises(PermanentError) as raised:
        await platform.publish(video_post(video("mp4")), make_ctx())
    assert raised.value.code == "frame_rate_check_failed"
    assert "23 to 60" in str(raised.value)


async def test_processing_resumes_polling_without_a_new_init(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.processing_polls = 10_000  # TikTok takes its time
    ctx = make_ctx()
    with pytest.raises(TransientError) as raised:
        await platform.publish(video_post(video("mp4")), ctx)
    assert raised.value.code == "still_processing"
    assert raised.value.retry_after
    assert ctx.checkpoint["phase"] == "processing"
    state.settle()

    outcome = await platform.publish(video_post(video("mp4")), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(state, "video_init") == [200]


@pytest.mark.parametrize("cut_before_save", [1, 2, 8, 14, None])
async def test_a_power_cut_loses_only_saves_the_next_run_redoes(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path], cut_before_save: int | None,
) -> None:
    """Saves made with ``durable=False`` (the intent before a file init, chunk progress, the
    "processing" step) may vanish in a power cut; resuming from the last durable one must still
    publish the video exactly once. ``None``: the cut comes after the run, before the engine's
    final write."""
    clip = video("mp4", 70_000_000)  # 13 chunks: saves 0 init_sent, 1 uploading, 2-13 chunks, 14 processing
    def on_save(index: int, checkpoint: Mapping[str, Any]) -> None:
        if index == cut_before_save:
            raise Crash(f"power cut before save {index}")

    ctx = make_ctx(env=SMALL_CHUNKS, on_save=on_save)
    if cut_before_save is None:
        assert (await platform.publish(video_post(clip), ctx)).status is JobStatus.PUBLISHED
    else:
        with pytest.raises(Crash):
            await platform.publish(video_post(clip), ctx)
    assert [s.durable for s in ctx.saves] == ([False, True] + [False] * 13)[:len(ctx.saves)]

    outcome = await platform.publish(video_post(clip), ctx.after_power_cut())

    assert outcome.status is JobStatus.PUBLISHED
    whole = [p for p in state.published if p.media_complete]  # TikTok publishes each of these
    assert len(whole) == 1, "published once"
    assert whole[0].sha256 == sha256_of(clip)
    inits = routes(state, "video_init")
    assert inits == ([200, 200] if cut_before_save == 1 else [200]), "a new init only before any byte was sent"
