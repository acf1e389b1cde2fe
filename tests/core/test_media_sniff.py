"""sniff(): the format comes from the bytes, never from the file name."""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosspost.core.media import SNIFF_SIZE, MediaFormat, sniff
from crosspost.core.models import MediaKind
from crosspost.testing.media import ImageFormat, VideoContainer, make_html_page, make_image, make_video


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    payload = major + b"\0\0\0\0" + b"".join(compatible)
    return struct.pack(">I4s", 8 + len(payload), b"ftyp") + payload + b"\0\0\0\x08free"


def ebml(doctype: bytes) -> bytes:
    doctype_element = b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    header = b"\x42\x86\x81\x01" + doctype_element + b"\x42\x87\x81\x02"
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(header)]) + header + b"\x18\x53\x80\x67\x01" + b"\0" * 7


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), MediaFormat.MP4, id="mp4-isom"),
        pytest.param(ftyp(b"mp42", b"mp42", b"isom"), MediaFormat.MP4, id="mp4-mp42"),
        pytest.param(ftyp(b"qt  ", b"qt  "), MediaFormat.MOV, id="mov-qt-brand"),
        pytest.param(b"\0\0\0\x10moov" + b"\0" * 8, MediaFormat.MOV, id="old-quicktime-moov-first"),
        pytest.param(b"\0\0\0\x08wide\0\0\x10\0mdat", MediaFormat.MOV, id="old-quicktime-wide-first"),
        pytest.param(ftyp(b"heic", b"mif1", b"heic"), MediaFormat.HEIC, id="heic"),
        pytest.param(ftyp(b"mif1", b"mif1", b"heic"), MediaFormat.HEIC, id="heif-mif1"),
        pytest.param(ftyp(b"avif", b"mif1", b"avif"), MediaFormat.AVIF, id="avif"),
        pytest.param(ftyp(b"mif1", b"mif1", b"avif"), MediaFormat.AVIF, id="avif-mif1-major"),
        pytest.param(ebml(b"webm"), MediaFormat.WEBM, id="webm"),
        pytest.param(ebml(b"matroska"), MediaFormat.MKV, id="mkv"),
        pytest.param(b"RIFF\x24\0\0\0WEBPVP8 ", MediaFormat.WEBP, id="webp"),
        pytest.param(b"RIFF\x24\0\0\0AVI LIST", MediaFormat.AVI, id="avi"),
        pytest.param(b"RIFF\x24\0\0\0WAVEfmt ", MediaFormat.UNKNOWN, id="wav-is-not-media-we-take"),
        pytest.param(b"\xff\xd8\xff\xe0\0\x10JFIF\0", MediaFormat.JPEG, id="jpeg-jfif"),
        pytest.param(b"\xff\xd8\xff\xe1\0\x10Exif\0", MediaFormat.JPEG, id="jpeg-exif"),
        pytest.param(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", MediaFormat.PNG, id="png"),
        pytest.param(b"GIF89a\x01\0\x01\0", MediaFormat.GIF, id="gif89a"),
        pytest.param(b"GIF87a\x01\0\x01\0", MediaFormat.GIF, id="gif87a"),
        pytest.param(b"", MediaFormat.UNKNOWN, id="empty"),
        pytest.param(b"PK\x03\x04 a zip file", MediaFormat.UNKNOWN, id="zip"),
        pytest.param(b"just some text, no markup", MediaFormat.UNKNOWN, id="plain-text"),
    ],
)
def test_sniff_tells_the_format_from_magic_bytes(head: bytes, expected: MediaFormat) -> None:
    assert sniff(head) is expected


@pytest.mark.parametrize(
    "text",
    [
        "<!DOCTYPE html><html><head><title>clip.mp4 - Google Drive</title>",
        "<!doctype html>\n<html lang=en>",
        "<html><body>Sign in</body></html>",
        "\n\n   \t<!DOCTYPE html>",
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code></Error>',
        "<!-- saved from url=(0014)about:internet -->\n<html>",
        "<HEAD><META http-equiv=refresh>",
    ],
)
def test_sniff_recognises_html_and_xml_pages(text: str) -> None:
    assert sniff(text.encode()) is MediaFormat.HTML


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + b"<!DOCTYPE html><html>",
        codecs.BOM_UTF8 + b"\r\n  <html>",
        codecs.BOM_UTF16_LE + "  <!DOCTYPE html>".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "<html>".encode("utf-16-be"),
    ],
    ids=["utf8-bom", "utf8-bom-whitespace", "utf16le-bom", "utf16be-bom"],
)
def test_sniff_sees_html_behind_a_byte_order_mark(encoded: bytes) -> None:
    assert sniff(encoded) is MediaFormat.HTML


def test_sniff_ignores_the_file_name_of_a_share_page_saved_as_mp4(tmp_path: Path) -> None:
    page = make_html_page(tmp_path / "holiday.mp4")

    assert sniff(page.read_bytes()[:SNIFF_SIZE]) is MediaFormat.HTML


@pytest.mark.parametrize(
    ("container", "expected"),
    [("mp4", MediaFormat.MP4), ("mov", MediaFormat.MOV), ("webm", MediaFormat.WEBM)],
)
def test_sniff_recognises_videos_pyav_writes(tmp_path: Path, container: VideoContainer, expected: MediaFormat) -> None:
    video = make_video(tmp_path / "clip.bin", container=container)

    assert sniff(video.read_bytes()[:SNIFF_SIZE]) is expected


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("jpeg", MediaFormat.JPEG), ("webp", MediaFormat.WEBP), ("png", MediaFormat.PNG)],
)
def test_sniff_recognises_images_pillow_writes(tmp_path: Path, fmt: ImageFormat, expected: MediaFormat) -> None:
    image = make_image(tmp_path / "photo.jpg", fmt=fmt, width=64, height=64)

    assert sniff(image.read_bytes()[:SNIFF_SIZE]) is expected


@pytest.mark.parametrize(
    ("fmt", "mime", "kind"),
    [
        (MediaFormat.MP4, "video/mp4", MediaKind.VIDEO),
        (MediaFormat.MOV, "video/quicktime", MediaKind.VIDEO),
        (MediaFormat.WEBM, "video/webm", MediaKind.VIDEO),
        (MediaFormat.JPEG, "image/jpeg", MediaKind.IMAGE),
        (MediaFormat.WEBP, "image/webp", MediaKind.IMAGE),
        (MediaFormat.PNG, "image/png", MediaKind.IMAGE),
        (MediaFormat.HTML, "text/html", None),
        (MediaFormat.UNKNOWN, "application/octet-stream", None),
    ],
)
def test_media_format_exposes_mime_and_kind(fmt: MediaFormat, mime: str, kind: MediaKind | None) -> None:
    assert (fmt.mime, fmt.kind) == (mime, kind)


def test_every_media_format_has_a_mime_type_and_a_label() -> None:
    for fmt in MediaFormat:
        assert "/" in fmt.mime
        assert fmt.label


def test_media_kind_compares_equal_to_its_plain_string() -> None:
    assert MediaFormat.MP4.kind == "video"
    assert MediaFormat.JPEG.kind == "image"


@given(st.binary(max_size=256))
def test_sniff_never_raises_on_arbitrary_bytes(head: bytes) -> None:
    assert isinstance(sniff(head), MediaFormat)


@given(st.binary(max_size=64))
def test_sniff_never_raises_on_broken_container_headers(tail: bytes) -> None:
    for prefix in (b"\x1a\x45\xdf\xa3", b"\0\0\0\x20ftyp", b"\xff\xff\xff\xffftyp"):
        assert isinstance(sniff(prefix + tail), MediaFormat)
