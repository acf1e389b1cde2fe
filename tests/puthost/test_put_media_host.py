"""The HTTP PUT media host: local photos PUT to the emulator's media host (CROSSPOST_MEDIA_PUT_URL)."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest

from crosspost.core.errors import ConfigError, PermanentError, TransientError
from crosspost.core.models import Target
from crosspost.core.settings import Settings
from crosspost.plugins.puthost import plugin
from crosspost.plugins.puthost.host import PutHostConfig, hosted_name, upload
from crosspost.plugins.tiktok.emulator import EmulatorServer
from tests.core import real_images

TARGET = Target(platform="tiktok", account="main")


def settings(**env: str) -> Settings:
    return Settings.from_env({"CROSSPOST_DATA_DIR": "/nonexistent", **env})


async def test_a_local_photo_is_put_on_the_emulator_and_served_from_its_verified_prefix(tmp_path: Path) -> None:
    photo = real_images.camera_jpeg(tmp_path / "IMG_0001.JPG", orientation=1)
    async with EmulatorServer() as emu:
        url = await plugin.host_media(str(photo), TARGET, settings(CROSSPOST_MEDIA_PUT_URL=emu.media_url))

        assert url == emu.media_url + hosted_name(photo)
        assert url.endswith(".jpg")
        assert any(url.startswith(prefix) for prefix in emu.state.verified_url_prefixes)
        async with aiohttp.ClientSession() as http, http.get(url) as served:
            assert await served.read() == photo.read_bytes()


async def test_the_host_declines_when_not_configured(tmp_path: Path) -> None:
    assert not plugin.media_host_ready(settings())
    assert await plugin.host_media(str(tmp_path / "x.jpg"), TARGET, settings()) is None


def test_a_put_url_that_is_no_http_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CROSSPOST_MEDIA_PUT_URL must be an http"):
        PutHostConfig.from_settings({"put_url": "/tmp/media"})


async def test_a_host_that_is_not_running_is_a_transient_error_that_says_so(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    photo = real_images.plain_webp(tmp_path / "p.webp")
    config = PutHostConfig.from_settings({"put_url": f"http://127.0.0.1:{port}/_emulator/media/"})
    assert config is not None

    with pytest.raises(TransientError, match="is `crosspost emulator`"):
        await upload(photo, config)


async def test_a_host_that_refuses_the_file_is_a_permanent_error(tmp_path: Path) -> None:
    photo = real_images.plain_webp(tmp_path / "p.webp")
    async with EmulatorServer() as emu:
        config = PutHostConfig.from_settings({"put_url": emu.base_url + "/not-a-media-route/"})
        assert config is not None

        with pytest.raises(PermanentError, match=r"refused p\.webp: HTTP 404"):
            await upload(photo, config)
