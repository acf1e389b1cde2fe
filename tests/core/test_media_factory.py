"""crosspost.testing.media: real test media, padded sparse videos, and the sample assets we ship."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from crosspost.core.media import MediaFormat, probe
from crosspost.testing.media import (
    make_image,
    make_video,
    truncate,
    video_encoder,
    write_demo_assets,
)

ASSETS = resources.files("crosspost.plugins.tiktok") / "assets"


def test_mp4_videos_use_h264_when_pyav_has_an_encoder_for_it(tmp_path: Path) -> None:
    encoder = video_encoder("mp4")

    codec = probe(make_video(tmp_path / "clip.mp4")).codec

    assert encoder in {"libx264", "libopenh264", "mpeg4"}
    assert codec == ("mpeg4" if encoder == "mpeg4" else "h264")


def test_videos_with_the_same_parameters_have_the_same_bytes(tmp_path: Path) -> None:
    first = make_video(tmp_path / "a.webm", container="webm", seconds=1.0)
    second = make_video(tmp_path / "b.webm", container="webm", seconds=1.0)

    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("pad_to", [200_000, 2**32 - 1, 2**32 + 7, 5 * 2**30])
def test_pad_to_gives_exactly_that_many_bytes(tmp_path: Path, pad_to: int) -> None:
    video = make_video(tmp_path / "padded.mp4", pad_to=pad_to)

    assert video.stat().st_size == pad_to
    assert probe(video).problem is None


def test_pad_to_below_what_a_padding_box_needs_is_refused(tmp_path: Path) -> None:
    size = make_video(tmp_path / "clip.mp4").stat().st_size

    with pytest.raises(ValueError, match="at least 8 bytes"):
        make_video(tmp_path / "clip.mp4", pad_to=size + 3)


def test_odd_picture_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must be even"):
        make_video(tmp_path / "odd.mp4", width=361)


def test_truncate_keeps_the_first_bytes(tmp_path: Path) -> None:
    image = make_image(tmp_path / "photo.jpg", width=64, height=64)
    head = image.read_bytes()[:100]

    truncate(image, 100)

    assert image.read_bytes() == head
    with pytest.raises(ValueError, match="between 0 and the file size"):
        truncate(image, 101)


def test_shipped_sample_video_is_a_vertical_h264_mp4_tiktok_accepts() -> None:
    with resources.as_file(ASSETS / "sample.mp4") as path:
        info = probe(path)

    assert info.problem is None
    assert info.format is MediaFormat.MP4
    assert info.codec == "h264"
    assert info.width is not None
    assert info.height is not None
    assert info.width * 16 == info.height * 9
    assert min(info.width, info.height) >= 360
    assert max(info.width, info.height) <= 4096
    assert info.duration_s is not None
    assert info.duration_s > 3
    assert info.fps is not None
    assert 23 <= info.fps <= 60
    assert info.size < 500_000


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("photo1.jpg", MediaFormat.JPEG), ("photo2.jpg", MediaFormat.JPEG), ("photo3.webp", MediaFormat.WEBP)],
)
def test_shipped_sample_photos_are_small_1080x1920_jpeg_or_webp(name: str, fmt: MediaFormat) -> None:
    with resources.as_file(ASSETS / name) as path:
        info = probe(path)

    assert (info.format, info.width, info.height, info.problem) == (fmt, 1080, 1920, None)
    assert info.size < 300_000


@pytest.mark.slow
def test_demo_assets_can_be_regenerated(tmp_path: Path) -> None:
    written = write_demo_assets(tmp_path)

    assert [path.name for path in written] == ["sample.mp4", "photo1.jpg", "photo2.jpg", "photo3.webp"]
    for path in written:
        with resources.as_file(ASSETS / path.name) as shipped:
            fresh, known = probe(path), probe(shipped)
        assert (fresh.format, fresh.width, fresh.height, fresh.duration_s, fresh.fps) == (
            known.format,
            known.width,
            known.height,
            known.duration_s,
            known.fps,
        )
