"""An interrupted upload asks TikTok where it stands before sending another byte (issue 19 item 1).

The emulator here answers a chunk PUT *after* the upload completed with a bare 400, as an
independent TikTok stand-in did (``completed_put_status=400``): a client that re-sends the last
chunk after losing its 201 learns nothing from the refusal. Only the status endpoint
(``uploaded_bytes``, the state) can tell, and the post must never end ``failed`` while TikTok
holds every byte, nor be posted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crosspost.core.errors import PermanentError, UncertainOutcome
from crosspost.core.models import JobStatus, Media, MediaKind, Post, Target
from crosspost.plugins.tiktok.emulator import EmulatorState
from crosspost.plugins.tiktok.platform import TikTokPlatform
from crosspost.testing.context import FakeJobContext

from .crashes import SMALL_CHUNKS, Crash, crash_when, routes


def video_post(path: Path) -> Post:
    return Post(content="interrupted #test", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(path))],
                target_options={"tiktok": {"privacy_level": "PUBLIC_TO_EVERYONE", "allow_comment": True,
                                           "allow_duet": True, "allow_stitch": True}})


def route_order(state: EmulatorState) -> list[str]:
    return [r.route for r in state.requests if r.route in ("upload_put", "status", "video_init")]


@pytest.fixture
def strict_state(state: EmulatorState) -> EmulatorState:
    state.completed_put_status = 400
    return state


@pytest.mark.parametrize(("size", "chunks"), [(None, 1), (70_000_000, 13)], ids=["one-chunk", "13-chunks"])
async def test_lost_201_of_the_last_chunk_polls_instead_of_failing(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], strict_state: EmulatorState,
    video: Callable[..., Path], size: int | None, chunks: int,
) -> None:
    clip = video("mp4", size)
    # The last chunk's 201 is recorded by the "processing" save that follows it: crash there.
    ctx = make_ctx(env=SMALL_CHUNKS, on_save=crash_when(lambda cp: cp.get("phase") == "processing"))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    assert strict_state.published[0].media_complete  # TikTok holds every byte; the 201 was never recorded
    assert ctx.checkpoint["next_chunk"] == chunks - 1

    outcome = await platform.publish(video_post(clip), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(strict_state, "video_init") == [200]
    assert len(strict_state.published) == 1
    assert routes(strict_state, "upload_put") == [206] * (chunks - 1) + [201], "not one byte re-sent"
    resumed = route_order(strict_state)[chunks + 1:]
    assert resumed[0] == "status", "the resumed run asked TikTok before anything else"


async def test_a_resumed_upload_continues_where_tiktok_says_it_stands(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], strict_state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    clip = video("mp4", 70_000_000)
    ctx = make_ctx(env=SMALL_CHUNKS, on_save=crash_when(lambda cp: cp.get("next_chunk") == 5))
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    assert ctx.checkpoint["next_chunk"] == 4  # chunk 4 arrived at TikTok; its ack was never stored

    outcome = await platform.publish(video_post(clip), ctx.next_attempt())

    assert outcome.status is JobStatus.PUBLISHED
    assert routes(strict_state, "upload_put") == [206] * 12 + [201], "chunk 4 was not sent twice"
    assert 416 not in routes(strict_state, "upload_put")


async def test_a_lost_answer_to_the_last_chunk_within_one_run_is_checked_not_resent(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], strict_state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    # TikTok stores the single chunk, then the connection dies before its 201.
    strict_state.faults.add(route="upload_put", kind="drop_after", times=1)

    outcome = await platform.publish(video_post(video("mp4")), make_ctx())

    assert outcome.status is JobStatus.PUBLISHED
    assert len(routes(strict_state, "upload_put")) == 1
    assert len(strict_state.published) == 1


async def test_a_refused_resend_that_tiktok_cannot_account_for_is_unknown_not_failed(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], strict_state: EmulatorState,
    video: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = video("mp4")
    ctx = make_ctx(on_save=crash_when(lambda cp: cp.get("phase") == "processing"))  # the 201 never recorded
    with pytest.raises(Crash):
        await platform.publish(video_post(clip), ctx)
    # A TikTok whose status answer says nothing about the bytes: it stays PROCESSING_UPLOAD and
    # reports no uploaded_bytes (the emulator reports byte counts by source).
    monkeypatch.setattr(strict_state.lifecycle, "poll", lambda publish: None)
    for publish in strict_state.published:
        publish.source = "UNDISCLOSED"

    with pytest.raises(UncertainOutcome) as raised:
        await platform.publish(video_post(clip), ctx.next_attempt())

    assert raised.value.code == "upload_unknown"
    assert "crosspost reconcile" in str(raised.value)
    assert routes(strict_state, "video_init") == [200]


async def test_a_refused_chunk_of_an_upload_tiktok_says_is_incomplete_fails(
    platform: TikTokPlatform, make_ctx: Callable[..., FakeJobContext], state: EmulatorState,
    video: Callable[..., Path],
) -> None:
    state.faults.add(route="upload_put", kind="status", status=400, times=1)

    with pytest.raises(PermanentError) as raised:
        await platform.publish(video_post(video("mp4")), make_ctx())

    assert raised.value.code == "bad_chunk_request"
    assert routes(state, "status"), "the refusal was checked against TikTok's status first"
