"""What a probe found in one media file (no PyAV, no Pillow: sans-I/O code can name it)."""

from __future__ import annotations

import attrs

from crosspost.core.media.sniff import MediaFormat
from crosspost.core.models import MediaKind


@attrs.frozen(kw_only=True)
class MediaInfo:
    """What :func:`probe` found in one file.

    Measurements are ``None`` when the format has none (an image has no duration) or the file
    could not be read; then ``problem`` says why. Width and height are as displayed, i.e. after
    the rotation a phone records in the container or in EXIF.
    """

    format: MediaFormat
    """What the bytes are, whatever the file is called."""
    mime: str
    kind: MediaKind | None
    size: int
    """File size in bytes (0 when the file is missing)."""
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    """FFmpeg's name for the video codec (``h264``, ``hevc``, ``vp9``); ``None`` for images."""
    problem: str | None = None
    """Why the file cannot be used as it is; ``None`` when it read cleanly."""

    @property
    def ok(self) -> bool:
        return self.problem is None

    @classmethod
    def of(cls, fmt: MediaFormat, size: int, problem: str | None = None) -> MediaInfo:
        return cls(format=fmt, mime=fmt.mime, kind=fmt.kind, size=size, problem=problem)
