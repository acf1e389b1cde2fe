"""Local media described by what the bytes are: sniffing, probing and conversion.

``sniff`` tells the format from magic bytes, ``probe`` reads duration, frame rate and picture
size from the container (never raising: problems come back as text), and ``convert_to_jpeg``
makes a JPEG of a still a platform would refuse (TikTok takes no PNG).

What loads what: ``probe``, ``probe_async``, ``convert_to_jpeg`` and ``MediaConversionError``
are resolved on first access (PEP 562), so naming ``MediaInfo`` or ``MediaFormat`` (pure request
builders and validators do) costs nothing. Probing an MP4 or MOV is pure Python (the ``moov``
index, read by ``isobmff``) and loads neither PyAV nor Pillow (~33 MiB of memory, tens of
milliseconds together); PyAV loads on the first probe of a WebM, Matroska or AVI file (or of an
MP4/MOV the pure reader hands over, such as a fragmented one), and Pillow on the first still
probed or on first access of ``convert_to_jpeg`` (whose module imports it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crosspost.core.media.info import MediaInfo
from crosspost.core.media.sniff import SNIFF_SIZE, MediaFormat, sniff

if TYPE_CHECKING:
    from crosspost.core.media.convert import MediaConversionError, convert_to_jpeg
    from crosspost.core.media.probing import probe, probe_async

_HEAVY = {
    "probe": "crosspost.core.media.probing",
    "probe_async": "crosspost.core.media.probing",
    "convert_to_jpeg": "crosspost.core.media.convert",
    "MediaConversionError": "crosspost.core.media.convert",
}
"""Names resolved on first access, by the module that defines them (``convert`` imports Pillow)."""


def __getattr__(name: str) -> Any:
    module = _HEAVY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "SNIFF_SIZE",
    "MediaConversionError",
    "MediaFormat",
    "MediaInfo",
    "convert_to_jpeg",
    "probe",
    "probe_async",
    "sniff",
]
