"""Turning still images into a format a platform accepts (TikTok takes JPEG and WebP, no PNG)."""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from crosspost.core.errors import CrosspostError


class MediaConversionError(CrosspostError):
    """A file could not be converted; the message names the file and the reason."""

    code = "media_conversion"


def convert_to_jpeg(
    path: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    *,
    quality: int = 90,
    fit_within: tuple[int, int] | None = None,
) -> Path:
    """Write a JPEG copy of the still image at ``path`` into ``dest_dir`` and return its path.

    The copy is named after the source (``photo.png`` gives ``photo.jpg``; ``-converted`` is added
    rather than overwrite the source itself), turned upright from its EXIF orientation, with any
    transparency flattened onto white, its colour profile kept and its other metadata (GPS
    position included) dropped. ``fit_within=(w, h)`` also shrinks it, keeping its proportions,
    to fit that box. The file appears complete or not at all. Raises
    :class:`MediaConversionError` if Pillow cannot read the source.
    """
    source, folder = Path(path), Path(dest_dir)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                icc_profile = image.info.get("icc_profile")
                picture = _flatten(ImageOps.exif_transpose(image))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaConversionError(f"cannot convert {source.name} to JPEG: {exc}") from exc
    if fit_within is not None:
        picture.thumbnail(fit_within, Image.Resampling.LANCZOS)
    folder.mkdir(parents=True, exist_ok=True)
    target = _target_path(source, folder)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.stem}.", suffix=".part", delete=False) as tmp:
        try:
            picture.save(tmp, "JPEG", quality=quality, optimize=True, icc_profile=icc_profile)
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, target)
    return target


def _flatten(image: Image.Image) -> Image.Image:
    """An RGB copy of ``image``; transparent areas become white, as a viewer would show them."""
    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _target_path(source: Path, folder: Path) -> Path:
    target = folder / f"{source.stem}.jpg"
    if target.resolve() == source.resolve():
        target = folder / f"{source.stem}-converted.jpg"
    return target
