"""Local media described by what the bytes are: sniffing, probing and conversion.

``sniff`` tells the format from magic bytes, ``probe`` reads duration, frame rate and picture
size from the container (never raising: problems come back as text), and ``convert_to_jpeg``
makes a JPEG of a still a platform would refuse (TikTok takes no PNG).
"""

from crosspost.core.media.convert import MediaConversionError, convert_to_jpeg
from crosspost.core.media.probe import MediaInfo, probe, probe_async
from crosspost.core.media.sniff import SNIFF_SIZE, MediaFormat, sniff

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
