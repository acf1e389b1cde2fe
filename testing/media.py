"""Real, small media files for tests: videos PyAV encodes, Pillow images, and broken files.

Everything here is deterministic and fast: a test video is a few seconds of tiny frames,
encoded once per parameter set and process and then copied. ``pad_to`` grows a valid video
to any size, beyond 4 GiB, by appending an ISO BMFF ``free`` box (MP4/MOV) or an EBML ``Void``
element (WebM) written sparsely, so a "4 GiB upload" costs no disk space and no RAM.
"""

from __future__ import annotations

import functools
import os
import struct
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
from av.codec.codec import UnknownCodecError
from av.video.stream import VideoStream
from PIL import Image, ImageDraw, ImageFont, ImageOps

from crosspost.core.media.structure import EBML_VOID_ID, ebml_segment

VideoContainer = Literal["mp4", "mov", "webm"]
ImageFormat = Literal["jpeg", "webp", "png"]

_H264_ENCODERS = ("libx264", "libopenh264")
_VP_ENCODERS = ("libvpx", "libvpx-vp9")
_ENCODER_OPTIONS = {
    "libx264": {"preset": "ultrafast", "threads": "1"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8", "threads": "1"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "threads": "1"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error:pools=1:frame-threads=1"},
    "libsvtav1": {"preset": "12", "svtav1-params": "lp=1"},
}
_PIL_FORMATS = {"jpeg": "JPEG", "webp": "WEBP", "png": "PNG"}
_FREE_HEADER = 8
_VOID_HEADER = 9  # 1-byte ID + 8-byte size


def available_encoder(names: tuple[str, ...]) -> str | None:
    """The first of ``names`` this PyAV build can encode with, if any."""
    for name in names:
        try:
            av.codec.Codec(name, "w")
        except UnknownCodecError:
            continue
        return name
    return None


def video_encoder(container: VideoContainer) -> str:
    """The encoder :func:`make_video` uses: H.264 for MP4/MOV (MPEG-4 part 2 without one), VP8/VP9 for WebM."""
    if container == "webm":
        found = available_encoder(_VP_ENCODERS)
        if found is None:
            raise RuntimeError("this PyAV build has no VP8/VP9 encoder, so it cannot write WebM")
        return found
    return available_encoder(_H264_ENCODERS) or "mpeg4"


def make_video(
    path: str | os.PathLike[str],
    *,
    container: VideoContainer = "mp4",
    seconds: float = 4.0,
    fps: int = 30,
    width: int = 360,
    height: int = 640,
    pad_to: int | None = None,
    faststart: bool = False,
    rotation: int = 0,
    codec: str | None = None,
) -> Path:
    """Write a real, playable video of ``seconds`` at ``fps`` to ``path`` and return the path.

    ``pad_to`` makes the file exactly that many bytes (still valid; see the module docstring).
    ``faststart`` puts the MP4/MOV index before the media data, as streaming encoders do.
    ``rotation`` records a display rotation (degrees) in the container, as phones do.
    ``codec`` names the encoder (``libx265``, ``libsvtav1``, ``mpeg4``...) instead of :func:`video_encoder`'s.
    """
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for 4:2:0 video, got {width}x{height}")
    target = Path(path)
    target.write_bytes(_encoded(container, seconds, fps, width, height, faststart, rotation, codec))
    if pad_to is not None:
        _pad(target, container, pad_to)
    return target


@functools.cache
def _encoded(
    container: VideoContainer,
    seconds: float,
    fps: int,
    width: int,
    height: int,
    faststart: bool,
    rotation: int,
    codec: str | None,
) -> bytes:
    frames = (_test_frame(i, width, height) for i in range(round(seconds * fps)))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"video.{container}"
        _encode(out, container, frames, fps, faststart=faststart, rotation=rotation, codec=codec)
        return out.read_bytes()


def _encode(
    out: Path,
    container: VideoContainer,
    frames: Iterator[Image.Image],
    fps: int,
    *,
    faststart: bool = False,
    rotation: int = 0,
    quality: dict[str, str] | None = None,
    codec: str | None = None,
) -> None:
    codec = codec or video_encoder(container)
    options = {**_ENCODER_OPTIONS.get(codec, {}), **(quality or {})}
    muxer_options = {"movflags": "+faststart"} if faststart and container != "webm" else {}
    with av.open(str(out), "w", format=container, options=muxer_options) as output:
        stream = output.add_stream(codec, rate=fps, options=options)
        if not isinstance(stream, VideoStream):
            raise TypeError(f"{codec} is not a video encoder")
        first = next(frames)
        stream.width, stream.height = first.size
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for index, image in enumerate((first, *frames)):
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]  # untyped in av's stubs
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))


def _test_frame(index: int, width: int, height: int) -> Image.Image:
    """A flat colour that changes every frame with a bar sweeping down: cheap to draw and encode."""
    image = Image.new("RGB", (width, height), ((index * 7) % 256, 96, (200 - index * 3) % 256))
    top = (index * 8) % height
    ImageDraw.Draw(image).rectangle((0, top, width - 1, min(height - 1, top + height // 16)), fill="white")
    return image


def _pad(path: Path, container: VideoContainer, pad_to: int) -> None:
    size = path.stat().st_size
    extra = pad_to - size
    if extra == 0:
        return
    if container == "webm":
        _pad_webm(path, size, extra)
        return
    if extra < _FREE_HEADER:
        raise ValueError(f"pad_to must equal the video size ({size}) or exceed it by at least {_FREE_HEADER} bytes")
    small = extra < 2**32  # a 32-bit size field, or size=1 and a 64-bit "largesize" after the type
    header = struct.pack(">I4s", extra, b"free") if small else struct.pack(">I4sQ", 1, b"free", extra)
    _append_sparse(path, size, header, pad_to)


def _pad_webm(path: Path, size: int, extra: int) -> None:
    """Grow the Segment by a trailing Void element, so the padding stays inside the document."""
    if extra < _VOID_HEADER:
        raise ValueError(f"pad_to must equal the video size ({size}) or exceed it by at least {_VOID_HEADER} bytes")
    with path.open("rb") as file:
        segment = ebml_segment(file.read(4096))
    if segment is None or segment.size < 0 or segment.data_offset + segment.size != size:
        raise ValueError("the WebM Segment does not end the file with a known size; cannot pad it")
    new_size = segment.size + extra
    if new_size >= (1 << (7 * segment.size_length)) - 1:
        raise ValueError(f"pad_to {size + extra} is too large for this Segment's {segment.size_length}-byte size field")
    with path.open("r+b") as file:
        file.seek(segment.size_offset)
        file.write((new_size | (1 << (7 * segment.size_length))).to_bytes(segment.size_length, "big"))
    void_header = EBML_VOID_ID + ((extra - _VOID_HEADER) | (1 << 56)).to_bytes(8, "big")
    _append_sparse(path, size, void_header, size + extra)


def _append_sparse(path: Path, at: int, header: bytes, total: int) -> None:
    """Write ``header`` at ``at`` and extend the file with a hole to ``total`` bytes (no disk, no RAM)."""
    with path.open("r+b") as file:
        file.seek(at)
        file.write(header)
        file.truncate(total)


def make_image(
    path: str | os.PathLike[str],
    *,
    fmt: ImageFormat = "jpeg",
    width: int = 1080,
    height: int = 1920,
    transparent: bool = False,
    orientation: int = 1,
) -> Path:
    """Write a gradient image to ``path`` and return the path.

    ``transparent`` (PNG/WebP) fades the picture to fully transparent at the left edge;
    ``orientation`` stores that EXIF orientation tag (6 means "turn 90° clockwise to view").
    """
    image = _gradient((width, height), ("#1b1f5e", "#e0607e", "#ffd27a"))
    if transparent:
        image.putalpha(Image.linear_gradient("L").rotate(90).resize((width, height)))
    # Metadata only when asked for: real PNGs and WebPs mostly carry none, and an always-present
    # EXIF block once hid a probe bug that refused every PNG without one.
    extra: dict[str, bytes] = {}
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        extra["exif"] = exif.tobytes()
    target = Path(path)
    image.save(target, _PIL_FORMATS[fmt], quality=85, **extra)
    return target


def _gradient(size: tuple[int, int], colours: tuple[str, str, str], *, stretch: int = 1) -> Image.Image:
    """A vertical three-colour gradient, ``stretch`` times as tall as ``size``."""
    width, height = size
    ramp = Image.linear_gradient("L").resize((width, height * stretch))
    return ImageOps.colorize(ramp, black=colours[0], mid=colours[1], white=colours[2])


def make_html_page(path: str | os.PathLike[str]) -> Path:
    """Write what a browser saves from a cloud-drive share link: an HTML page, not the video."""
    target = Path(path)
    target.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>clip.mp4 - Google Drive</title></head>"
        '<body><div id="viewer">Sign in to preview clip.mp4</div></body></html>\n',
        encoding="utf-8",
    )
    return target


def truncate(path: str | os.PathLike[str], n: int) -> Path:
    """Keep only the first ``n`` bytes of the file, as an interrupted download or copy would."""
    target = Path(path)
    size = target.stat().st_size
    if not 0 <= n <= size:
        raise ValueError(f"n must be between 0 and the file size ({size}), got {n}")
    os.truncate(target, n)
    return target


_DEMO_SIZE = (720, 1280)
_DEMO_FPS = 30
_DEMO_SECONDS = 5
_DEMO_PHOTO_SIZE = (1080, 1920)
_SUNSET = ("#14123d", "#c2456b", "#ffc46b")
_DEMO_PHOTOS = (
    ("photo1.jpg", "JPEG", _SUNSET, "1 / 3"),
    ("photo2.jpg", "JPEG", ("#062a3a", "#1f8a8a", "#bff2d8"), "2 / 3"),
    ("photo3.webp", "WEBP", ("#2a0f45", "#7b3fa0", "#f5b3d1"), "3 / 3"),
)


def write_demo_assets(folder: str | os.PathLike[str]) -> list[Path]:
    """Write the sample media shipped in ``crosspost/plugins/tiktok/assets`` and return their paths.

    ``sample.mp4``: 720x1280 (9:16), 5 s at 30 fps, H.264, index first (faststart): a sunset
    drifting behind the words "crosspost demo". Three 1080x1920 photos: two JPEGs and a WebP.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    video = out / "sample.mp4"
    frame_count = _DEMO_FPS * _DEMO_SECONDS
    frames = (_demo_frame(i / frame_count, _DEMO_SIZE, _SUNSET, "") for i in range(frame_count))
    _encode(video, "mp4", frames, _DEMO_FPS, faststart=True, quality={"preset": "slow", "crf": "24"})
    written = [video]
    for name, pil_format, colours, caption in _DEMO_PHOTOS:
        photo = _demo_frame(0.35, _DEMO_PHOTO_SIZE, colours, caption)
        photo.save(out / name, pil_format, quality=82)
        written.append(out / name)
    return written


def _demo_frame(t: float, size: tuple[int, int], colours: tuple[str, str, str], caption: str) -> Image.Image:
    """One picture of the demo: the sky scrolls and the sun sets as ``t`` goes from 0 to 1."""
    width, height = size
    sky = _cached_sky(size, colours)
    top = round((1 - t) * height)  # warm sky first, dusk last
    image = sky.crop((0, top, width, top + height))
    draw = ImageDraw.Draw(image)
    radius = width // 6
    sun_y = round(height * (0.45 + 0.2 * t))
    draw.ellipse((width // 2 - radius, sun_y - radius, width // 2 + radius, sun_y + radius), fill="#ffe29a")
    draw.rectangle((0, round(height * 0.72), width, height), fill="#1d1a33")
    font = ImageFont.load_default(size=width // 10)
    draw.text((width // 2, round(height * 0.82)), "crosspost demo", font=font, fill="white", anchor="mm")
    if caption:
        small = ImageFont.load_default(size=width // 20)
        draw.text((width // 2, round(height * 0.9)), caption, font=small, fill="#c9c3e6", anchor="mm")
    return image


@functools.cache
def _cached_sky(size: tuple[int, int], colours: tuple[str, str, str]) -> Image.Image:
    return _gradient(size, colours, stretch=2)
