"""The first video track of an MP4 or MOV, read from its ``moov`` index in pure Python.

Probing an upload needs five numbers (duration, frame rate, displayed width and height, codec),
all of which sit in a handful of small boxes of the ``moov`` index: ``mvhd``, and per ``trak``
``tkhd``, ``edts/elst``, ``mdhd``, ``hdlr``, ``stsd`` and ``stts``. Reading them here instead
of through PyAV keeps ``crosspost post`` from loading FFmpeg and Pillow (~25 MiB, tens of
milliseconds) for the commonest uploads.

The reader seeks from box header to box header and reads only those boxes, each with a
bounded read: the media data (``mdat``) and the big sample tables (``stsz``, ``stco``, ``ctts``)
are never read, wherever they sit in the file. The numbers follow FFmpeg's ``mov`` demuxer, so a
file reports the same here as it did through PyAV. Whatever this reader does not fully
understand (fragmented files, compressed or oversized indexes, unknown codecs, odd tables)
raises :class:`NeedsDemuxer`, and the caller asks FFmpeg instead: a rare file costs the old
price, never a wrong answer.

Box payload parsers take ``bytes``; only :func:`read_movie` and its walker touch a file object.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, BinaryIO

import attrs

from crosspost.core.media.structure import StructureError, box_header, iso_boxes

MAX_BOX_READ = 8 * 2**20
"""The most bytes read from any one box (a two-hour variable-rate ``stts`` is ~1.7 MiB)."""
MAX_CHILDREN = 4096
"""The most child boxes walked inside one container box before giving up on the file."""
_STSD_READ = 64 * 2**10
"""Enough of ``stsd`` for the first sample entry's header and its ``esds`` (decoder configs are small)."""
_FULL_BOX = 4
"""Version (1 byte) and flags (3 bytes) that start a "full box" payload."""
_VISUAL_ENTRY_HEADER = 78
"""Bytes of a VisualSampleEntry before its child boxes (``avcC``, ``esds``, ...), type and size excluded."""
_ENTRY_SIZE_AT = 32
"""Offset of width and height in a VisualSampleEntry: after size, type, reserved, data ref and pre-defined fields."""
_STTS_DELTA_LIMIT = 2**31
"""FFmpeg treats larger ``stts`` deltas as negative DTS corrections; such files go to FFmpeg."""

_CODECS = {
    **dict.fromkeys(("avc1", "avc2", "avc3", "avc4"), "h264"),
    **dict.fromkeys(("hvc1", "hev1", "dvh1", "dvhe"), "hevc"),
    "av01": "av1",
    "vp09": "vp9",
    "vp08": "vp8",
    **dict.fromkeys(("apch", "apcn", "apcs", "apco", "ap4h", "ap4x"), "prores"),
    **dict.fromkeys(("jpeg", "mjpa"), "mjpeg"),
}
"""Sample entry fourcc to FFmpeg's codec name, for the codecs phones, cameras and editors write."""
_MPEG4_OBJECT_TYPES = {0x20: "mpeg4", 0x21: "h264", 0x23: "hevc", 0x6A: "mpeg1video", 0x6C: "mjpeg"}
_MPEG4_OBJECT_TYPES.update(dict.fromkeys(range(0x60, 0x66), "mpeg2video"))
"""``esds`` objectTypeIndication of an ``mp4v`` entry to FFmpeg's codec name (ISO 14496-1 table 5)."""

Matrix = tuple[float, float, float, float, float, float, float, float, float]
"""A 3x3 display matrix, row by row: ``a b u / c d v / x y w`` (ISO 14496-12 8.2.2)."""


class NeedsDemuxer(ValueError):
    """The index is laid out in a way this reader does not handle: ask FFmpeg instead."""


@attrs.frozen(kw_only=True)
class VideoTrack:
    """The first video track, as FFmpeg would report it (sizes as displayed, after rotation)."""

    duration_s: float | None
    fps: float | None
    width: int | None
    height: int | None
    rotation: int
    """Degrees (0, 90, 180, 270) the player turns the picture, from the track and movie matrices."""
    codec: str


@attrs.frozen(kw_only=True)
class Movie:
    """What the ``moov`` index says; ``video`` is ``None`` for a file with no video track."""

    video: VideoTrack | None


@attrs.frozen(kw_only=True)
class Span:
    """Where one box's payload lies in the file."""

    type: str
    start: int
    end: int

    @property
    def size(self) -> int:
        return self.end - self.start


@attrs.frozen(kw_only=True)
class Header:
    """``mvhd`` or ``mdhd``: a timescale and a duration counted in it."""

    timescale: int
    duration: int


@attrs.frozen(kw_only=True)
class SampleTiming:
    """From ``stts``: how many samples, and their decode durations summed (FFmpeg's ``duration_for_fps``)."""

    count: int
    total: int


@attrs.frozen(kw_only=True)
class SampleEntry:
    """The first ``stsd`` entry: the codec and the coded picture size."""

    codec: str
    width: int
    height: int


# --- reading from a file: box headers, then bounded payloads ----------------------------------


def read_movie(file: BinaryIO, file_size: int) -> Movie:
    """Read the first video track from the ``moov`` of the ISO BMFF file open as ``file``.

    Raises :class:`NeedsDemuxer` when FFmpeg must decide (see the module docstring), and
    :class:`StructureError` (from the top-level walk) when a box overruns the file.
    """
    top = [Span(type=box.type, start=box.offset, end=box.offset + box.size) for box in iso_boxes(file, file_size)]
    if any(box.type == "moof" for box in top):
        raise NeedsDemuxer("the file is fragmented (moof boxes)")
    moov = next((box for box in top if box.type == "moov"), None)
    if moov is None:
        raise NeedsDemuxer("no moov box")
    moov = _payload(file, moov)
    children = list(_children(file, moov))
    if any(child.type == "mvex" for child in children):
        raise NeedsDemuxer("the file is fragmented (mvex box)")
    if any(child.type == "cmov" for child in children):
        raise NeedsDemuxer("the index is compressed (cmov box)")
    mvhd = _read(file, _need(children, "mvhd"))
    movie = MovieHeader(header=parse_mvhd(mvhd), matrix=parse_mvhd_matrix(mvhd))
    for trak in (child for child in children if child.type == "trak"):
        track = _read_track(file, trak, movie)
        if track is not None:
            return Movie(video=track)
    return Movie(video=None)


@attrs.frozen(kw_only=True)
class MovieHeader:
    """What every track needs from ``mvhd``: the timescale of edit lists, and the movie's matrix."""

    header: Header
    matrix: Matrix


def _read_track(file: BinaryIO, trak: Span, movie: MovieHeader) -> VideoTrack | None:
    """The track in ``trak`` if it is a video track, else ``None``."""
    trak_children = list(_children(file, trak))
    mdia_children = list(_children(file, _need(trak_children, "mdia")))
    if parse_hdlr(_read(file, _need(mdia_children, "hdlr"))) != "vide":
        return None
    tkhd = _need(trak_children, "tkhd")
    mdhd = parse_mdhd(_read(file, _need(mdia_children, "mdhd")))
    minf = _need(mdia_children, "minf")
    stbl = _need(list(_children(file, minf)), "stbl")
    tables = list(_children(file, stbl))
    entry = parse_stsd(_read(file, _need(tables, "stsd"), limit=_STSD_READ))
    timing = parse_stts(_read(file, _need(tables, "stts")))
    matrix = multiply(parse_tkhd_matrix(_read(file, tkhd)), movie.matrix)
    edits = _edit_span(file, trak_children, movie.header)
    return video_track(mdhd, timing, entry, rotation(matrix), edits_s=edits)


def _edit_span(file: BinaryIO, trak_children: list[Span], movie: Header) -> Fraction | None:
    """Seconds the track's edit list presents (``edts/elst``), ``None`` without one."""
    edts = _only(trak_children, "edts")
    elst = _only(list(_children(file, edts)), "elst") if edts else None
    if elst is None:
        return None
    total = parse_elst(_read(file, elst))
    return Fraction(total, movie.timescale) if total else None


def _payload(file: BinaryIO, box: Span) -> Span:
    """The payload of a top-level box, after its 8- or 16-byte header."""
    file.seek(box.start)
    header = file.read(16)
    skip = 16 if struct.unpack(">I", header[:4])[0] == 1 else 8
    return Span(type=box.type, start=box.start + skip, end=box.end)


def _children(file: BinaryIO, parent: Span) -> Iterator[Span]:
    """The payloads of the boxes inside ``parent``'s payload, read from their headers only."""
    offset = parent.start
    for _ in range(MAX_CHILDREN):
        if parent.end - offset < 8:
            return
        file.seek(offset)
        header = file.read(16)
        size, kind, skip = parse_box_header(header, parent.end - offset)
        yield Span(type=kind, start=offset + skip, end=offset + size)
        offset += size
    raise NeedsDemuxer(f"more than {MAX_CHILDREN} boxes inside '{parent.type}'")


def _read(file: BinaryIO, box: Span, *, limit: int | None = None) -> bytes:
    """The payload of ``box`` (refused beyond :data:`MAX_BOX_READ`), or its first ``limit`` bytes."""
    if limit is None and box.size > MAX_BOX_READ:
        raise NeedsDemuxer(f"the '{box.type}' box is {box.size:,} bytes, more than this reader reads")
    wanted = box.size if limit is None else min(box.size, limit)
    file.seek(box.start)
    data = file.read(wanted)
    if len(data) < wanted:
        raise NeedsDemuxer(f"the file ends inside the '{box.type}' box")
    return data


def _only(boxes: list[Span], kind: str) -> Span | None:
    return next((box for box in boxes if box.type == kind), None)


def _need(boxes: list[Span], kind: str) -> Span:
    found = _only(boxes, kind)
    if found is None:
        raise NeedsDemuxer(f"the index has no '{kind}' box where one belongs")
    return found


# --- pure parsers: bytes in, numbers out -------------------------------------------------------


def parse_box_header(header: bytes, room: int) -> tuple[int, str, int]:
    """``(box size, type, header size)`` of the box whose header starts ``header``.

    ``room`` is how many bytes are left in the parent; a size of 0 means "to the end of the
    parent", a size of 1 means a 64-bit size follows the type. A box that claims more than
    ``room`` raises :class:`NeedsDemuxer`: FFmpeg is more forgiving of broken indexes.
    """
    if len(header) < 8:
        raise NeedsDemuxer("the index ends inside a box header")
    size, kind, skip = box_header(header, room)
    if size is None:
        raise NeedsDemuxer(f"the index ends inside the header of the '{kind}' box")
    if not skip <= size <= room:
        raise NeedsDemuxer(f"the '{kind}' box claims {size:,} bytes where {room:,} are left")
    return size, kind, skip


def parse_mvhd(payload: bytes) -> Header:
    """``mvhd``: the movie's timescale and duration (version 0: 32-bit fields, 1: 64-bit)."""
    return _parse_header(payload, "mvhd")


def parse_mdhd(payload: bytes) -> Header:
    """``mdhd``: the track's media timescale and duration, laid out like ``mvhd``'s."""
    return _parse_header(payload, "mdhd")


def _parse_header(payload: bytes, kind: str) -> Header:
    version = _version(payload, kind)
    layout, at = (">QQIQ", _FULL_BOX) if version == 1 else (">IIII", _FULL_BOX)
    _created, _modified, timescale, duration = _unpack(layout, payload, at, kind)
    if version == 0 and duration == 0xFFFFFFFF:
        duration = 0  # "unknown" in a 32-bit field
    if timescale == 0:
        raise NeedsDemuxer(f"the '{kind}' box has a timescale of 0")
    return Header(timescale=timescale, duration=duration)


def parse_elst(payload: bytes) -> int:
    """``elst``: the edit segments' durations summed, in the movie's timescale (empty edits included).

    A phone's or editor's trim without re-encoding is an edit list shorter than the media:
    FFmpeg reports the shorter of the two as the stream's duration, and so does this reader.
    """
    version = _version(payload, "elst")
    (entries,) = _unpack(">I", payload, _FULL_BOX, "elst")
    layout, width = (">Qq", 20) if version == 1 else (">Ii", 12)
    if len(payload) < _FULL_BOX + 4 + width * entries:
        raise NeedsDemuxer("the 'elst' table is longer than its box")
    start = _FULL_BOX + 4
    return sum(_unpack(layout, payload, start + width * index, "elst")[0] for index in range(entries))


def parse_hdlr(payload: bytes) -> str:
    """``hdlr``: the handler type (``vide`` for video, ``soun`` for audio)."""
    (kind,) = _unpack(">4s", payload, _FULL_BOX + 4, "hdlr")
    return bytes(kind).decode("latin-1")


def parse_mvhd_matrix(payload: bytes) -> Matrix:
    """The movie's display matrix, after rate, volume and reserved fields."""
    at = _FULL_BOX + (28 if _version(payload, "mvhd") == 1 else 16) + 4 + 2 + 10
    return _parse_matrix(payload, at, "mvhd")


def parse_tkhd_matrix(payload: bytes) -> Matrix:
    """The track's display matrix, after ids, duration, layer, group and volume."""
    at = _FULL_BOX + (32 if _version(payload, "tkhd") == 1 else 20) + 8 + 2 + 2 + 2 + 2
    return _parse_matrix(payload, at, "tkhd")


def _parse_matrix(payload: bytes, at: int, kind: str) -> Matrix:
    """Nine big-endian integers: ``a b c d x y`` in 16.16 fixed point, ``u v w`` in 2.30."""
    raw = _unpack(">9i", payload, at, kind)
    scales = (16, 16, 30, 16, 16, 30, 16, 16, 30)
    a, b, u, c, d, v, x, y, w = (value / (1 << scale) for value, scale in zip(raw, scales, strict=True))
    return (a, b, u, c, d, v, x, y, w)


def multiply(first: Matrix, second: Matrix) -> Matrix:
    """``first`` then ``second``: FFmpeg combines each track's matrix with the movie's this way."""
    rows = [first[i : i + 3] for i in (0, 3, 6)]
    columns = [second[j::3] for j in range(3)]
    a, b, u, c, d, v, x, y, w = (sum(p * q for p, q in zip(row, col, strict=True)) for row in rows for col in columns)
    return (a, b, u, c, d, v, x, y, w)


def rotation(matrix: Matrix) -> int:
    """Degrees (0, 90, 180, 270, clockwise) the matrix turns the picture, to the nearest quarter turn."""
    a, b = matrix[0], matrix[1]
    if a == 0 and b == 0:
        return 0
    return round(math.degrees(math.atan2(b, a)) / 90) % 4 * 90


def parse_stsd(payload: bytes) -> SampleEntry:
    """``stsd``: the first sample entry's fourcc as FFmpeg's codec name, and its coded size.

    The entry's size is what FFmpeg's codec context reports; the ``tkhd`` size is a presentation
    hint that editors scale. Unknown fourccs raise :class:`NeedsDemuxer`, so the codec reported
    is always FFmpeg's name.
    """
    (count,) = _unpack(">I", payload, _FULL_BOX, "stsd")
    if count == 0:
        raise NeedsDemuxer("the video track has no sample entry")
    size, fourcc_raw = _unpack(">I4s", payload, _FULL_BOX + 4, "stsd")
    fourcc = bytes(fourcc_raw).decode("latin-1")
    entry = payload[_FULL_BOX + 4 : _FULL_BOX + 4 + size]
    width, height = _unpack(">HH", entry, _ENTRY_SIZE_AT, "stsd")
    codec = _CODECS.get(fourcc) or (_mpeg4_codec(entry) if fourcc == "mp4v" else None)
    if codec is None:
        raise NeedsDemuxer(f"sample entry '{fourcc}' is not one this reader names")
    if not width or not height:
        raise NeedsDemuxer(f"sample entry '{fourcc}' has no picture size (FFmpeg reads it from the stream)")
    return SampleEntry(codec=codec, width=width, height=height)


def _mpeg4_codec(entry: bytes) -> str | None:
    """The codec an ``mp4v`` entry holds, from its ``esds`` decoder config's object type."""
    at = entry.find(b"esds", 8 + _VISUAL_ENTRY_HEADER - 4)
    if at < 0:
        return None
    pos = at + 4 + _FULL_BOX
    descriptor = _descriptor(entry, pos, 0x03)  # ES_Descriptor
    if descriptor is None:
        return None
    pos = descriptor
    flags = entry[pos + 2] if pos + 2 < len(entry) else 0
    pos += 3 + (2 if flags & 0x80 else 0)  # ES_ID, flags, optional dependsOn_ES_ID
    if flags & 0x40:
        pos += 1 + (entry[pos] if pos < len(entry) else 0)  # URL
    pos += 2 if flags & 0x20 else 0  # OCR_ES_ID
    config = _descriptor(entry, pos, 0x04)  # DecoderConfigDescriptor
    if config is None or config >= len(entry):
        return None
    return _MPEG4_OBJECT_TYPES.get(entry[config])


def _descriptor(data: bytes, pos: int, tag: int) -> int | None:
    """Where the payload of the MPEG-4 descriptor ``tag`` at ``pos`` starts (its size is 1-4 bytes of 7 bits)."""
    if pos >= len(data) or data[pos] != tag:
        return None
    pos += 1
    for _ in range(4):
        if pos >= len(data):
            return None
        pos += 1
        if not data[pos - 1] & 0x80:
            return pos
    return None


def parse_stts(payload: bytes) -> SampleTiming:
    """``stts``: the sample count and summed decode durations, as FFmpeg's ``mov_read_stts`` sums them.

    FFmpeg evens out a lone last sample whose duration is more than ten times the average (a
    muxer's placeholder) once over 100 samples; so does this.
    """
    (entries,) = _unpack(">I", payload, _FULL_BOX, "stts")
    if len(payload) < _FULL_BOX + 4 + 8 * entries:
        raise NeedsDemuxer("the 'stts' table is longer than its box")
    count = total = 0
    for index, (samples, delta) in enumerate(struct.iter_unpack(">II", payload[8 : 8 + 8 * entries])):
        if delta >= _STTS_DELTA_LIMIT:
            raise NeedsDemuxer("the 'stts' table has a negative or huge sample duration")
        if index == entries - 1 and index and samples == 1 and count > 100 and delta // 10 > total // count:
            delta = total // count
        total += samples * delta
        count += samples
    return SampleTiming(count=count, total=total)


def video_track(
    mdhd: Header, timing: SampleTiming, entry: SampleEntry, turn: int, *, edits_s: Fraction | None = None
) -> VideoTrack:
    """Combine the boxes into what FFmpeg reports: the stream duration, ``avg_frame_rate``, displayed size.

    FFmpeg takes the stream's duration from ``stts`` when it sums to more than zero (``mdhd``
    otherwise), cut to what the edit list presents (``edits_s``), and its average frame rate as
    samples per summed ``stts`` duration, edits or not. A track without samples is what a
    fragmented file's index looks like: FFmpeg reads the fragments.
    """
    if timing.count == 0:
        raise NeedsDemuxer("the video track has no samples in its index")
    duration = Fraction(timing.total or mdhd.duration, mdhd.timescale)
    if edits_s is not None:
        duration = min(duration, _to_ticks(edits_s, mdhd.timescale))
    fps = Fraction(timing.count * mdhd.timescale, timing.total) if timing.total else None
    width, height = entry.width, entry.height
    if turn % 180:
        width, height = height, width
    return VideoTrack(
        duration_s=float(duration) if duration else None,
        fps=float(fps) if fps else None,
        width=width,
        height=height,
        rotation=turn,
        codec=entry.codec,
    )


def _to_ticks(seconds: Fraction, timescale: int) -> Fraction:
    """``seconds`` rounded to the nearest tick of ``timescale``, as FFmpeg rescales edit durations."""
    return Fraction(round(seconds * timescale), timescale)


def _version(payload: bytes, kind: str) -> int:
    if not payload:
        raise NeedsDemuxer(f"the '{kind}' box is empty")
    return payload[0]


def _unpack(layout: str, payload: bytes, at: int, kind: str) -> tuple[Any, ...]:
    """``struct.unpack_from`` that names the box when its payload is too short."""
    try:
        return struct.unpack_from(layout, payload, at)
    except struct.error:
        raise NeedsDemuxer(f"the '{kind}' box is too short") from None


__all__ = [
    "MAX_BOX_READ",
    "Header",
    "Movie",
    "NeedsDemuxer",
    "SampleEntry",
    "SampleTiming",
    "StructureError",
    "VideoTrack",
    "multiply",
    "parse_box_header",
    "parse_elst",
    "parse_hdlr",
    "parse_mdhd",
    "parse_mvhd",
    "parse_mvhd_matrix",
    "parse_stsd",
    "parse_stts",
    "parse_tkhd_matrix",
    "read_movie",
    "rotation",
    "video_track",
]
