"""convert_to_jpeg(): TikTok takes no PNG photos, so stills are turned into JPEGs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from crosspost.core.media import MediaConversionError, MediaFormat, convert_to_jpeg, probe
from crosspost.testing.media import make_html_page, make_image
from tests.core import real_images


def test_png_becomes_a_jpeg_of_the_same_size(tmp_path: Path) -> None:
    png = make_image(tmp_path / "photo.png", fmt="png", width=320, height=480)

    jpeg = convert_to_jpeg(png, tmp_path / "out")

    assert jpeg == tmp_path / "out" / "photo.jpg"
    info = probe(jpeg)
    assert (info.format, info.width, info.height, info.problem) == (MediaFormat.JPEG, 320, 480, None)


def test_transparent_areas_become_white(tmp_path: Path) -> None:
    png = make_image(tmp_path / "logo.png", fmt="png", width=200, height=100, transparent=True)

    jpeg = convert_to_jpeg(png, tmp_path)

    with Image.open(jpeg) as image:
        assert image.mode == "RGB"
        left_edge = image.getpixel((0, 50))
        assert isinstance(left_edge, tuple)
        assert min(left_edge) >= 245  # fully transparent there: white shows through


def test_exif_rotation_is_applied_before_conversion(tmp_path: Path) -> None:
    sideways = make_image(tmp_path / "sideways.webp", fmt="webp", width=400, height=300, orientation=6)

    jpeg = convert_to_jpeg(sideways, tmp_path / "out")

    with Image.open(jpeg) as image:
        assert image.size == (300, 400)
        assert 0x0112 not in image.getexif()


def test_fit_within_shrinks_and_keeps_proportions(tmp_path: Path) -> None:
    png = make_image(tmp_path / "big.png", fmt="png", width=2160, height=3840)

    jpeg = convert_to_jpeg(png, tmp_path, fit_within=(1080, 1920))

    assert (probe(jpeg).width, probe(jpeg).height) == (1080, 1920)


def test_a_jpeg_converted_into_its_own_folder_keeps_the_original(tmp_path: Path) -> None:
    original = make_image(tmp_path / "photo.jpg", width=64, height=64)
    before = original.read_bytes()

    copy = convert_to_jpeg(original, tmp_path)

    assert copy == tmp_path / "photo-converted.jpg"
    assert original.read_bytes() == before


def test_an_unreadable_file_raises_a_conversion_error_and_leaves_nothing(tmp_path: Path) -> None:
    page = make_html_page(tmp_path / "photo.png")
    out = tmp_path / "out"

    with pytest.raises(MediaConversionError, match=r"cannot convert photo\.png to JPEG"):
        convert_to_jpeg(page, out)

    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "I;16"])
def test_a_png_without_metadata_converts_and_probes_clean(tmp_path: Path, mode: str) -> None:
    png = real_images.screenshot_png(tmp_path / "screenshot.png", mode=mode, size=(64, 40))

    jpeg = convert_to_jpeg(png, tmp_path / "out")

    info = probe(jpeg)
    assert (info.format, info.width, info.height, info.problem) == (MediaFormat.JPEG, 64, 40, None)


def test_a_camera_jpeg_is_turned_upright_and_probes_the_same_size(tmp_path: Path) -> None:
    original = real_images.camera_jpeg(tmp_path / "IMG_0001.JPG", orientation=6, size=(80, 60))

    upright = convert_to_jpeg(original, tmp_path / "out")

    assert (probe(original).width, probe(original).height) == (60, 80)
    assert (probe(upright).width, probe(upright).height) == (60, 80)
