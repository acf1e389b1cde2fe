"""What a local media file holds: format, size, duration, frame rate and picture size.

:func:`probe` reports, it never raises: a file that cannot be used (missing, empty, an HTML page
saved as ``.mp4``, a cut-off download) comes back as a :class:`MediaInfo` whose ``problem`` says
what is wrong in words a user can act on. It reads headers only (the container's index for
videos, a reduced decode for JPEGs), so a file of many gigabytes probes in milliseconds and in
constant memory.

What loads what: importing this module loads neither PyAV nor Pillow. MP4 and MOV are read in
pure Python from their ``moov`` index (:mod:`crosspost.core.media.isobmff`), so probing the
commonest uploads never loads FFmpeg. PyAV is imported on first use for WebM, Matroska and AVI,
and for the MP4/MOV files the pure reader hands over (fragmented files, unknown codecs, odd or
oversized indexes); Pillow is imported on first use for still images.
"""

from __future__ import annotations

import asyncio
import os
import stat
import struct
import threading
import warnings
from collections import OrderedDict
from fractions import Fraction
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from crosspost.core.media.info import MediaInfo
from crosspost.core.media.isobmff import NeedsDemuxer, read_movie
from crosspost.core.media.sniff import SNIFF_SIZE, MediaFormat, NotARegularFile, read_head, sniff
from crosspost.core.media.structure import StructureError, check_ebml, check_iso_bmff
from crosspost.core.models import MediaKind

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.stream import VideoStream
    from PIL import Image

# Bounded reads for PyAV's stream analysis, whatever the file size (ffmpeg's defaults, made explicit).
_PROBE_BUDGET = {"probesize": "5000000", "analyzeduration": "5000000"}
_ROTATION_PACKETS = 32
_EXIF_ORIENTATION = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TRANSPOSED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_ISO_BMFF = frozenset({MediaFormat.MP4, MediaFormat.MOV})
# Pillow reads these only with an optional plugin (pillow-heif; AVIF in some builds).
_NEEDS_A_PLUGIN = frozenset({MediaFormat.HEIC, MediaFormat.AVIF})


_REMEMBERED = 256
"""How many probe results are kept, keyed on the file's identity and version (see ``_key``)."""
_results: OrderedDict[tuple[int, ...], MediaInfo] = OrderedDict()
_results_lock = threading.Lock()


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe the file at ``path`` from its bytes. Never raises; see ``MediaInfo.problem``.

    A post's video is looked at several times (submission, the job's own check, the route
    choice): an unchanged file's answer is remembered. Unchanged means the same device, inode,
    size, modification and change times to the nanosecond, so a rewritten or replaced file is
    probed afresh.
    """
    key = _key(path)
    if key is not None:
        with _results_lock:
            known = _results.get(key)
            if known is not None:
                _results.move_to_end(key)
                return known
    info = _probe_uncached(path)
    if key is not None:
        with _results_lock:
            _results[key] = info
            while len(_results) > _REMEMBERED:
                _results.popitem(last=False)
    return info


def _key(path: str | os.PathLike[str]) -> tuple[int, ...] | None:
    """The identity and version of a regular file, or None (missing, a FIFO, a device...)."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _probe_uncached(path: str | os.PathLike[str]) -> MediaInfo:
    source = Path(path)
    try:
        size, head = read_head(source, SNIFF_SIZE)  # a FIFO or device is refused, never waited on
    except OSError as exc:
        return MediaInfo.of(MediaFormat.UNKNOWN, 0, _os_problem(exc))
    info = MediaInfo.of(sniff(head), size)
    if size == 0:
        return attrs.evolve(info, problem="the file is empty (0 bytes)")
    try:
        return _probe_bytes(source, head, info)
    except Exception as exc:  # the last line of defence: probing reports, it never raises
        return attrs.evolve(info, problem=f"the {info.format.label} file could not be read: {exc}")


async def probe_async(path: str | os.PathLike[str]) -> MediaInfo:
    """:func:`probe` in a worker thread, so the event loop never waits on disk or FFmpeg."""
    return await asyncio.to_thread(probe, path)


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, NotARegularFile):
        if exc.kind == "a folder":
            return "the path is a folder, not a file"
        return f"the path is {exc.kind}, not a regular file: media must be a regular file"
    if isinstance(exc, FileNotFoundError):
        return "the file does not exist"
    if isinstance(exc, IsADirectoryError):
        return "the path is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "the file cannot be read: permission denied"
    return f"the file cannot be read: {exc.strerror or exc}"


def _probe_bytes(path: Path, head: bytes, info: MediaInfo) -> MediaInfo:
    if info.format is MediaFormat.HTML:
        return attrs.evolve(
            info,
            problem="the file is an HTML page, not a video or photo (a share-page link saved instead of the file?)",
        )
    if info.kind is MediaKind.VIDEO:
        return _probe_video(path, head, info)
    if info.kind is MediaKind.IMAGE:
        return _probe_image(path, info)
    return attrs.evolve(
        info, problem=f"the file is not a video or photo format crosspost knows (it starts with {head[:8].hex(' ')})"
    )


def _probe_video(path: Path, head: bytes, info: MediaInfo) -> MediaInfo:
    try:
        _check_structure(path, head, info)
        if info.format in _ISO_BMFF:
            found = _read_iso_bmff(path, info)
            if found is not None:
                return found
    except StructureError as exc:
        return attrs.evolve(info, problem=f"{_corrupt(info)}: {exc}")
    return _probe_with_pyav(path, info)


def _corrupt(info: MediaInfo) -> str:
    return f"the {info.format.label} container is truncated or corrupt"


def _read_iso_bmff(path: Path, info: MediaInfo) -> MediaInfo | None:
    """The MP4/MOV's video track from its ``moov`` index; ``None`` when FFmpeg must decide."""
    try:
        with path.open("rb") as file:
            movie = read_movie(file, info.size)
    except (NeedsDemuxer, struct.error, IndexError):  # the last two would be a bug here: FFmpeg still answers
        return None
    if movie.video is None:
        return _no_video(info)
    track = movie.video
    return attrs.evolve(
        info,
        duration_s=track.duration_s,
        fps=track.fps,
        width=track.width,
        height=track.height,
        codec=track.codec,
    )


def _no_video(info: MediaInfo) -> MediaInfo:
    return attrs.evolve(info, problem=f"the {info.format.label} file has no video stream (audio only?)")


def _probe_with_pyav(path: Path, info: MediaInfo) -> MediaInfo:
    """FFmpeg's demuxers, for WebM/Matroska/AVI and the MP4/MOV layouts the pure reader hands over."""
    import av  # ~20 MiB and tens of milliseconds: only on the paths that need FFmpeg
    from av.error import FFmpegError

    try:
        with av.open(str(path), container_options=_PROBE_BUDGET) as container:
            return _read_video(container, info)
    except FFmpegError as exc:
        return attrs.evolve(info, problem=f"{_corrupt(info)}: {exc.strerror or exc}")


def _check_structure(path: Path, head: bytes, info: MediaInfo) -> None:
    """Catch cut-off files from the container's own size fields, before FFmpeg guesses around them."""
    if info.format in _ISO_BMFF:
        with path.open("rb") as file:
            check_iso_bmff(file, info.size)
    elif info.format in (MediaFormat.WEBM, MediaFormat.MKV):
        check_ebml(head, info.size)


def _read_video(container: InputContainer, info: MediaInfo) -> MediaInfo:
    if not container.streams.video:
        return _no_video(info)
    stream = container.streams.video[0]
    width, height = stream.codec_context.width or None, stream.codec_context.height or None
    if _rotation(container, stream) % 180:
        width, height = height, width
    rate = stream.average_rate or stream.guessed_rate
    return attrs.evolve(
        info,
        duration_s=_duration(container, stream),
        fps=float(rate) if rate else None,
        width=width,
        height=height,
        codec=stream.codec_context.codec.canonical_name,  # "av1", not the decoder's "libdav1d"
    )


def _duration(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        from av import time_base

        return float(Fraction(container.duration, time_base))
    return None


def _rotation(container: InputContainer, stream: VideoStream) -> int:
    """Degrees the player turns the picture, read from the first decoded frame (0 if unknown).

    Decoders attach the container's display matrix to each frame; decoding one keyframe is cheap.
    One decoder thread, so the first frame comes out of the first packets (frame threading
    would hold it back by one packet per thread).
    """
    from av.error import FFmpegError

    try:
        stream.codec_context.thread_count = 1
        for packet in islice(container.demux(stream), _ROTATION_PACKETS):
            for frame in stream.decode(packet):
                return frame.rotation
    except (FFmpegError, ValueError):
        pass
    return 0


def _probe_image(path: Path, info: MediaInfo) -> MediaInfo:
    from PIL import Image, UnidentifiedImageError  # loaded on the first still probed

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                _check_image_data(image)
                if _orientation(path, image) in _TRANSPOSED_ORIENTATIONS:
                    width, height = height, width
    except Image.DecompressionBombError as exc:
        return attrs.evolve(info, problem=f"the {info.format.label} image is too large to read safely: {exc}")
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, UnidentifiedImageError) and info.format in _NEEDS_A_PLUGIN:
            problem = f"{info.format.label} images cannot be read here; export the photo as JPEG"
            return attrs.evolve(info, problem=problem)
        return attrs.evolve(info, problem=f"the {info.format.label} image is truncated or corrupt: {exc}")
    return attrs.evolve(info, width=width, height=height)


def _orientation(path: Path, image: Image.Image) -> int | None:
    """The EXIF orientation tag, read from the raw EXIF block, never by decoding the picture.

    ``Image.getexif()`` decodes a PNG that has no ``eXIf`` chunk before its image data, and a
    PNG decoded before ``verify()`` cannot be verified any more (Pillow raises "verify must be
    called directly after open"): every PNG without metadata, i.e. every screenshot, was refused.
    The parser keeps the EXIF it met while opening; an ``eXIf`` chunk placed after the image data
    is found by walking the PNG's chunk headers.
    """
    raw = image.info.get("exif")
    if not raw and image.format == "PNG":
        raw = _trailing_png_exif(path)
    if not raw:
        return None
    from PIL import Image

    exif = Image.Exif()
    exif.load(raw if isinstance(raw, bytes) else bytes(raw))
    value = exif.get(_EXIF_ORIENTATION)
    return value if isinstance(value, int) else None


def _trailing_png_exif(path: Path) -> bytes | None:
    """The payload of a PNG's ``eXIf`` chunk, by seeking from chunk header to chunk header."""
    with path.open("rb") as file:
        file.seek(len(_PNG_SIGNATURE))
        while header := file.read(8):
            if len(header) < 8:
                return None
            length, kind = struct.unpack(">I4s", header)
            if kind == b"eXIf":
                return file.read(length)
            if kind == b"IEND":
                return None
            file.seek(length + 4, os.SEEK_CUR)  # the data and its CRC
    return None


def _check_image_data(image: Image.Image) -> None:
    """Decode enough to notice a cut-off file, in bounded memory.

    JPEGs decode at 1/8 scale (the decoder still walks every byte); PNGs are checked by their
    CRCs without decoding; other formats (WebP, GIF) decode, as their size is bounded in practice.
    """
    if image.format == "JPEG":
        image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    elif image.format == "PNG":
        image.verify()
    else:
        image.load()
