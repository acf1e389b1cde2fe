"""Photos made to fit Bluesky's image blobs: re-encoded as JPEG under a byte budget.

Pillow is imported inside :func:`fit_jpeg` only, so importing the plugin stays cheap and the
sans-I/O modules never load it.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from crosspost.core.errors import PermanentError

QUALITIES = (90, 82, 75, 68, 60)
SHRINK = 0.8
"""Each round that no quality fits shrinks the picture to 80 % of its width and height."""


def fit_jpeg(source: Path, dest_dir: Path, max_bytes: int) -> Path:
    """A JPEG copy of the image at ``source`` of at most ``max_bytes``, written into ``dest_dir``:
    upright from its EXIF orientation, transparency flattened onto white, metadata (GPS included)
    dropped; the highest quality that fits, shrinking the picture only when none does."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(source) as opened:
            picture = ImageOps.exif_transpose(opened)
            picture.load()
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise PermanentError(f"cannot re-encode {source.name} as JPEG: {exc}", code="unreadable_image",
                             platform="bluesky") from None
    if picture.mode in ("RGBA", "LA", "P") or "transparency" in picture.info:
        rgba = picture.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        picture = flat
    else:
        picture = picture.convert("RGB")
    while True:
        for quality in QUALITIES:
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=quality, optimize=True)
            if buffer.tell() <= max_bytes:
                return _write(buffer.getvalue(), dest_dir, f"{source.stem}-bluesky.jpg")
        width, height = picture.size
        if width < 64 or height < 64:
            raise PermanentError(f"{source.name} does not fit in {max_bytes} bytes even shrunk",
                                 code="image_too_large", platform="bluesky")
        picture = picture.resize((max(1, int(width * SHRINK)), max(1, int(height * SHRINK))),
                                 Image.Resampling.LANCZOS)


def _write(data: bytes, folder: Path, name: str) -> Path:
    """Write ``data`` so the file appears complete or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{name}.", suffix=".part", delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return target
