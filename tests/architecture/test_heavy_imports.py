"""Heavy libraries load only where used: PyAV and Pillow when media is probed or converted,
aiohttp only at the I/O edge. Each check runs in a fresh interpreter and reads ``sys.modules``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crosspost.testing.media import make_image, make_video

MEDIA_LIBRARIES = ("av", "PIL")
SANS_IO_TIKTOK = ("options", "validate", "requests", "chunks", "errors", "status", "importers", "text",
                  "creator", "config")
"""TikTok's pure modules: request building, response parsing, validation, settings."""


def loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` are in ``sys.modules`` after running ``code`` in a new interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {list(watched)!r} if m in sys.modules]))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_crosspost_help_loads_neither_pyav_nor_pillow() -> None:
    code = ("import sys\nsys.argv = ['crosspost', '--help']\nfrom crosspost.core.cli import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code")
    assert loaded_after(code, MEDIA_LIBRARIES) == []


def test_crosspost_help_loads_no_event_loop_http_or_media_host_library() -> None:
    """Every plugin's command module is imported for ``--help``: asyncio (~15 ms), aiohttp and
    the media hosts' clients belong inside the commands and hooks that use them."""
    code = ("import sys\nsys.argv = ['crosspost', '--help']\nfrom crosspost.core.cli import main\n"
            "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code")
    watched = ("asyncio", "aiohttp", "aiobotocore", "crosspost.plugins.s3host.host", "crosspost.plugins.puthost.host")
    assert loaded_after(code, watched) == []


def test_importing_the_hub_loads_neither_pyav_nor_pillow() -> None:
    assert loaded_after("import crosspost.core.hub", MEDIA_LIBRARIES) == []


def test_naming_media_types_loads_neither_pyav_nor_pillow() -> None:
    assert loaded_after("from crosspost.core.media import MediaFormat, MediaInfo, sniff", MEDIA_LIBRARIES) == []


def test_naming_probe_loads_neither_pyav_nor_pillow() -> None:
    assert loaded_after("from crosspost.core.media import probe", MEDIA_LIBRARIES) == []


def test_probing_an_mp4_loads_neither_pyav_nor_pillow(tmp_path: Path) -> None:
    """MP4/MOV are read from their ``moov`` index in pure Python (crosspost.core.media.isobmff)."""
    video = make_video(tmp_path / "clip.mp4", seconds=1.0)
    code = f"from crosspost.core.media import probe\nassert probe({str(video)!r}).ok"
    assert loaded_after(code, MEDIA_LIBRARIES) == []


def test_probing_a_webm_loads_pyav_and_a_photo_loads_pillow(tmp_path: Path) -> None:
    video = make_video(tmp_path / "clip.webm", container="webm", seconds=1.0)
    photo = make_image(tmp_path / "photo.jpg", width=64, height=64)
    webm = f"from crosspost.core.media import probe\nassert probe({str(video)!r}).ok"
    jpeg = f"from crosspost.core.media import probe\nassert probe({str(photo)!r}).ok"
    assert loaded_after(webm, MEDIA_LIBRARIES) == ["av"]
    assert loaded_after(jpeg, MEDIA_LIBRARIES) == ["PIL"]


def test_the_tiktok_platform_loads_media_libraries_only_when_it_probes() -> None:
    assert loaded_after("import crosspost.plugins.tiktok.platform", MEDIA_LIBRARIES) == []


@pytest.mark.parametrize("module", ["crosspost.core.hub", "crosspost.plugins.tiktok.platform"])
def test_the_post_path_loads_no_web_server(module: str) -> None:
    """aiohttp's server side (~15 ms) belongs to the commands that serve (the OAuth callback of
    ``accounts add``, webhooks, the dashboard), not to every post."""
    assert loaded_after(f"import {module}", ("aiohttp.web", "aiohttp.web_app")) == []


@pytest.mark.parametrize("module", SANS_IO_TIKTOK)
def test_tiktok_sans_io_modules_import_no_io_or_media_library(module: str) -> None:
    assert loaded_after(f"import crosspost.plugins.tiktok.{module}", (*MEDIA_LIBRARIES, "aiohttp")) == []



def test_importing_storage_loads_no_hooks() -> None:
    code = "import crosspost.storage, crosspost.storage.sqlite, crosspost.storage.transfer"
    assert loaded_after(code, ("pluggy", "crosspost.core.hookspecs", "crosspost.core.plugins")) == []
