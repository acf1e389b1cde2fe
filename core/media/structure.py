"""The outer structure of the two container families crosspost handles: ISO BMFF and EBML.

ISO BMFF (MP4, MOV, HEIC) is a sequence of top-level *boxes* (``size``, ``type``, payload);
EBML (WebM, Matroska) is a header element followed by one ``Segment`` element. Reading only
those headers is enough to tell a file that was cut off from a whole one, without decoding a
byte of media and without reading more than a few bytes per box, so it stays fast for files
of many gigabytes.
"""

from __future__ import annotations

import string
import struct
from collections.abc import Iterator
from typing import BinaryIO

import attrs

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
"""ID of the EBML header element that starts every WebM/Matroska file."""
EBML_DOCTYPE_ID = b"\x42\x82"
EBML_SEGMENT_ID = b"\x18\x53\x80\x67"
EBML_VOID_ID = b"\xec"

_MAX_TOP_LEVEL_BOXES = 100_000
_BOX_TYPE_CHARS = frozenset((string.ascii_letters + string.digits + " _-©").encode("latin-1"))


class StructureError(ValueError):
    """The container's own size fields contradict the file: it is truncated or corrupt."""


@attrs.frozen(kw_only=True)
class Box:
    """One top-level ISO BMFF box."""

    type: str
    offset: int
    """Byte offset of the box header in the file."""
    size: int
    """Total size of the box, header included."""


def box_header(header: bytes, room: int) -> tuple[int | None, str, int]:
    """``(declared size, type, header size)`` of the ISO BMFF box whose header starts ``header``
    (at least 8 bytes). Size 0 means "to the end" and comes back as ``room``; size 1 means a
    64-bit size follows the type, and the size is ``None`` when ``header`` ends before it.
    Callers judge the size against what they hold, each in its own words."""
    declared, raw_type = struct.unpack(">I4s", header[:8])
    box_type = raw_type.decode("latin-1")
    if declared == 1:
        if len(header) < 16:
            return None, box_type, 16
        (declared,) = struct.unpack(">Q", header[8:16])
        return declared, box_type, 16
    return (room if declared == 0 else declared), box_type, 8


def iso_boxes(file: BinaryIO, file_size: int) -> Iterator[Box]:
    """Yield the top-level boxes of an ISO BMFF file, reading only their headers.

    Raises :class:`StructureError` when a box claims more bytes than the file has. Stops quietly
    at trailing bytes that do not look like a box header (some tools append a few bytes), and
    after 100,000 boxes.
    """
    offset = 0
    for _ in range(_MAX_TOP_LEVEL_BOXES):
        if file_size - offset < 8:
            return
        file.seek(offset)
        header = file.read(16)
        if not set(header[4:8]) <= _BOX_TYPE_CHARS:
            return
        declared, box_type, header_size = box_header(header, file_size - offset)
        if declared is None:
            raise StructureError(f"the file ends inside the header of the '{box_type}' box")
        if declared < header_size:
            raise StructureError(f"the '{box_type}' box at byte {offset} has an impossible size ({declared})")
        if offset + declared > file_size:
            raise StructureError(
                f"the '{box_type}' box at byte {offset} needs {declared:,} bytes "
                f"but the file ends {file_size - offset:,} bytes after its start"
            )
        yield Box(type=box_type, offset=offset, size=declared)
        offset += declared


def read_vint(data: bytes, pos: int) -> tuple[int, int] | None:
    """Read an EBML variable-size integer at ``pos``: ``(value, length)``, marker bit removed.

    An all-ones value ("unknown size") is returned as ``-1``. ``None`` when the bytes are not a
    valid vint or run past the end of ``data``.
    """
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 9 - data[pos].bit_length()
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (7 * length)) - 1)
    return (-1 if value == (1 << (7 * length)) - 1 else value), length


@attrs.frozen(kw_only=True)
class Element:
    """One EBML element: its ID bytes and where its header and payload are."""

    id: bytes
    offset: int
    """Byte offset of the element's ID."""
    size_offset: int
    """Byte offset of the element's size field."""
    size_length: int
    data_offset: int
    size: int
    """Payload size in bytes; ``-1`` when the element says its size is unknown."""


def read_element(data: bytes, pos: int) -> Element | None:
    """Read the header of the EBML element at ``pos``; ``None`` if ``data`` ends too soon."""
    if pos >= len(data) or data[pos] == 0:
        return None
    id_length = 9 - data[pos].bit_length()
    if id_length > 4:
        return None
    size = read_vint(data, pos + id_length)
    if size is None:
        return None
    value, size_length = size
    return Element(
        id=data[pos : pos + id_length],
        offset=pos,
        size_offset=pos + id_length,
        size_length=size_length,
        data_offset=pos + id_length + size_length,
        size=value,
    )


def ebml_doctype(head: bytes) -> bytes | None:
    """The DocType (``b"webm"``, ``b"matroska"``) from the EBML header at the start of ``head``."""
    header = read_element(head, 0)
    if header is None or header.id != EBML_MAGIC or header.size < 0:
        return None
    pos, end = header.data_offset, min(header.data_offset + header.size, len(head))
    while pos < end:
        child = read_element(head, pos)
        if child is None or child.size < 0:
            return None
        if child.id == EBML_DOCTYPE_ID:
            return head[child.data_offset : child.data_offset + child.size].rstrip(b"\0")
        pos = child.data_offset + child.size
    return None


def ebml_segment(head: bytes) -> Element | None:
    """The ``Segment`` element that follows the EBML header, if ``head`` reaches its header."""
    header = read_element(head, 0)
    if header is None or header.id != EBML_MAGIC or header.size < 0:
        return None
    segment = read_element(head, header.data_offset + header.size)
    return segment if segment is not None and segment.id == EBML_SEGMENT_ID else None


def check_ebml(head: bytes, file_size: int) -> None:
    """Raise :class:`StructureError` if the file is shorter than its ``Segment`` says it is."""
    segment = ebml_segment(head)
    if segment is None:
        raise StructureError("no Segment element follows the EBML header")
    if segment.size >= 0 and segment.data_offset + segment.size > file_size:
        raise StructureError(
            f"the Segment needs {segment.data_offset + segment.size:,} bytes but the file has {file_size:,}"
        )


def check_iso_bmff(file: BinaryIO, file_size: int) -> None:
    """Raise :class:`StructureError` if a box overruns the file, or the index or media box is missing."""
    types = {box.type for box in iso_boxes(file, file_size)}
    if "moov" not in types:
        raise StructureError("it has no 'moov' index box (the file was cut off before its end?)")
    if "mdat" not in types:
        raise StructureError("it has no 'mdat' media box (the file was cut off after its index?)")
