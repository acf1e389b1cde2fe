"""A FIFO, a device or a folder as media is refused at once, never waited on (issue 19 item 4)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from crosspost.core.errors import InvalidPost
from crosspost.core.media.probing import probe
from crosspost.core.media.sniff import NotARegularFile, read_head
from crosspost.core.models import Media, MediaKind, Post, Target
from tests.reliability.tiktok_hub import TikTokHubs, account_for, video_post

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    os.mkfifo(path)
    return path


def test_read_head_refuses_a_fifo_without_waiting_for_a_writer(fifo: Path) -> None:
    with pytest.raises(NotARegularFile) as raised:
        read_head(fifo)
    assert raised.value.kind == "a named pipe (FIFO)"


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a character device"), ("/dev/null", "a character device")])
def test_an_endless_device_is_refused_before_a_byte_is_read(path: str, kind: str) -> None:
    with pytest.raises(NotARegularFile) as raised:
        read_head(path)
    assert raised.value.kind == kind


def test_read_head_is_bounded_on_a_regular_file(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 100_000)
    size, head = read_head(big, 4096)
    assert (size, len(head)) == (100_000, 4096)


def test_probe_names_the_fifo_as_the_problem(fifo: Path) -> None:
    info = probe(fifo)
    assert info.problem == "the path is a named pipe (FIFO), not a regular file: media must be a regular file"


async def test_a_post_with_a_fifo_as_media_is_refused_at_validation_at_once(
    hubs: TikTokHubs, fifo: Path, creator: object, clock: object,
) -> None:
    post = Post(content="pipe #test", targets=[Target(platform="tiktok", account="main")],
                media=[Media(type=MediaKind.VIDEO, path=str(fifo))], target_options=video_post(fifo).target_options)
    async with hubs.open() as hub:
        await hub.accounts.add(account_for(creator, clock))  # type: ignore[arg-type]
        with pytest.raises(InvalidPost) as raised:
            await asyncio.wait_for(hub.submit(post), timeout=20)  # a hang fails here instead of blocking CI
        assert await hub.list_posts() == []
    assert any(p.field.startswith("media[0]") and "named pipe" in p.message for p in raised.value.problems), \
        raised.value.problems
