"""Still images as cameras, phones and screenshot tools write them, made at test time.

The generic ``make_image`` factory always wrote an EXIF block, so every PNG it made carried an
``eXIf`` chunk: a shape real PNGs (screenshots, exports) rarely have, and the one shape in which
the probe's old ``getexif()``-before-``verify()`` order happened to work. These builders write
each format the way the tools users have do: no metadata unless the tool adds it.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import Image

ORIENTATION = 0x0112
MAKE, MODEL = 0x010F, 0x0110


def screenshot_png(path: Path, *, mode: str = "RGB", size: tuple[int, int] = (64, 40)) -> Path:
    """A PNG with no metadata at all, as screenshot tools and image editors export it."""
    if mode == "P":
        image = Image.new("RGB", size, "#3a6ea5").convert("P", palette=Image.Palette.ADAPTIVE)
    else:
        image = Image.new(mode, size, {"RGBA": (200, 40, 40, 128), "L": 90, "I;16": 3000}.get(mode, "#3a6ea5"))
    image.save(path, "PNG")
    return path


def png_with_trailing_exif(path: Path, *, orientation: int, size: tuple[int, int] = (64, 40)) -> Path:
    """A PNG whose ``eXIf`` chunk sits after the image data (allowed by the PNG spec: some tools
    append metadata), so a reader only sees the orientation after walking every chunk."""
    screenshot_png(path, size=size)
    data = path.read_bytes()
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    payload = exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif\x00\x00") else exif.tobytes()
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])
    return path


def camera_jpeg(path: Path, *, orientation: int, size: tuple[int, int] = (80, 60)) -> Path:
    """A JPEG as a phone camera writes it: stored sideways with an EXIF orientation, make and model."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[ORIENTATION] = "Phone", "Camera 12", orientation
    Image.new("RGB", size, "#d08c3a").save(path, "JPEG", quality=80, exif=exif.tobytes())
    return path


def plain_webp(path: Path, *, lossless: bool = False, size: tuple[int, int] = (64, 40)) -> Path:
    """A WebP with no metadata, as browsers and converters save it."""
    Image.new("RGB", size, "#4a9a5a").save(path, "WEBP", lossless=lossless, quality=80)
    return path


def webp_with_exif(path: Path, *, orientation: int, size: tuple[int, int] = (64, 40)) -> Path:
    """A WebP carrying an EXIF orientation (an extended-format WebP with an EXIF chunk)."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    Image.new("RGB", size, "#4a9a5a").save(path, "WEBP", quality=80, exif=exif.tobytes())
    return path
