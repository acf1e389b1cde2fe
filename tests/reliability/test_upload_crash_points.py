"""A worker dies at each moment of a TikTok upload; a restarted worker finishes the post truthfully.

Issue 19 "Must show": before init, after init, mid-chunk, after a chunk's bytes but before its
acknowledgement is recorded, after the last chunk's bytes but before its 201 is recorded, and
during polling, on SQLite and PostgreSQL. The emulator answers a chunk re-sent after completion
with a bare 400 (``completed_put_status=400``), as a strict TikTok stand-in did, so nothing but
the status endpoint can tell the restarted worker that TikTok already holds the video.

Every post ends published exactly once (one ``PUBLISH_COMPLETE`` at TikTok, with the SHA-256 of
the file) — or, where TikTok's answers cannot tell, ``unknown`` with the reason and how to
reconcile — never ``failed`` while TikTok has it, never twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crosspost.core.clock import FakeClock
from crosspost.core.hub import Hub
from crosspost.core.models import JobStatus
from crosspost.plugins.tiktok.client import TikTokClient
from crosspost.plugins.tiktok.emulator import Creator, EmulatorState
from crosspost.plugins.tiktok.file_body import FileRangeBody
from crosspost.plugins.tiktok.publish import PublishRun
from crosspost.plugins.tiktok.upload import ChunkUploader
from tests.reliability.tiktok_hub import (
    ProcessDied,
    TikTokHubs,
    account_for,
    completed,
    run_until_death,
    sha256_of,
    video_post,
)

CHUNK = 5 * 1024 * 1024
SIZE = 70_000_000
"""13 chunks of 5 MiB (the last one larger)."""
CHUNKS = SIZE // CHUNK


def dies(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, *, before: bool,
         when: Callable[..., bool] = lambda *a, **k: True) -> None:
    """Make ``owner.name`` kill the process (once) before or after doing its work, when ``when``."""
    original = getattr(owner, name)
    fired = False

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        nonlocal fired
        if fired or not when(*args, **kwargs):
            return await original(*args, **kwargs)
        fired = True
        if before:
            raise ProcessDied(name)
        await original(*args, **kwargs)
        raise ProcessDied(name)

    monkeypatch.setattr(owner, name, wrapper)


def dies_mid_chunk(monkeypatch: pytest.MonkeyPatch, index: int) -> None:
    """The process dies while chunk ``index`` is on the wire: part of its body has been sent."""
    write_body = FileRangeBody.write_with_length
    put = ChunkUploader._put
    stalled = asyncio.Event()
    fired = False

    async def stalling_write(self: FileRangeBody, writer: Any, content_length: int | None) -> None:
        if self.first != index * CHUNK or fired:
            return await write_body(self, writer, content_length)
        await write_body(self, writer, 2 << 20)  # two blocks of the chunk go out, then the body stops
        stalled.set()
        await asyncio.Event().wait()

    async def dying_put(self: ChunkUploader, target: Any, chunk: int, progress: Any) -> Any:
        nonlocal fired
        if fired or chunk != index:
            return await put(self, target, chunk, progress)
        request = asyncio.ensure_future(put(self, target, chunk, progress))
        await stalled.wait()
        fired = True
        request.cancel()  # the connection drops with the process
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await request
        raise ProcessDied("mid-chunk")

    monkeypatch.setattr(FileRangeBody, "write_with_length", stalling_write)
    monkeypatch.setattr(ChunkUploader, "_put", dying_put)


async def crash_then_restart(hubs: TikTokHubs, creator: Creator, clock: FakeClock, path: Path,
                             undo: Callable[[], None]) -> tuple[Hub, str]:
    """Submit one post, run a worker that dies, then a fresh worker until idle; return the final record."""
    async with hubs.open() as hub:
        await hub.accounts.add(account_for(creator, clock))
        record = await hub.submit(video_post(path))
        await run_until_death(hub)
    undo()  # the new process runs unpatched code
    return await finish(hubs), record.id


async def finish(hubs: TikTokHubs) -> Hub:
    async with hubs.open() as hub:
        await hub.run_worker(until_idle=True)
        return hub


async def final_status(hubs: TikTokHubs, post_id: str) -> Any:
    async with hubs.open() as hub:
        return await hub.get(post_id)


def assert_published_once(state: EmulatorState, path: Path) -> None:
    done = completed(state)
    assert len(done) == 1, [p.status for p in state.published]
    assert done[0].sha256 == sha256_of(path)
    others = [p for p in state.published if p is not done[0]]
    assert not any(p.media_complete for p in others), "an abandoned publish held the whole video"


MOMENTS: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "before_init": lambda mp: dies(mp, TikTokClient, "init", before=True),
    "after_init": lambda mp: dies(mp, TikTokClient, "init", before=False),
    "mid_chunk": lambda mp: dies_mid_chunk(mp, 4),
    "after_chunk_bytes_before_ack": lambda mp: dies(
        mp, PublishRun, "_chunk_acked", before=True, when=lambda self, index: index == 6),
    "after_last_chunk_before_201_recorded": lambda mp: dies(
        mp, PublishRun, "_chunk_acked", before=True, when=lambda self, index: index == CHUNKS - 1),
    "during_polling": lambda mp: dies(mp, TikTokClient, "fetch_status", before=False),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
async def test_a_worker_killed_at_each_moment_of_an_upload_publishes_exactly_once(
    moment: str, hubs: TikTokHubs, state: EmulatorState, creator: Creator, clock: FakeClock,
    video: Callable[[int | None], Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    state.completed_put_status = 400  # a re-sent chunk after completion says nothing
    path = video(SIZE)
    MOMENTS[moment](monkeypatch)

    _, post_id = await crash_then_restart(hubs, creator, clock, path, monkeypatch.undo)

    record = await final_status(hubs, post_id)
    assert record.status is JobStatus.PUBLISHED, record.targets[0].error
    assert record.targets[0].post_url
    assert_published_once(state, path)


async def test_a_single_chunk_video_whose_201_was_lost_publishes_once(
    hubs: TikTokHubs, state: EmulatorState, creator: Creator, clock: FakeClock,
    video: Callable[[int | None], Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    state.completed_put_status = 400
    path = video(None)
    dies(monkeypatch, PublishRun, "_chunk_acked", before=True)

    _, post_id = await crash_then_restart(hubs, creator, clock, path, monkeypatch.undo)

    assert (await final_status(hubs, post_id)).status is JobStatus.PUBLISHED
    assert_published_once(state, path)
    puts = [r.status for r in state.requests if r.route == "upload_put"]
    assert puts == [201], "the restarted worker asked TikTok instead of re-sending the chunk"


async def test_an_upload_whose_completion_tiktok_cannot_confirm_ends_unknown_with_the_reason(
    hubs: TikTokHubs, state: EmulatorState, creator: Creator, clock: FakeClock,
    video: Callable[[int | None], Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    state.completed_put_status = 400
    path = video(None)
    ack = PublishRun._chunk_acked
    dies(monkeypatch, PublishRun, "_chunk_acked", before=True)
    # This TikTok's status answers never say how many bytes it holds, and it stays uploading.
    monkeypatch.setattr(state.lifecycle, "poll", lambda publish: None)

    async with hubs.open() as hub:
        await hub.accounts.add(account_for(creator, clock))
        record = await hub.submit(video_post(path))
        await run_until_death(hub)
    monkeypatch.setattr(PublishRun, "_chunk_acked", ack)
    for publish in state.published:
        publish.source = "UNDISCLOSED"  # the emulator reports uploaded_bytes for FILE_UPLOAD only
    await finish(hubs)

    final = await final_status(hubs, record.id)
    assert final.status is JobStatus.UNKNOWN
    error = final.targets[0].error
    assert error is not None
    assert "may still publish it" in error.message
    assert "crosspost reconcile" in error.message
    assert [r.route for r in state.requests].count("video_init") == 1, "never sent twice"
