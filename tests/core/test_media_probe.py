"""probe(): duration, frame rate and picture size from the container; problems as text, never raised."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import attrs
import av
import pytest

from crosspost.core.media import MediaFormat, MediaInfo, probe, probe_async
from crosspost.core.models import MediaKind
from crosspost.testing.media import ImageFormat, VideoContainer, make_html_page, make_image, make_video, truncate
from tests.core import real_images
from tests.core.silence import write_silence

FOUR_GIB = 4 * 2**30


def make_audio_only_mp4(path: Path) -> Path:
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("aac", rate=48000)
        assert isinstance(stream, av.AudioStream)
        write_silence(output, stream, 10)
    return path


@pytest.mark.parametrize(
    ("container", "fmt", "mime", "codecs"),
    [
        ("mp4", MediaFormat.MP4, "video/mp4", {"h264", "mpeg4"}),
        ("mov", MediaFormat.MOV, "video/quicktime", {"h264", "mpeg4"}),
        ("webm", MediaFormat.WEBM, "video/webm", {"vp8", "vp9"}),
    ],
)
def test_probe_reads_duration_fps_and_size_of_each_container(
    tmp_path: Path, container: VideoContainer, fmt: MediaFormat, mime: str, codecs: set[str]
) -> None:
    video = make_video(tmp_path / "clip", container=container, seconds=4.0, fps=30, width=360, height=640)

    info = probe(video)

    assert info.problem is None
    assert (info.format, info.mime, info.kind) == (fmt, mime, MediaKind.VIDEO)
    assert info.size == video.stat().st_size
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    assert info.fps == pytest.approx(30.0, abs=0.01)
    assert (info.width, info.height) == (360, 640)
    assert info.codec in codecs


def test_probe_reads_other_frame_rates_and_sizes(tmp_path: Path) -> None:
    video = make_video(tmp_path / "landscape.mp4", seconds=2.4, fps=25, width=320, height=180)

    info = probe(video)

    assert info.duration_s == pytest.approx(2.4, abs=0.05)
    assert (info.fps, info.width, info.height) == (25.0, 320, 180)


def test_probe_reports_the_displayed_size_of_a_rotated_phone_video(tmp_path: Path) -> None:
    video = make_video(tmp_path / "rotated.mp4", width=360, height=640, rotation=90)

    info = probe(video)

    assert info.problem is None
    assert (info.width, info.height) == (640, 360)


@pytest.mark.parametrize("container", ["mp4", "mov", "webm"])
def test_probe_reads_a_padded_video_to_its_exact_size(tmp_path: Path, container: VideoContainer) -> None:
    video = make_video(tmp_path / f"padded.{container}", container=container, pad_to=1_000_003)

    info = probe(video)

    assert info.problem is None
    assert info.size == 1_000_003
    assert info.duration_s == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize("container", ["mp4", "webm"])
def test_probe_reads_a_sparse_video_beyond_4_gib_from_its_headers(tmp_path: Path, container: VideoContainer) -> None:
    size = FOUR_GIB + 12_345
    video = make_video(tmp_path / f"huge.{container}", container=container, pad_to=size)

    info = probe(video)

    assert info.problem is None
    assert info.size == size
    assert info.duration_s == pytest.approx(4.0, abs=0.05)
    assert (info.fps, info.width, info.height) == (30.0, 360, 640)


def test_probe_reports_an_mp4_cut_off_before_its_index(tmp_path: Path) -> None:
    video = make_video(tmp_path / "cut.mp4")
    truncate(video, video.stat().st_size // 2)

    info = probe(video)

    assert info.format is MediaFormat.MP4
    assert info.problem is not None
    assert info.problem.startswith("the MP4 container is truncated or corrupt: ")
    assert "'mdat' box" in info.problem
    assert info.duration_s is None


def test_probe_reports_a_faststart_mp4_cut_off_inside_its_media_data(tmp_path: Path) -> None:
    video = make_video(tmp_path / "cut.mp4", faststart=True)
    truncate(video, video.stat().st_size - 1000)

    info = probe(video)

    assert info.problem is not None
    assert "truncated or corrupt" in info.problem


def test_probe_reports_an_mp4_that_ends_right_after_its_index(tmp_path: Path) -> None:
    video = make_video(tmp_path / "index-only.mp4", faststart=True)
    with video.open("rb") as file:
        data = file.read()
    truncate(video, data.index(b"mdat") - 4)

    info = probe(video)

    assert info.problem is not None
    assert "no 'mdat' media box" in info.problem


def test_probe_reports_a_truncated_webm(tmp_path: Path) -> None:
    video = make_video(tmp_path / "cut.webm", container="webm")
    truncate(video, video.stat().st_size // 2)

    info = probe(video)

    assert info.problem is not None
    assert info.problem.startswith("the WebM container is truncated or corrupt: the Segment needs")


def test_probe_reports_an_mp4_whose_index_is_garbage(tmp_path: Path) -> None:
    ftyp = struct.pack(">I4s4sI8s", 24, b"ftyp", b"isom", 512, b"isomavc1")
    moov = struct.pack(">I4s", 8 + 64, b"moov") + bytes(range(64))
    mdat = struct.pack(">I4s", 8 + 32, b"mdat") + b"\x55" * 32
    (tmp_path / "garbage.mp4").write_bytes(ftyp + moov + mdat)

    info = probe(tmp_path / "garbage.mp4")

    assert info.problem is not None
    assert info.format is MediaFormat.MP4


def test_probe_explains_an_html_page_saved_as_mp4(tmp_path: Path) -> None:
    page = make_html_page(tmp_path / "clip.mp4")

    info = probe(page)

    assert (info.format, info.kind) == (MediaFormat.HTML, None)
    assert info.problem == (
        "the file is an HTML page, not a video or photo (a share-page link saved instead of the file?)"
    )


def test_probe_reports_an_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.mp4").touch()

    assert probe(tmp_path / "empty.mp4").problem == "the file is empty (0 bytes)"


def test_probe_reports_a_missing_file(tmp_path: Path) -> None:
    info = probe(tmp_path / "nowhere.mp4")

    assert (info.problem, info.size, info.format) == ("the file does not exist", 0, MediaFormat.UNKNOWN)


def test_probe_reports_a_folder_given_as_a_file(tmp_path: Path) -> None:
    assert probe(tmp_path).problem == "the path is a folder, not a file"


def test_probe_reports_bytes_it_does_not_recognise(tmp_path: Path) -> None:
    (tmp_path / "notes.mp4").write_bytes(b"PK\x03\x04 not a video at all")

    info = probe(tmp_path / "notes.mp4")

    assert info.problem == (
        "the file is not a video or photo format crosspost knows (it starts with 50 4b 03 04 20 6e 6f 74)"
    )


def test_probe_reports_a_video_file_without_a_video_stream(tmp_path: Path) -> None:
    audio = make_audio_only_mp4(tmp_path / "song.mp4")

    assert probe(audio).problem == "the MP4 file has no video stream (audio only?)"


@pytest.mark.parametrize(("fmt", "mime"), [("jpeg", "image/jpeg"), ("webp", "image/webp"), ("png", "image/png")])
def test_probe_reads_image_dimensions(tmp_path: Path, fmt: ImageFormat, mime: str) -> None:
    image = make_image(tmp_path / "photo", fmt=fmt, width=1080, height=1350)

    info = probe(image)

    assert info.problem is None
    assert (info.mime, info.kind, info.width, info.height) == (mime, MediaKind.IMAGE, 1080, 1350)
    assert info.duration_s is None


def test_probe_reports_the_displayed_size_of_an_image_with_exif_rotation(tmp_path: Path) -> None:
    image = make_image(tmp_path / "sideways.jpg", width=400, height=300, orientation=6)

    assert (probe(image).width, probe(image).height) == (300, 400)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_probe_reports_a_truncated_image(tmp_path: Path, fmt: ImageFormat) -> None:
    image = make_image(tmp_path / "cut", fmt=fmt, width=800, height=800)
    truncate(image, image.stat().st_size // 2)

    info = probe(image)

    assert info.problem is not None
    assert "image is truncated or corrupt" in info.problem


def test_probe_says_when_heic_cannot_be_read(tmp_path: Path) -> None:
    ftyp = struct.pack(">I4s4sI8s", 24, b"ftyp", b"heic", 0, b"mif1heic")
    (tmp_path / "IMG_0001.HEIC").write_bytes(ftyp + b"\0" * 100)

    info = probe(tmp_path / "IMG_0001.HEIC")

    assert (info.format, info.kind) == (MediaFormat.HEIC, MediaKind.IMAGE)
    assert info.problem is not None
    assert "HEIC" in info.problem


async def test_probe_async_gives_the_same_answer_as_probe(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")

    assert await probe_async(video) == probe(video)


def test_media_info_is_ok_only_without_a_problem() -> None:
    info = MediaInfo.of(MediaFormat.MP4, 10)

    assert info.ok
    assert not attrs.evolve(info, problem="broken").ok


def test_probe_accepts_str_paths(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4")

    assert probe(os.fspath(video)) == probe(video)


# --- real stills: the shapes the tools users have write (tests/core/real_images.py) ----------


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16"])
def test_probe_reads_a_png_without_metadata_like_a_screenshot(tmp_path: Path, mode: str) -> None:
    png = real_images.screenshot_png(tmp_path / "screenshot.png", mode=mode, size=(64, 40))

    info = probe(png)

    assert info.problem is None
    assert (info.format, info.kind, info.width, info.height) == (MediaFormat.PNG, MediaKind.IMAGE, 64, 40)


def test_probe_finds_the_orientation_of_a_png_whose_exif_follows_the_image_data(tmp_path: Path) -> None:
    png = real_images.png_with_trailing_exif(tmp_path / "sideways.png", orientation=6, size=(64, 40))

    info = probe(png)

    assert info.problem is None
    assert (info.width, info.height) == (40, 64)


@pytest.mark.parametrize(("orientation", "shown"), [(1, (80, 60)), (3, (80, 60)), (6, (60, 80)), (8, (60, 80))])
def test_probe_reports_a_camera_jpeg_as_displayed(tmp_path: Path, orientation: int, shown: tuple[int, int]) -> None:
    jpeg = real_images.camera_jpeg(tmp_path / "IMG_0001.JPG", orientation=orientation, size=(80, 60))

    info = probe(jpeg)

    assert info.problem is None
    assert (info.format, info.width, info.height) == (MediaFormat.JPEG, *shown)


@pytest.mark.parametrize("lossless", [False, True])
def test_probe_reads_a_plain_webp(tmp_path: Path, lossless: bool) -> None:
    webp = real_images.plain_webp(tmp_path / "photo.webp", lossless=lossless, size=(64, 40))

    info = probe(webp)

    assert info.problem is None
    assert (info.format, info.width, info.height) == (MediaFormat.WEBP, 64, 40)


def test_probe_reports_a_webp_with_exif_rotation_as_displayed(tmp_path: Path) -> None:
    webp = real_images.webp_with_exif(tmp_path / "sideways.webp", orientation=6, size=(64, 40))

    info = probe(webp)

    assert info.problem is None
    assert (info.width, info.height) == (40, 64)


def test_probe_still_reports_a_png_with_a_broken_checksum(tmp_path: Path) -> None:
    png = real_images.screenshot_png(tmp_path / "bad.png")
    data = bytearray(png.read_bytes())
    data[data.index(b"IDAT") + 6] ^= 0xFF  # a flipped byte inside the image data: its CRC no longer matches
    png.write_bytes(bytes(data))

    info = probe(png)

    assert info.problem is not None
    assert "truncated or corrupt" in info.problem


def test_an_unchanged_file_is_probed_once_and_a_rewritten_one_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same video is looked at several times per post: the answer is remembered while the
    file stays the same (device, inode, size, times), never once its bytes are replaced."""
    from crosspost.core.media import probing

    path = make_video(tmp_path / "clip.mp4", seconds=2.0)
    first = probe(path)
    assert probe(path) is first, "an unchanged file's answer is remembered"

    make_video(tmp_path / "other.mp4", seconds=3.0).replace(path)  # replaced under the same name
    assert probe(path).duration_s == pytest.approx(3.0, abs=0.05)

    path.write_bytes(b"<html>not a video</html>")  # rewritten in place
    assert probe(path).format is MediaFormat.HTML

    calls = 0
    real = probing._probe_uncached

    def counting(p: object) -> MediaInfo:
        nonlocal calls
        calls += 1
        return real(p)  # type: ignore[arg-type]

    monkeypatch.setattr(probing, "_probe_uncached", counting)
    missing = tmp_path / "missing.mp4"
    probe(missing)
    probe(missing)
    assert calls == 2, "a missing file is never remembered"
