"""MP4/MOV probed in pure Python from the ``moov`` index: the same answers as FFmpeg, without PyAV.

Real videos from the fixture factory are probed both ways (the pure reader through ``probe``,
FFmpeg through the PyAV path called explicitly) and must agree; hand-built boxes cover the
layouts the factory does not write (64-bit sizes, version-1 headers, broken indexes).
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, cast
from unittest import mock

import av
import pytest
from PIL import Image

from crosspost.core.media import MediaInfo, probe, probing
from crosspost.core.media import isobmff as iso
from crosspost.testing.media import available_encoder, make_video
from tests.core.silence import write_silence

IDENTITY = (0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
TURNED_90 = (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
"""The matrix an iPhone writes for a portrait video: turn 90° clockwise to display."""


# --- real files: the pure reader against FFmpeg ---------------------------------------------

FIXTURES: list[dict[str, Any]] = [
    {},
    {"container": "mov"},
    {"fps": 25, "seconds": 2.4, "width": 320, "height": 180},
    {"fps": 24, "seconds": 1.5},
    {"fps": 60, "seconds": 1.0},
    {"width": 322, "height": 182, "seconds": 1.0},
    {"rotation": 90},
    {"rotation": 180},
    {"rotation": 270},
    {"container": "mov", "rotation": 90},
    {"faststart": True},
    {"faststart": True, "pad_to": 2**32 + 7},
    {"codec": "libx265", "seconds": 1.0},
    {"codec": "libx265", "container": "mov", "rotation": 90, "seconds": 1.0},
    {"codec": "libsvtav1", "width": 320, "height": 192, "seconds": 1.0},
    {"codec": "libvpx-vp9", "seconds": 1.0},
    {"codec": "mpeg4", "seconds": 1.0},
    {"codec": "mpeg4", "container": "mov", "seconds": 1.0},
    {"codec": "mpeg2video", "seconds": 1.0},
]


def _fixture_id(params: dict[str, Any]) -> str:
    return "-".join(f"{key}={value}" for key, value in params.items()) or "default"


def pyav_probe(path: Path) -> MediaInfo:
    """What ``probe`` reports with the pure reader switched off: FFmpeg's answer, as before it."""
    with mock.patch.object(probing, "_read_iso_bmff", return_value=None):
        return probe(path)


def assert_same_as_ffmpeg(path: Path) -> MediaInfo:
    pure, ffmpeg = probe(path), pyav_probe(path)
    assert pure.problem is None, pure.problem
    assert ffmpeg.problem is None, ffmpeg.problem
    assert pure.duration_s == pytest.approx(ffmpeg.duration_s, abs=0.001)
    assert pure.fps == pytest.approx(ffmpeg.fps, abs=0.01)
    assert (pure.width, pure.height, pure.codec) == (ffmpeg.width, ffmpeg.height, ffmpeg.codec)
    return pure


def read(path: Path) -> iso.Movie:
    with path.open("rb") as file:
        return iso.read_movie(file, path.stat().st_size)


@pytest.mark.parametrize("params", FIXTURES, ids=_fixture_id)
def test_the_pure_probe_agrees_with_ffmpeg(tmp_path: Path, params: dict[str, Any]) -> None:
    if "codec" in params and available_encoder((params["codec"],)) is None:
        pytest.skip(f"this PyAV build has no {params['codec']} encoder")
    container = params.get("container", "mp4")
    video = make_video(tmp_path / f"clip.{container}", **params)

    assert read(video).video is not None  # answered from the index, not handed to FFmpeg
    assert_same_as_ffmpeg(video)


def write_frames(path: Path, codec: str, pix_fmt: str) -> Path:
    """Ten 320x240 frames at 25 fps in ``codec``: for the editors' codecs the factory does not write."""
    with av.open(str(path), "w") as output:
        stream = output.add_stream(codec, rate=25)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
        for index in range(10):
            picture = Image.new("RGB", (320, 240), (index * 20, 50, 50))
            frame = av.VideoFrame.from_image(picture).reformat(format=pix_fmt)  # type: ignore[no-untyped-call]
            frame.pts, frame.time_base = index, Fraction(1, 25)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("codec", "name", "pix_fmt"),
    [
        ("prores", "edit.mov", "yuv422p10le"),
        ("prores_ks", "edit.mov", "yuv444p10le"),
        ("mjpeg", "camera.mov", "yuvj420p"),
        ("mjpeg", "camera.mp4", "yuvj420p"),  # an 'mp4v' entry whose esds names JPEG
    ],
)
def test_editors_and_cameras_codecs_agree_with_ffmpeg(tmp_path: Path, codec: str, name: str, pix_fmt: str) -> None:
    if available_encoder((codec,)) is None:
        pytest.skip(f"this PyAV build has no {codec} encoder")
    video = write_frames(tmp_path / name, codec, pix_fmt)

    assert read(video).video is not None
    assert assert_same_as_ffmpeg(video).codec in {"prores", "mjpeg"}


def test_a_rotated_video_reports_its_displayed_size_and_turn(tmp_path: Path) -> None:
    video = make_video(tmp_path / "rotated.mp4", width=360, height=640, rotation=90, seconds=1.0)

    track = read(video).video

    assert track is not None
    assert (track.width, track.height) == (640, 360)
    assert track.rotation == 270  # PyAV's rotation is counter-clockwise; the reader counts clockwise


def with_edit_list(video: Path, entries: list[tuple[int, int, int]]) -> Path:
    """``video`` with its track's edit list replaced by ``entries`` (duration in ms, media time, rate).

    What a phone's or an editor's "trim" writes without re-encoding. The factory's MP4 has one
    track and its index last, so the ``trak`` and ``moov`` sizes around the list are patched.
    """
    data = bytearray(video.read_bytes())
    edts = data.index(b"edts") - 4
    (old_size,) = struct.unpack(">I", data[edts : edts + 4])
    rows = b"".join(struct.pack(">IihH", duration, media, rate, 0) for duration, media, rate in entries)
    new = box("edts", full_box("elst", 0, struct.pack(">I", len(entries)) + rows))
    data[edts : edts + old_size] = new
    for kind in (b"trak", b"moov"):
        at = data.rindex(kind, 0, edts) - 4
        (size,) = struct.unpack(">I", data[at : at + 4])
        data[at : at + 4] = struct.pack(">I", size + len(new) - old_size)
    video.write_bytes(bytes(data))
    return video


FRAME = 512
"""One frame at 30 fps in the factory's 15360 timescale."""


@pytest.mark.parametrize(
    ("entries", "shown_s"),
    [
        ([(2000, 0, 1)], 2.0),
        ([(3000, 30 * FRAME, 1)], 3.0),
        ([(4000, 30 * FRAME, 1)], 4.0),
        ([(5000, 0, 1)], 4.0),
        ([(500, -1, 1), (2000, 0, 1)], 2.5),
        ([(500, -1, 1), (4000, 0, 1)], 4.0),
        ([(1000, 0, 1), (1000, 60 * FRAME, 1)], 2.0),
        ([(3950, FRAME // 2, 1)], 3.95),
    ],
    ids=["half", "skip-1s", "skip-1s-long", "longer", "delay-trim", "delay-full", "two-cuts", "odd"],
)
def test_a_trimmed_video_reports_the_edit_lists_duration_as_ffmpeg_does(
    tmp_path: Path, entries: list[tuple[int, int, int]], shown_s: float
) -> None:
    """FFmpeg's duration is the shorter of the media's and the edits' (empty edits included)."""
    video = with_edit_list(make_video(tmp_path / "trimmed.mp4", seconds=4.0), entries)

    assert read(video).video is not None
    assert assert_same_as_ffmpeg(video).duration_s == pytest.approx(shown_s)


def write_with_pyav(
    path: Path,
    pts: list[int],
    *,
    audio_first: bool = False,
    options: dict[str, str] | None = None,
    preset: str = "ultrafast",
) -> Path:
    """An H.264 MP4 whose frames sit at ``pts`` (milliseconds), optionally after an audio track.

    ``preset="medium"`` brings B-frames: a ``ctts`` table and an edit list starting past 0.
    """
    with av.open(str(path), "w", format="mp4", options=options or {}) as output:
        audio = output.add_stream("aac", rate=48000) if audio_first else None
        stream = output.add_stream("libx264", rate=30, options={"preset": preset, "threads": "1"})
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        for index, at in enumerate(pts):
            picture = Image.new("RGB", (320, 240), ((index * 37) % 256, 96, 128))
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]  # untyped in av's stubs
            frame.pts, frame.time_base = at, Fraction(1, 1000)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
        if isinstance(audio, av.AudioStream):
            write_silence(output, audio, 5)
    return path




def test_a_variable_frame_rate_video_gets_ffmpegs_average_rate(tmp_path: Path) -> None:
    pts = [0, 33, 66, 100, 180, 200, 240, 300, 333, 366, 500, 533, 566, 600, 633, 666, 700, 900]
    video = write_with_pyav(tmp_path / "vfr.mp4", pts)

    assert_same_as_ffmpeg(video)


def test_a_video_with_b_frames_reports_what_ffmpeg_does(tmp_path: Path) -> None:
    video = write_with_pyav(tmp_path / "bframes.mp4", [i * 40 for i in range(57)], preset="medium")

    assert_same_as_ffmpeg(video)


def test_the_video_track_is_found_after_an_audio_track(tmp_path: Path) -> None:
    video = write_with_pyav(tmp_path / "av.mp4", [i * 33 for i in range(30)], audio_first=True)

    info = assert_same_as_ffmpeg(video)

    assert (info.width, info.height) == (320, 240)


def test_a_fragmented_mp4_is_handed_to_ffmpeg(tmp_path: Path) -> None:
    options = {"movflags": "frag_keyframe+empty_moov"}
    video = write_with_pyav(tmp_path / "fragmented.mp4", [i * 33 for i in range(30)], options=options)

    with pytest.raises(iso.NeedsDemuxer, match="fragmented"):
        read(video)
    assert probe(video) == pyav_probe(video)
    assert probe(video).problem is None


def test_reading_a_huge_file_reads_a_few_kilobytes(tmp_path: Path) -> None:
    video = make_video(tmp_path / "huge.mp4", pad_to=5 * 2**30)  # index after the media data, then 5 GiB
    with video.open("rb") as file:
        counter = CountingReader(file)
        assert iso.read_movie(cast(BinaryIO, counter), video.stat().st_size).video is not None

    assert counter.bytes_read < 16_384


class CountingReader:
    """A file wrapper that counts the bytes read through it (the reader only seeks and reads)."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.bytes_read = file, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.bytes_read += len(data)
        return data


def test_probing_an_mp4_in_a_fresh_interpreter_loads_neither_pyav_nor_pillow(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.mp4", seconds=1.0)
    code = (
        f"from crosspost.core.media import probe; info = probe({str(video)!r}); import sys; "
        "print(info.ok, 'av' in sys.modules, 'PIL' in sys.modules)"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.split() == ["True", "False", "False"]


# --- hand-built boxes ------------------------------------------------------------------------


def box(kind: str, payload: bytes, *, large: bool = False) -> bytes:
    """An ISO BMFF box; ``large`` writes size 1 and a 64-bit size after the type."""
    if large:
        return struct.pack(">I4sQ", 1, kind.encode("latin-1"), 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind.encode("latin-1")) + payload


def full_box(kind: str, version: int, payload: bytes) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + payload)


def header_box(timescale: int, duration: int, version: int) -> bytes:
    """``mvhd`` or ``mdhd`` fields up to the duration (the rest is zeros, enough for the reader)."""
    if version == 1:
        return struct.pack(">QQIQ", 0, 0, timescale, duration)
    return struct.pack(">IIII", 0, 0, timescale, duration)


def mvhd(timescale: int = 1000, duration: int = 2000, version: int = 0, matrix: tuple[int, ...] = IDENTITY) -> bytes:
    fields = header_box(timescale, duration, version) + struct.pack(">IH10x", 0x10000, 0x100)
    return full_box("mvhd", version, fields + struct.pack(">9i", *matrix) + bytes(28))


def tkhd(width: int, height: int, matrix: tuple[int, ...] = IDENTITY, version: int = 0) -> bytes:
    times = struct.pack(">QQIIQ", 0, 0, 1, 0, 0) if version == 1 else struct.pack(">IIIII", 0, 0, 1, 0, 0)
    layout = struct.pack(">8xhhH2x", 0, 0, 0) + struct.pack(">9i", *matrix)
    return full_box("tkhd", version, times + layout + struct.pack(">II", width << 16, height << 16))


def mdhd(timescale: int, duration: int, version: int = 0) -> bytes:
    return full_box("mdhd", version, header_box(timescale, duration, version) + bytes(4))


def hdlr(handler: str) -> bytes:
    return full_box("hdlr", 0, b"\0\0\0\0" + handler.encode("latin-1") + bytes(12) + b"\0")


def visual_entry(fourcc: str, width: int, height: int, children: bytes = b"") -> bytes:
    fields = struct.pack(">6xH16xHHII4xH32sHh", 1, width, height, 0x480000, 0x480000, 1, b"", 24, -1)
    return box(fourcc, fields + children)


def stsd(entry: bytes) -> bytes:
    return full_box("stsd", 0, struct.pack(">I", 1) + entry)


def stts(*entries: tuple[int, int]) -> bytes:
    return full_box("stts", 0, struct.pack(">I", len(entries)) + b"".join(struct.pack(">II", *e) for e in entries))


def video_trak(
    *,
    width: int = 640,
    height: int = 360,
    fourcc: str = "avc1",
    matrix: tuple[int, ...] = IDENTITY,
    timescale: int = 15360,
    timing: tuple[tuple[int, int], ...] = ((60, 512),),
    mdhd_version: int = 0,
    handler: str = "vide",
) -> bytes:
    """A track of 60 frames at 30 fps (15360 / 512), ``avc1`` at 640x360, unless told otherwise."""
    duration = sum(count * delta for count, delta in timing)
    stbl = box("stbl", stsd(visual_entry(fourcc, width, height)) + stts(*timing))
    minf = box("minf", box("vmhd", bytes(12)) + stbl)
    mdia = box("mdia", mdhd(timescale, duration, mdhd_version) + hdlr(handler) + minf)
    return box("trak", tkhd(width, height, matrix) + mdia)


def mp4(moov: bytes, *, moov_first: bool = True, large_mdat: bool = False) -> bytes:
    ftyp = box("ftyp", b"isom\0\0\2\0isomavc1")
    mdat = box("mdat", b"\x55" * 64, large=large_mdat)
    return ftyp + (moov + mdat if moov_first else mdat + moov)


def movie_of(*traks: bytes, header: bytes | None = None) -> bytes:
    return box("moov", (header if header is not None else mvhd()) + b"".join(traks))


def read_bytes(data: bytes) -> iso.Movie:
    return iso.read_movie(io.BytesIO(data), len(data))


def write(tmp_path: Path, data: bytes, name: str = "built.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_hand_built_track_reads_duration_rate_size_and_codec() -> None:
    track = read_bytes(mp4(movie_of(video_trak()))).video

    assert track == iso.VideoTrack(duration_s=2.0, fps=30.0, width=640, height=360, rotation=0, codec="h264")


@pytest.mark.parametrize("version", [0, 1])
def test_mvhd_and_mdhd_of_either_version_are_read(version: int) -> None:
    long = 2**33 + 5 if version == 1 else 123_456
    assert iso.parse_mvhd(mvhd(600, long, version)[8:]) == iso.Header(timescale=600, duration=long)
    assert iso.parse_mdhd(mdhd(90_000, long, version)[8:]) == iso.Header(timescale=90_000, duration=long)


def test_a_version_1_mdhd_and_mvhd_in_a_movie() -> None:
    moov = movie_of(video_trak(mdhd_version=1), header=mvhd(1000, 2000, version=1, matrix=IDENTITY))

    track = read_bytes(mp4(moov)).video

    assert track is not None
    assert (track.duration_s, track.fps) == (2.0, 30.0)


def test_the_index_after_the_media_data_is_found() -> None:
    assert read_bytes(mp4(movie_of(video_trak()), moov_first=False)).video is not None


def test_a_90_degree_matrix_swaps_width_and_height() -> None:
    track = read_bytes(mp4(movie_of(video_trak(width=1920, height=1080, matrix=TURNED_90)))).video

    assert track is not None
    assert (track.width, track.height, track.rotation) == (1080, 1920, 90)


def test_the_movie_matrix_combines_with_the_tracks() -> None:
    moov = movie_of(video_trak(matrix=TURNED_90), header=mvhd(matrix=TURNED_90))

    track = read_bytes(mp4(moov)).video

    assert track is not None
    assert (track.width, track.height, track.rotation) == (640, 360, 180)


def test_64_bit_box_sizes_are_followed() -> None:
    moov = box("moov", mvhd() + video_trak(), large=True)

    assert read_bytes(mp4(moov, moov_first=False, large_mdat=True)).video is not None
    assert read_bytes(mp4(moov, large_mdat=True)).video is not None


def test_a_last_box_of_size_0_runs_to_the_end_of_the_file() -> None:
    data = mp4(movie_of(video_trak()))
    mdat_at = data.index(b"mdat") - 4
    data = data[:mdat_at] + struct.pack(">I", 0) + data[mdat_at + 4 :]

    assert read_bytes(data).video is not None


def test_the_first_video_track_is_read_after_others() -> None:
    sound = video_trak(handler="soun", width=0, height=0, fourcc="mp4a")

    track = read_bytes(mp4(movie_of(sound, video_trak(width=480, height=270)))).video

    assert track is not None
    assert (track.width, track.height) == (480, 270)


def test_a_movie_without_a_video_track_has_none(tmp_path: Path) -> None:
    data = mp4(movie_of(video_trak(handler="soun", fourcc="mp4a")))

    assert read_bytes(data).video is None
    assert probe(write(tmp_path, data)).problem == "the MP4 file has no video stream (audio only?)"


@pytest.mark.parametrize("version", [0, 1])
def test_an_edit_list_of_either_version_is_summed(version: int) -> None:
    layout = ">QqhH" if version == 1 else ">IihH"
    rows = struct.pack(layout, 500, -1, 1, 0) + struct.pack(layout, 2000, 1024, 1, 0)

    assert iso.parse_elst(full_box("elst", version, struct.pack(">I", 2) + rows)[8:]) == 2500


def test_ffmpegs_last_sample_correction_is_applied() -> None:
    timing = iso.parse_stts(stts((200, 512), (1, 512 * 50))[8:])

    assert timing == iso.SampleTiming(count=201, total=201 * 512)


@pytest.mark.parametrize(
    ("moov", "why"),
    [
        (movie_of(video_trak(fourcc="xyz1")), "not one this reader names"),
        (movie_of(video_trak(timing=())), "no samples"),
        (movie_of(video_trak(timing=((1, 2**31),))), "negative or huge"),
        (movie_of(video_trak(), box("mvex", b"")), "fragmented"),
        (movie_of(video_trak(timescale=0)), "timescale of 0"),
        (box("moov", box("cmov", bytes(40))), "compressed"),
        (box("moov", video_trak()), "no 'mvhd' box"),
    ],
)
def test_layouts_the_reader_does_not_handle_go_to_ffmpeg(moov: bytes, why: str) -> None:
    with pytest.raises(iso.NeedsDemuxer, match=why):
        read_bytes(mp4(moov))


def test_a_box_overrunning_its_parent_goes_to_ffmpeg() -> None:
    trak = bytearray(video_trak())
    stsd_at = trak.index(b"stsd") - 4
    trak[stsd_at : stsd_at + 4] = struct.pack(">I", 10_000)

    with pytest.raises(iso.NeedsDemuxer, match="'stsd' box claims"):
        read_bytes(mp4(movie_of(bytes(trak))))


def test_an_oversized_table_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iso, "MAX_BOX_READ", 100)

    with pytest.raises(iso.NeedsDemuxer, match="more than this reader reads"):
        read_bytes(mp4(movie_of(video_trak(timing=tuple((1, 512) for _ in range(60))))))


@pytest.mark.parametrize("kept", [0.1, 0.3, 0.5, 0.7, 0.9, 0.99])
def test_a_truncated_index_is_handed_to_ffmpeg(tmp_path: Path, kept: float) -> None:
    """The index cut short inside itself, with a well-formed ``moov`` size around the stump.

    The answer is FFmpeg's, as before the pure reader: mostly a problem, sometimes numbers
    FFmpeg salvaged from what is left.
    """
    whole = movie_of(video_trak())
    data = mp4(box("moov", whole[8 : round(len(whole) * kept)]))
    path = write(tmp_path, data)

    with pytest.raises(iso.NeedsDemuxer):
        read_bytes(data)
    assert probe(path) == pyav_probe(path)


def test_a_file_cut_inside_its_index_is_reported(tmp_path: Path) -> None:
    data = mp4(movie_of(video_trak()), moov_first=False)

    info = probe(write(tmp_path, data[: len(data) - 50]))

    assert info.problem is not None
    assert info.problem.startswith("the MP4 container is truncated or corrupt: the 'moov' box")
