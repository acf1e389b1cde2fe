"""What a file is, told from its first bytes and never from its name.

A ``.mp4`` that is really a Google Drive share page, or a ``.jpg`` that is really a PNG, is
common in what users hand over; every later decision (MIME type, upload path, conversion)
starts from :func:`sniff`.
"""

from __future__ import annotations

import codecs
import enum
import os
import stat

from crosspost.core.media.structure import EBML_MAGIC, ebml_doctype
from crosspost.core.models import MediaKind

SNIFF_SIZE = 4096
"""How many leading bytes :func:`sniff` looks at; pass at least this many when you have them."""


class MediaFormat(enum.StrEnum):
    """A file format recognised from magic bytes."""

    MP4 = "mp4"
    MOV = "mov"
    WEBM = "webm"
    MKV = "mkv"
    AVI = "avi"
    JPEG = "jpeg"
    WEBP = "webp"
    PNG = "png"
    GIF = "gif"
    HEIC = "heic"
    AVIF = "avif"
    HTML = "html"
    """An HTML or XML page: typically a share page saved instead of the media it links to."""
    UNKNOWN = "unknown"

    @property
    def mime(self) -> str:
        """The MIME type to send with these bytes (``application/octet-stream`` when unknown)."""
        return _MIME[self]

    @property
    def kind(self) -> MediaKind | None:
        """Whether the format holds a video or a still image; ``None`` for HTML and unknown bytes."""
        return _KIND.get(self)

    @property
    def label(self) -> str:
        """The name people know the format by, for messages (``MP4``, ``WebM``)."""
        return _LABEL.get(self, self.value.upper())


_MIME = {
    MediaFormat.MP4: "video/mp4",
    MediaFormat.MOV: "video/quicktime",
    MediaFormat.WEBM: "video/webm",
    MediaFormat.MKV: "video/x-matroska",
    MediaFormat.AVI: "video/x-msvideo",
    MediaFormat.JPEG: "image/jpeg",
    MediaFormat.WEBP: "image/webp",
    MediaFormat.PNG: "image/png",
    MediaFormat.GIF: "image/gif",
    MediaFormat.HEIC: "image/heic",
    MediaFormat.AVIF: "image/avif",
    MediaFormat.HTML: "text/html",
    MediaFormat.UNKNOWN: "application/octet-stream",
}
_VIDEOS = (MediaFormat.MP4, MediaFormat.MOV, MediaFormat.WEBM, MediaFormat.MKV, MediaFormat.AVI)
_IMAGES = (MediaFormat.JPEG, MediaFormat.WEBP, MediaFormat.PNG, MediaFormat.GIF, MediaFormat.HEIC, MediaFormat.AVIF)
_KIND = {fmt: MediaKind.VIDEO for fmt in _VIDEOS} | {fmt: MediaKind.IMAGE for fmt in _IMAGES}
_LABEL = {MediaFormat.WEBM: "WebM", MediaFormat.MKV: "Matroska", MediaFormat.WEBP: "WebP"}

_SIGNATURES = (
    (b"\xff\xd8\xff", MediaFormat.JPEG),
    (b"\x89PNG\r\n\x1a\n", MediaFormat.PNG),
    (b"GIF87a", MediaFormat.GIF),
    (b"GIF89a", MediaFormat.GIF),
)
# Old QuickTime files may start with one of these boxes instead of 'ftyp'.
_QUICKTIME_FIRST_BOXES = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
_MARKUP_STARTS = ("<!doctype html", "<html", "<head", "<body", "<?xml", "<!--", "<script", "<meta", "<title")


def sniff(head: bytes) -> MediaFormat:
    """The format of a file whose first bytes are ``head`` (give :data:`SNIFF_SIZE` bytes if you can).

    Pure and total: any bytes, including none, give a :class:`MediaFormat`.
    """
    if head[4:8] == b"ftyp":
        return _iso_bmff_format(head)
    if head[4:8] in _QUICKTIME_FIRST_BOXES and int.from_bytes(head[:4], "big") >= 8:
        return MediaFormat.MOV
    if head.startswith(EBML_MAGIC):
        return MediaFormat.WEBM if ebml_doctype(head) == b"webm" else MediaFormat.MKV
    if head.startswith(b"RIFF"):
        return {b"WEBP": MediaFormat.WEBP, b"AVI ": MediaFormat.AVI}.get(head[8:12], MediaFormat.UNKNOWN)
    for signature, fmt in _SIGNATURES:
        if head.startswith(signature):
            return fmt
    return MediaFormat.HTML if _looks_like_markup(head) else MediaFormat.UNKNOWN


def _iso_bmff_format(head: bytes) -> MediaFormat:
    """Tell MP4, MOV, HEIC and AVIF apart by the ``ftyp`` box's major and compatible brands."""
    major = head[8:12]
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {major} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if major == b"qt  ":
        return MediaFormat.MOV
    if major in _AVIF_BRANDS or (major in _HEIF_GENERIC_BRANDS and brands & _AVIF_BRANDS):
        return MediaFormat.AVIF
    if major in _HEIC_BRANDS or major in _HEIF_GENERIC_BRANDS:
        return MediaFormat.HEIC
    return MediaFormat.MP4


def _looks_like_markup(head: bytes) -> bool:
    """True for text starting with an HTML/XML tag, after any byte-order mark and whitespace."""
    sample = head[:1024]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = sample.decode("utf-16", errors="ignore")
    else:
        text = sample.decode("utf-8-sig", errors="ignore")
    return text.lstrip().lower().startswith(_MARKUP_STARTS)


class NotARegularFile(OSError):
    """A media path that names a FIFO, socket, device or anything but a regular file.

    Reading a FIFO waits for a writer forever (``crosspost post`` hung on one, issue 19), and a
    device can be endless: media must be regular files.
    """

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.kind = kind
        """What the path is instead (``a named pipe (FIFO)``, ``a folder``...)."""


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))


def kind_of(mode: int) -> str:
    """What a non-regular file is, for messages."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_head(path: str | os.PathLike[str], limit: int = SNIFF_SIZE) -> tuple[int, bytes]:
    """The size of the regular file at ``path`` and its first ``limit`` bytes (at most).

    Opened with ``O_NONBLOCK``, so opening a FIFO returns at once instead of waiting for a
    writer; anything but a regular file raises :class:`NotARegularFile` before a byte is read.
    The read is bounded by ``limit`` whatever the file claims to hold.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(os.fspath(path), kind_of(info.st_mode))
        chunks: list[bytes] = []
        remaining = limit
        while remaining > 0:
            block = os.read(fd, remaining)
            if not block:
                break
            chunks.append(block)
            remaining -= len(block)
        return info.st_size, b"".join(chunks)
    finally:
        os.close(fd)
